// `sinkstream generate`: stream text from a model, forever if asked, in the
// constant memory of a sinks + window KV cache.
#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "files.hpp"
#include "interrupt.hpp"
#include "json.hpp"
#include "model_cli.hpp"
#include "progress.hpp"
#include "sinkstream/error.hpp"
#include "stop_strings.hpp"
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
// returns the last logits and counts the tokens fed in `fed`.
std::vector<float> ingest(model::Engine& engine, std::span<const int32_t> input, size_t& fed) {
  Progress progress("prompt", input.size());
  std::vector<float> logits;
  const size_t chunk = engine.cache_config().max_chunk;
  for (fed = 0; fed < input.size() && !interrupted();) {
    const size_t n = std::min(chunk, input.size() - fed);
    const auto l = engine.feed(input.subspan(fed, n));
    logits.assign(l.begin(), l.end());
    fed += n;
    progress.update(fed);
  }
  progress.finish();
  return logits;
}

struct Generation {
  std::string text;  // filled only in --json mode (otherwise it went to stdout)
  std::vector<int32_t> ids;
  GenerationStats stats;
};

void print_json(const Generation& g, const model::EngineCounters& c, const std::string& device) {
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
// text collected into the Generation for --json (which wins over --ids). Text is
// held back while it may be the start of a --stop string.
class TokenOutput {
 public:
  enum class Mode { text, ids, json };

  TokenOutput(const model::Tokenizer& tok, Mode mode, Generation& g, std::vector<std::string> stops)
      : decoder_(tok), mode_(mode), g_(g), stops_(std::move(stops)) {}

  // `strip_space`: as SentencePiece (and llama2.c) do, the first piece after a
  // bare BOS loses its leading space. False once a stop string completed.
  bool token(int32_t id, bool strip_space) {
    g_.ids.push_back(id);
    std::string piece = decoder_.push(id);
    if (strip_space && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    const std::string shown = stops_.push(piece);
    if (mode_ == Mode::ids) {
      std::printf("%s%d", g_.ids.size() > 1 ? " " : "", id);
    } else {
      write(shown);
    }
    std::fflush(stdout);
    return !stops_.matched();
  }

  // The bytes of an incomplete UTF-8 sequence the decoder still holds, and any
  // text held back for a stop string that never completed.
  void finish() {
    const std::string rest = stops_.push(decoder_.flush()) + stops_.flush();
    if (mode_ != Mode::ids) write(rest);
  }

 private:
  void write(const std::string& piece) {
    if (mode_ == Mode::json) {
      g_.text += piece;
    } else {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
    }
  }

  model::StreamingDecoder decoder_;
  Mode mode_;
  Generation& g_;
  StopStrings stops_;
};

// Samples from the prompt's logits, then decodes until `emit` says stop: in
// batches with the pick on the GPU where sampling is plain greedy, else one
// step per submission.
template <typename Emit>
void decode(model::Engine& engine, model::Sampler& sampler, bool greedy,
            std::span<const float> logits, uint64_t n_generate,
            const std::vector<int32_t>& generated, Emit& emit) {
  int32_t next = sampler.sample(logits);
  if (!emit(next)) return;
  if (greedy) {
    // Tokens past an end-of-sequence may reach the cache; nothing reads it afterwards.
    engine.decode_greedy(next, n_generate - generated.size(), [&](std::span<const int32_t> batch) {
      for (int32_t t : batch)
        if (!emit(t)) return false;
      return true;
    });
    return;
  }
  do {
    const auto l = engine.feed({&next, 1});
    next = sampler.sample(l);
  } while (emit(next));
}

// The prompt's text, read before anything slow so that a bad path fails at once.
std::string prompt_text(const cli::Args& a) {
  if (a.has("prompt") && a.has("prompt-file"))
    throw InvalidArgument("give --prompt or --prompt-file, not both");
  return a.has("prompt-file") ? read_text_file(a.str("prompt-file", "")) : a.str("prompt", "");
}

// Prompt ids, with a warning when the cache cannot hold all of it.
std::vector<int32_t> prompt_ids(const std::string& prompt, const model::Tokenizer& tok, const model::Engine& engine,
                                uint32_t context) {
  std::vector<int32_t> input = bos_and_encode(tok, prompt, true);
  if (input.empty()) throw InvalidArgument("the model has no BOS token: give a non-empty --prompt");
  warn_dropped_input("the prompt", input.size(), 0, engine.cache_config(), context);
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
  const bool json = a.has("json"), ignore_eos = a.has("ignore-eos");
  const model::SamplerConfig sampling = sampler_config(a);
  model::Sampler sampler(sampling);

  LoadedModel lm = load_model_and_tokenizer(a);
  const model::Tokenizer& tok = *lm.tokenizer;
  Gpu gpu(gpu_options(a));
  model::Engine engine(gpu, *lm.file, engine_config(a));
  warn_cache_beyond_context(engine.cache_config(), lm.file->hp.context);
  const std::vector<int32_t> input = prompt_ids(prompt, tok, engine, lm.file->hp.context);
  for (int32_t t : input) sampler.accept(t);

  Generation g;
  GenerationStats& st = g.stats;
  st.sampled = sampling.temperature > 0;
  st.seed = sampling.seed;
  st.prompt_total = input.size();
  const auto t_prefill = std::chrono::steady_clock::now();
  size_t fed = 0;
  const std::vector<float> logits = ingest(engine, input, fed);
  st.prefill_s = seconds_since(t_prefill);
  st.prompt_tokens = fed;  // fewer than the prompt's after a Ctrl-C

  using Mode = TokenOutput::Mode;
  TokenOutput out(tok, json ? Mode::json : a.has("ids") ? Mode::ids : Mode::text, g, a.all("stop"));
  // Prints one generated token; false once generation should stop, with the reason.
  auto emit = [&](int32_t next) {
    if (tok.is_eog(next) && !ignore_eos) {
      st.reason = StopReason::eos;
      return false;
    }
    sampler.accept(next);
    if (!out.token(next, g.ids.empty() && input.size() == 1)) st.reason = StopReason::stop_string;
    else if (n_generate && g.ids.size() >= n_generate) st.reason = StopReason::token_limit;
    else if (interrupted()) st.reason = StopReason::interrupted;
    return st.reason == StopReason::none;
  };
  const auto t_decode = std::chrono::steady_clock::now();
  const uint64_t batch_limit = n_generate ? n_generate : ~uint64_t{0};
  if (!interrupted()) decode(engine, sampler, model::plain_greedy(sampling), logits, batch_limit, g.ids, emit);
  if (interrupted()) st.reason = StopReason::interrupted;
  st.decode_s = seconds_since(t_decode);
  out.finish();
  const auto c = engine.counters();
  st.generated = g.ids.size();
  st.evicted = c.evicted;
  if (json) {
    print_json(g, c, gpu.device_name());
  } else {
    std::printf("\n");
    std::fflush(stdout);
    std::fprintf(stderr, "%s\n", summary_line(st).c_str());
  }
  return interrupted() ? kInterruptedExit : 0;
}

}  // namespace sinkstream::app
