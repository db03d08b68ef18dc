// `sinkstream ppl`: streaming perplexity of a model on a text under cache
// policies (sinks, window, dense, recompute), as a table, CSV, JSON and chart.
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "files.hpp"
#include "interrupt.hpp"
#include "json.hpp"
#include "model_args.hpp"
#include "progress.hpp"
#include "sinkstream/error.hpp"
#include "sinkstream/eval.hpp"
#include "sinkstream/model.hpp"
#include "svg_plot.hpp"
#include "warnings.hpp"

namespace sinkstream::app {
namespace {

constexpr const char* kHelp =
    "usage: sinkstream ppl --model PATH (--text FILE | --token-ids FILE) [options]\n"
    "Streaming perplexity: each token is predicted from exactly what the policy keeps\n"
    "of the tokens before it, with equal cache budgets (sinks + window slots):\n"
    "  sinks      the first S tokens pinned + the W most recent (positions within the cache)\n"
    "  window     the S + W most recent tokens, nothing pinned\n"
    "  dense      everything, absolute positions (memory grows with the text)\n"
    "  recompute  the last S + W tokens re-encoded from scratch for every token (slow);\n"
    "             with --text each re-encoding starts with BOS, as the model was trained\n"
    "  --text FILE         BOS + the tokenised text\n"
    "  --token-ids FILE    exactly these whitespace-separated ids (no BOS added)\n"
    "  --policy P          one policy (sinks)\n"
    "  --compare P1,P2,..  several policies on the same tokens, one table and one chart\n"
    "  --tokens N          use only the first N tokens (0 = the whole text, the default)\n"
    "  --segment K         tokens per point of the perplexity curve (about a tenth of\n"
    "                      the run, a round number, at most 1024)\n"
    "  --csv FILE          per-segment perplexity as CSV\n"
    "  --plot FILE.svg     perplexity (log scale) vs tokens processed\n"
    "  --json              one JSON object (a \"runs\" array with --compare)\n"
    "Ctrl-C stops the run, reports the tokens scored so far and exits with status 130.\n";

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
  return out;
}

// Whether the policy ever evicted a token: with a text no longer than its cache
// budget every policy sees the same tokens, and the comparison says nothing.
bool window_filled(const PerplexityResult& r) {
  return r.policy == "dense" || r.tokens + 1 > uint64_t{r.sinks} + r.window;
}

// The default segment: about ten points on the curve, a round size, at most 1024.
uint32_t auto_segment(uint64_t predictions) {
  const uint64_t target = std::max<uint64_t>(1, predictions / 10);
  uint64_t best = 1;
  for (uint64_t p = 1; p <= 1024; p *= 10)
    for (uint64_t m : {1, 2, 5})
      if (p * m <= target && p * m <= 1024) best = p * m;
  return static_cast<uint32_t>(predictions >= 10240 ? 1024 : best);
}

// Says when a policy never evicted anything (the comparison is then empty).
void warn_unfilled(const std::vector<PerplexityResult>& runs, size_t n_ids) {
  for (const auto& r : runs)
    if (!window_filled(r)) {
      warn_once("window-never-filled",
                "the " + std::to_string(n_ids) + " tokens fit in the cache (" + std::to_string(r.sinks) +
                    " sinks + " + std::to_string(r.window) +
                    " window slots): nothing was evicted, so the policies saw the same tokens. A smaller "
                    "--window or a longer text (--tokens) compares them");
      return;
    }
}

std::string result_json(const PerplexityResult& r, uint32_t segment) {
  JsonWriter j;
  j.field("policy", r.policy)
      .field("sinks", r.sinks)
      .field("window", r.window)
      .field("tokens", r.tokens);
  // The segment size travels with the segments: a script cannot place them otherwise.
  j.field("ppl", r.ppl()).field("segment_tokens", segment).field("segments", r.segment_ppl);
  j.field("tokens_per_s", static_cast<double>(r.tokens) / std::max(r.seconds, 1e-9))
      .field("device_bytes", r.device_bytes);
  j.field("interrupted", r.interrupted).field("window_filled", window_filled(r));
  return j.str();
}

std::string csv(const std::vector<PerplexityResult>& runs, uint32_t segment) {
  std::string o = "policy,segment,first_token,last_token,ppl\n";
  for (const auto& r : runs)
    for (size_t i = 0; i < r.segment_ppl.size(); ++i) {
      const uint64_t first = i * segment + 1,
                     last = std::min<uint64_t>((i + 1) * segment, r.tokens);
      o += r.policy + "," + std::to_string(i) + "," + std::to_string(first) + "," +
           std::to_string(last) + "," + JsonWriter::number(r.segment_ppl[i]) + "\n";
    }
  return o;
}

std::string chart(const std::vector<PerplexityResult>& runs, uint32_t segment,
                  const std::string& name) {
  std::vector<Series> series;
  for (const auto& r : runs) {
    Series s{r.policy + " (" + std::to_string(r.sinks) + "+" + std::to_string(r.window) + ")", {}};
    for (size_t i = 0; i < r.segment_ppl.size(); ++i)
      s.points.emplace_back(static_cast<double>(std::min<uint64_t>((i + 1) * segment, r.tokens)),
                            r.segment_ppl[i]);
    series.push_back(std::move(s));
  }
  return svg_line_chart("Streaming perplexity: " + display_name(name), "tokens processed",
                        "perplexity (log scale)", series);
}

void print_json(const std::vector<PerplexityResult>& runs, uint32_t segment) {
  if (runs.size() == 1) {
    std::printf("%s\n", result_json(runs[0], segment).c_str());
    return;
  }
  std::string all = "{\"runs\":[";
  for (size_t i = 0; i < runs.size(); ++i) append_item(all, i == 0, result_json(runs[i], segment));
  std::printf("%s]}\n", all.c_str());
}

void print_table(const std::vector<PerplexityResult>& runs, uint32_t segment,
                 const std::string& title) {
  std::printf("%s\n", title.c_str());
  std::printf("%-10s %7s %8s %10s %12s %12s\n", "policy", "sinks", "window", "ppl", "tokens/s",
              "device MiB");
  for (const auto& r : runs)
    std::printf("%-10s %7u %8u %10.3f %12.1f %12.1f\n", r.policy.c_str(), r.sinks, r.window,
                r.ppl(), static_cast<double>(r.tokens) / std::max(r.seconds, 1e-9),
                static_cast<double>(r.device_bytes) / (1 << 20));
  std::printf("\nper segment of %u tokens:\n%10s", segment, "tokens");
  for (const auto& r : runs) std::printf(" %10s", r.policy.c_str());
  std::printf("\n");
  for (size_t i = 0; i < runs[0].segment_ppl.size(); ++i) {
    std::printf("%10llu", static_cast<unsigned long long>(
                              std::min<uint64_t>((i + 1) * segment, runs[0].tokens)));
    for (const auto& r : runs)
      std::printf(" %10.3f", i < r.segment_ppl.size() ? r.segment_ppl[i] : 0.0);
    std::printf("\n");
  }
}

}  // namespace

int cmd_ppl(const std::vector<std::string>& argv) {
  auto options = model_options();
  options.insert({"text", "token-ids", "policy", "compare", "tokens", "segment", "csv", "plot"});
  const cli::Args a(argv, {"help", "json"}, options);
  if (a.has("help")) {
    std::printf("%s%s", kHelp, kModelOptionsHelp);
    return 0;
  }
  if (a.has("text") == a.has("token-ids"))
    throw InvalidArgument("give exactly one of --text FILE and --token-ids FILE");
  install_interrupt_handler();  // from the start: Ctrl-C while loading also ends cleanly
  std::vector<CachePolicy> policies;
  for (const auto& p : split(a.has("compare") ? a.str("compare", "") : a.str("policy", "sinks")))
    policies.push_back(parse_policy(p));
  // Fail on unwritable outputs now, not after an hour of evaluation.
  for (const char* out : {"csv", "plot"})
    if (a.has(out)) write_text_file(a.str(out, ""), "");

  PerplexityOptions pc;
  std::vector<int32_t> ids;
  ModelOptions mo;
  mo.gpu = gpu_options(a);
  mo.tokenizer = a.str("tokenizer", "");
  mo.load_tokenizer = !a.has("token-ids");
  if (!mo.load_tokenizer && !a.has("model")) throw InvalidArgument("--model PATH is required");
  const Model model = mo.load_tokenizer ? load_model(a) : Model::load(a.str("model", ""), mo);
  if (a.has("token-ids")) {
    ids = read_token_ids(a.str("token-ids", ""));
  } else {
    pc.recompute_from_bos = model.bos() >= 0;
    ids = model.tokenize(read_text_file(a.str("text", "")), {true, false});
  }
  const uint64_t limit = token_limit(a, "tokens", 0);
  if (limit && ids.size() > limit) ids.resize(limit);

  const StreamSettings ss = stream_settings(a);
  pc.sinks = ss.sinks;
  pc.window = ss.window;
  pc.kv_type = ss.kv_type;
  pc.chunk = ss.chunk;
  if (ids.size() < 2) throw InvalidArgument("the text has fewer than 2 tokens: nothing to predict");
  pc.segment = static_cast<uint32_t>(a.u64("segment", auto_segment(ids.size() - 1), 1, 1 << 30));
  std::vector<PerplexityResult> runs;
  for (auto policy : policies) {
    pc.policy = policy;
    Progress progress(policy_name(policy), ids.size() - 1);
    auto r = evaluate_perplexity(model, ids, pc, [&](uint64_t done) {
      progress.update(done);
      return !interrupted();
    });
    progress.finish();
    if (r.tokens > 0) runs.push_back(std::move(r));
    if (interrupted()) {
      std::fprintf(stderr, "interrupted: reporting the %zu tokens scored so far\n",
                   runs.empty() ? size_t{0} : static_cast<size_t>(runs.back().tokens));
      break;
    }
  }
  if (runs.empty()) {
    std::fprintf(stderr, "interrupted before the first token was scored\n");
    return kInterruptedExit;
  }

  if (a.has("csv")) write_text_file(a.str("csv", ""), csv(runs, pc.segment));
  if (a.has("plot")) write_text_file(a.str("plot", ""), chart(runs, pc.segment, model.info().path));
  if (a.has("json"))
    print_json(runs, pc.segment);
  else
    print_table(
        runs, pc.segment,
        model.info().path + ", " + std::to_string(ids.size()) + " tokens (" + model.device_name() + ")");
  warn_unfilled(runs, ids.size());
  return interrupted() ? kInterruptedExit : 0;
}

}  // namespace sinkstream::app
