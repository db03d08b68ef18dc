#include "model_cli.hpp"

#include "sinkstream/error.hpp"

namespace sinkstream::app {

const char* const kModelOptionsHelp =
    "  --model PATH        GGUF model, or llama2.c checkpoint (.bin) with --tokenizer\n"
    "  --tokenizer PATH    tokenizer file (llama2.c tok*.bin, or a GGUF to take it from)\n"
    "  --sinks N           pinned attention-sink slots (4)\n"
    "  --window N          window slots (the model's training context minus the sinks)\n"
    "  --kv-type T         f16 (default) or f32\n"
    "  --chunk N           tokens per prefill chunk (64)\n"
    "  --device SEL        Vulkan device index or name substring\n";

std::set<std::string> model_options() {
  return {"model", "tokenizer", "sinks", "window", "kv-type", "chunk", "device"};
}

LoadedModel load_model_and_tokenizer(const cli::Args& a) {
  if (!a.has("model")) throw InvalidArgument("--model PATH is required");
  LoadedModel out;
  out.file = model::load_model(a.str("model", ""));
  if (a.has("tokenizer")) {
    out.tokenizer =
        std::make_unique<model::Tokenizer>(model::vocab_from_file(a.str("tokenizer", "")));
  } else if (out.file->gguf) {
    out.tokenizer = std::make_unique<model::Tokenizer>(model::vocab_from_gguf(*out.file->gguf));
  } else {
    throw InvalidArgument(
        "'" + out.file->path +
        "' is a llama2.c checkpoint: give its tokenizer with --tokenizer tok.bin");
  }
  if (out.tokenizer->size() != out.file->hp.vocab)
    throw InvalidArgument("the tokenizer has " + std::to_string(out.tokenizer->size()) +
                          " tokens but the model has " + std::to_string(out.file->hp.vocab));
  return out;
}

std::vector<int32_t> bos_and_encode(const model::Tokenizer& tok, const std::string& text,
                                    bool parse_special) {
  std::vector<int32_t> ids;
  if (tok.bos() >= 0) ids.push_back(tok.bos());
  const auto enc = tok.encode(text, false, parse_special);
  ids.insert(ids.end(), enc.begin(), enc.end());
  return ids;
}

model::EngineConfig engine_config(const cli::Args& a) {
  model::EngineConfig c;
  c.sinks = static_cast<uint32_t>(a.u64("sinks", 4, 0, 1 << 20));
  c.window = static_cast<uint32_t>(a.u64("window", 0, 1, 1 << 24));
  const std::string kv = a.str("kv-type", "f16");
  if (kv != "f16" && kv != "f32") throw InvalidArgument("--kv-type must be f16 or f32");
  c.kv_type = kv == "f16" ? KvType::f16 : KvType::f32;
  c.max_chunk = static_cast<uint32_t>(a.u64("chunk", 64, 1, 4096));
  return c;
}

model::SamplerConfig sampler_config(const cli::Args& a) {
  model::SamplerConfig s;
  s.temperature = static_cast<float>(a.real("temperature", 0.8, 0.0, 100.0));
  s.top_k = static_cast<uint32_t>(a.u64("top-k", 40, 0, 1 << 24));
  s.top_p = static_cast<float>(a.real("top-p", 0.95, 1e-6, 1.0));
  s.min_p = static_cast<float>(a.real("min-p", 0.05, 0.0, 0.999));
  s.repeat_penalty = static_cast<float>(a.real("repeat-penalty", 1.0, 0.01, 10.0));
  s.seed = a.u64("seed", 42, 0, ~uint64_t{0});
  return s;
}

GpuOptions gpu_options(const cli::Args& a) {
  GpuOptions o;
  o.device = a.str("device", "");
  return o;
}

}  // namespace sinkstream::app
