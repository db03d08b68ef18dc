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

namespace sinkstream::app {
namespace {

constexpr const char* kHelp =
    "usage: sinkstream generate --model PATH [options]\n"
    "Streams generated text to stdout as it is produced. Memory stays constant: the\n"
    "cache keeps the first tokens (attention sinks) and a window of recent ones;\n"
    "text older than the window is forgotten.\n"
    "  --prompt TEXT       prompt (default: start from BOS alone)\n"
    "  --prompt-file PATH  read the prompt from a file\n"
    "  --tokens N          tokens to generate, prompt not counted (256)\n"
    "  --temperature T     0 = greedy (0.8); greedy with no repeat penalty runs\n"
    "                      several steps per GPU submission, the pick on the GPU\n"
    "  --top-k K           (40, 0 = off)   --top-p P (0.95)   --min-p P (0.05)\n"
    "  --repeat-penalty R  (1.0 = off)     --seed S (42)\n"
    "  --ignore-eos        keep going past end-of-sequence tokens\n"
    "  --ids               print the generated token ids instead of text\n"
    "  --json              print one JSON object (text, ids, statistics) instead\n"
    "  --prompts FILE      one prompt per line, each its own stream, all run together\n"
    "                      on one copy of the weights; results in input order (with\n"
    "                      --json one object per line: index, ids, text, ...)\n"
    "  --streams N         streams run at once with --prompts (32; fewer if they do\n"
    "                      not fit in device memory)\n";

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
  bool stopped_at_eos = false;
  double prompt_tokens = 0, prefill_s = 0, decode_s = 0;
};

void print_json(const Generation& g, const model::EngineCounters& c, const std::string& device) {
  JsonWriter j;
  j.field("text", g.text).field("ids", g.ids).field("prompt_tokens", g.prompt_tokens);
  j.field("tokens", g.ids.size())
      .field("stopped_at_eos", g.stopped_at_eos)
      .field("interrupted", interrupted());
  j.field("prefill_tokens_per_s", g.prompt_tokens / std::max(g.prefill_s, 1e-9));
  j.field("decode_tokens_per_s", static_cast<double>(g.ids.size()) / std::max(g.decode_s, 1e-9));
  j.field("cache_slots_used", c.slots_used)
      .field("cache_capacity", c.capacity)
      .field("evicted_tokens", c.evicted);
  j.field("device_bytes", c.device_bytes).field("device", device);
  std::printf("%s\n", j.str().c_str());
}

// The statistics a Ctrl-C leaves on stderr.
void print_interrupted(const Generation& g, size_t prompt_size, const model::EngineCounters& c) {
  std::fprintf(
      stderr,
      "interrupted: %.0f of %zu prompt tokens ingested (%.1f tokens/s), %zu tokens generated "
      "(%.1f tokens/s), %llu evicted\n",
      g.prompt_tokens, prompt_size, g.prompt_tokens / std::max(g.prefill_s, 1e-9), g.ids.size(),
      static_cast<double>(g.ids.size()) / std::max(g.decode_s, 1e-9),
      static_cast<unsigned long long>(c.evicted));
}

// Where the generated tokens go: text to stdout as it comes, ids to stdout, or
// text collected into the Generation for --json (which wins over --ids).
class TokenOutput {
 public:
  enum class Mode { text, ids, json };

  TokenOutput(const model::Tokenizer& tok, Mode mode, Generation& g)
      : decoder_(tok), mode_(mode), g_(g) {}

  // `strip_space`: as SentencePiece (and llama2.c) do, the first piece after a
  // bare BOS loses its leading space.
  void token(int32_t id, bool strip_space) {
    g_.ids.push_back(id);
    std::string piece = decoder_.push(id);
    if (strip_space && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    if (mode_ == Mode::ids) {
      std::printf("%s%d", g_.ids.size() > 1 ? " " : "", id);
    } else {
      write(piece);
    }
    std::fflush(stdout);
  }

  // The bytes of an incomplete UTF-8 sequence the decoder still holds.
  void finish() {
    if (mode_ != Mode::ids) write(decoder_.flush());
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

}  // namespace

int cmd_generate(const std::vector<std::string>& argv) {
  auto options = model_options();
  options.insert({"prompt", "prompt-file", "tokens", "temperature", "top-k", "top-p", "min-p",
                  "repeat-penalty", "seed", "prompts", "streams"});
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
  if (a.has("prompt") && a.has("prompt-file"))
    throw InvalidArgument("give --prompt or --prompt-file, not both");
  const std::string prompt =
      a.has("prompt-file") ? read_text_file(a.str("prompt-file", "")) : a.str("prompt", "");
  const uint64_t n_generate = a.u64("tokens", 256, 0, ~uint64_t{0});
  const bool ids_only = a.has("ids"), json = a.has("json"), ignore_eos = a.has("ignore-eos");
  const model::SamplerConfig sampling = sampler_config(a);
  model::Sampler sampler(sampling);

  LoadedModel lm = load_model_and_tokenizer(a);
  const model::Tokenizer& tok = *lm.tokenizer;
  Gpu gpu(gpu_options(a));
  model::Engine engine(gpu, *lm.file, engine_config(a));

  const std::vector<int32_t> input = bos_and_encode(tok, prompt, true);
  if (input.empty()) throw InvalidArgument("the model has no BOS token: give a non-empty --prompt");
  for (int32_t t : input) sampler.accept(t);

  Generation g;
  const auto t_prefill = std::chrono::steady_clock::now();
  size_t fed = 0;
  const std::vector<float> logits = ingest(engine, input, fed);
  g.prefill_s = seconds_since(t_prefill);
  g.prompt_tokens = static_cast<double>(fed);  // fewer than the prompt's after a Ctrl-C

  using Mode = TokenOutput::Mode;
  TokenOutput out(tok, json ? Mode::json : ids_only ? Mode::ids : Mode::text, g);
  // Prints one generated token; false once generation should stop.
  auto emit = [&](int32_t next) {
    if (tok.is_eog(next) && !ignore_eos) {
      g.stopped_at_eos = true;
      return false;
    }
    sampler.accept(next);
    out.token(next, g.ids.empty() && input.size() == 1);
    return g.ids.size() < n_generate && !interrupted();
  };
  const auto t_decode = std::chrono::steady_clock::now();
  if (n_generate > 0 && !interrupted())
    decode(engine, sampler, model::plain_greedy(sampling), logits, n_generate, g.ids, emit);
  g.decode_s = seconds_since(t_decode);
  out.finish();
  const auto c = engine.counters();
  if (json) {
    print_json(g, c, gpu.device_name());
  } else {
    std::printf("\n");
    if (interrupted()) print_interrupted(g, input.size(), c);
  }
  return 0;
}

}  // namespace sinkstream::app
