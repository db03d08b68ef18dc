// `sinkstream generate`: stream text from a model, forever if asked, in the
// constant memory of a sinks + window KV cache.
#include <chrono>
#include <functional>
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
#include "sinkstream/model.hpp"
#include "sinkstream/session.hpp"
#include "summary.hpp"
#include "warnings.hpp"

namespace sinkstream::app {
namespace {

constexpr const char* kHelp =
    "usage: sinkstream generate --model PATH [options]\n"
    "Streams generated text to stdout as it is produced, then a summary line on stderr\n"
    "(prompt and generated tokens with their speeds, evictions, seed, why it stopped;\n"
    "with --json, the same figures are fields of the JSON object).\n"
    "Memory stays constant: the cache keeps the first tokens (attention sinks) and a\n"
    "window of recent ones; text older than the window is forgotten.\n"
    "  --prompt TEXT       prompt (default: start from BOS alone)\n"
    "  --prompt-file PATH  read the prompt from a file\n"
    "  --tokens N          tokens to generate, prompt not counted (256; 0 = no limit:\n"
    "                      until end of sequence or Ctrl-C)\n"
    "  --stop S            stop when the text produces S (not printed); repeatable\n"
    "  --temperature T     0 = greedy (0.8); greedy with no repeat penalty runs\n"
    "                      several steps per GPU submission, the pick on the GPU\n"
    "  --top-k K           (40, 0 = off)   --top-p P (0.95)   --min-p P (0.05)\n"
    "  --repeat-penalty R  (1.0 = off)\n"
    "  --seed S            sampling seed (random, printed in the summary; -1 = random)\n"
    "  --ignore-eos        keep going past end-of-sequence tokens\n"
    "  --ids               print the generated token ids instead of text\n"
    "  --json              print one JSON object (text, ids, statistics) instead\n"
    "  --prompts FILE      one prompt per line, each its own stream, all run together\n"
    "                      on one copy of the weights; results in input order (with\n"
    "                      --json one object per line: index, ids, text, ...)\n"
    "  --streams N         streams run at once with --prompts (32; fewer if they do\n"
    "                      not fit in device memory)\n"
    "Ctrl-C stops generation, prints the summary and exits with status 130.\n";

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Feeds the prompt chunk by chunk (progress on stderr) until done or Ctrl-C;
// returns the number of tokens fed.
uint64_t ingest(Stream& stream, std::span<const int32_t> input) {
  Progress progress("prompt", input.size());
  const uint64_t fed = interrupted() ? 0 : stream.feed(input, [&](uint64_t done, uint64_t) {
    progress.update(done);
    return !interrupted();
  });
  progress.finish();
  return fed;
}

struct Generation {
  std::string text;  // filled only in --json mode (otherwise it went to stdout)
  std::vector<int32_t> ids;
  GenerationStats stats;
};

void print_json(const Generation& g, const StreamStats& c, const std::string& device) {
  const GenerationStats& st = g.stats;
  JsonWriter j;
  j.field("text", g.text).field("ids", g.ids).field("prompt_tokens", st.prompt_tokens);
  j.field("tokens", g.ids.size())
      .field("stopped_at_eos", st.reason == StopReason::eos)
      .field("stop_reason", stop_reason_word(st.reason))
      .field("interrupted", st.reason == StopReason::interrupted)
      .field("seed", st.seed);
  j.field("prefill_tokens_per_s", static_cast<double>(st.prompt_tokens) / std::max(st.prefill_s, 1e-9));
  j.field("decode_tokens_per_s", static_cast<double>(g.ids.size()) / std::max(st.decode_s, 1e-9));
  j.field("cache_slots_used", c.slots_used)
      .field("cache_capacity", c.capacity)
      .field("evicted_tokens", c.evicted);
  j.field("device_bytes", c.device_bytes).field("device", device);
  std::printf("%s\n", j.str().c_str());
}

// Where the generated tokens go: text to stdout as it comes, ids to stdout, or
// text collected into the Generation for --json (which wins over --ids).
class TokenOutput {
 public:
  enum class Mode { text, ids, json };

  TokenOutput(Mode mode, Generation& g) : mode_(mode), g_(g) {}

  // The library's token callback: `text` is what became showable (UTF-8
  // complete, stop strings held back); kNoToken brings what was held at the end.
  bool operator()(int32_t id, std::string_view text) {
    if (id != kNoToken) {
      g_.ids.push_back(id);
      if (mode_ == Mode::ids) std::printf("%s%d", g_.ids.size() > 1 ? " " : "", id);
    }
    if (mode_ == Mode::json) {
      g_.text += text;
    } else if (mode_ == Mode::text) {
      std::fwrite(text.data(), 1, text.size(), stdout);
    }
    if (id != kNoToken) std::fflush(stdout);
    return !interrupted();
  }

 private:
  Mode mode_;
  Generation& g_;
};

StopReason stop_reason(sinkstream::StopReason r) {
  switch (r) {
    case sinkstream::StopReason::end_of_generation: return StopReason::eos;
    case sinkstream::StopReason::max_tokens: return StopReason::token_limit;
    case sinkstream::StopReason::stop_string: return StopReason::stop_string;
    case sinkstream::StopReason::callback: return StopReason::interrupted;
    default: return StopReason::none;
  }
}

// The prompt's text, read before anything slow so that a bad path fails at once.
std::string prompt_text(const cli::Args& a) {
  if (a.has("prompt") && a.has("prompt-file"))
    throw InvalidArgument("give --prompt or --prompt-file, not both");
  return a.has("prompt-file") ? read_text_file(a.str("prompt-file", "")) : a.str("prompt", "");
}

// Prompt ids, with a warning when the cache cannot hold all of it.
std::vector<int32_t> prompt_ids(const std::string& prompt, const Model& model, const Stream& stream,
                                uint32_t context) {
  std::vector<int32_t> input = model.tokenize(prompt);
  if (input.empty()) throw InvalidArgument("the model has no BOS token: give a non-empty --prompt");
  warn_dropped_input("the prompt", input.size(), 0, stream.cache_config(), context);
  return input;
}

}  // namespace

int cmd_generate(const std::vector<std::string>& argv) {
  auto options = model_options();
  options.insert({"prompt", "prompt-file", "tokens", "temperature", "top-k", "top-p", "min-p", "repeat-penalty",
                  "seed", "stop", "prompts", "streams"});
  const cli::Args a(argv, {"help", "ignore-eos", "ids", "json"}, options);
  if (a.has("help")) {
    std::printf("%s%s", kHelp, kModelOptionsHelp);
    return 0;
  }
  install_interrupt_handler();  // from the start: Ctrl-C while loading also ends cleanly
  if (a.has("prompts")) {
    if (a.has("prompt") || a.has("prompt-file")) throw InvalidArgument("give --prompts or --prompt/--prompt-file, not both");
    return generate_prompts(a);
  }
  const std::string prompt = prompt_text(a);
  const uint64_t n_generate = token_limit(a, "tokens", 256);
  const bool json = a.has("json");
  const SamplerParams sampling = sampler_params(a);
  Sampler sampler(sampling);

  Model model = load_model(a);
  Stream stream(model, stream_settings(a));
  const uint32_t context = model.info().context;
  warn_cache_beyond_context(stream.cache_config(), context);
  const std::vector<int32_t> input = prompt_ids(prompt, model, stream, context);
  sampler.accept(input);

  Generation g;
  GenerationStats& st = g.stats;
  st.sampled = sampling.temperature > 0;
  st.seed = sampling.seed;
  st.prompt_total = input.size();
  const auto t_prefill = std::chrono::steady_clock::now();
  st.prompt_tokens = ingest(stream, input);  // fewer than the prompt's after a Ctrl-C
  st.prefill_s = seconds_since(t_prefill);

  using Mode = TokenOutput::Mode;
  TokenOutput out(json ? Mode::json : a.has("ids") ? Mode::ids : Mode::text, g);
  GenerateOptions go;
  go.max_tokens = n_generate;
  go.stop_strings = a.all("stop");
  go.ignore_eos = a.has("ignore-eos");
  const auto t_decode = std::chrono::steady_clock::now();
  if (!interrupted()) st.reason = stop_reason(stream.generate(sampler, go, std::ref(out)).reason);
  if (interrupted()) st.reason = StopReason::interrupted;
  st.decode_s = seconds_since(t_decode);
  const StreamStats c = stream.stats();
  st.generated = g.ids.size();
  st.evicted = c.evicted;
  if (json) {
    print_json(g, c, model.device_name());
  } else {
    std::printf("\n");
    std::fflush(stdout);
    std::fprintf(stderr, "%s\n", summary_line(st).c_str());
  }
  return interrupted() ? kInterruptedExit : 0;
}

}  // namespace sinkstream::app
