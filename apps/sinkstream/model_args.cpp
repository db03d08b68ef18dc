#include "model_args.hpp"

#include <cstdio>
#include <random>

#include "files.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::app {

const char* const kModelOptionsHelp =
    "  --model PATH        GGUF model, or llama2.c checkpoint (.bin) with --tokenizer\n"
    "  --tokenizer PATH    tokenizer file (llama2.c tok*.bin, or a GGUF to take it from)\n"
    "  --sinks N           pinned attention-sink slots (4)\n"
    "  --window N          window slots (the model's training context minus the sinks)\n"
    "  --ctx-size N        the whole cache instead: sinks + window = N (llama.cpp's -c)\n"
    "  --kv-type T         f16 (default), f32, or q8_0 (about half of f16's memory)\n"
    "  --chunk N           tokens per prefill chunk (64)\n"
    "  --device SEL        Vulkan device index or name substring\n"
    "llama.cpp's spellings work too, for the options a command has: -m, -p, -f\n"
    "(--prompt-file), -n (--tokens), -c (--ctx-size), -s (--seed), --temp,\n"
    "-r/--reverse-prompt (--stop), -sys (--system), -h.\n";

std::set<std::string> model_options() {
  return {"model", "tokenizer", "sinks", "window", "ctx-size", "kv-type", "chunk", "device"};
}

KvType kv_type_option(const cli::Args& a) {
  const std::string name = a.str("kv-type", "f16");
  const auto t = parse_kv_type(name);
  if (!t) throw InvalidArgument("--kv-type must be f16, f32 or q8_0, not '" + name + "'");
  return *t;
}

uint64_t seed_option(const cli::Args& a) {
  if (a.str("seed", "-1") != "-1") return a.u64("seed", 0, 0, ~uint64_t{0});
  std::random_device rd;  // a different sampling every run, as llama.cpp and Ollama do
  return (uint64_t{rd()} << 32) ^ rd();
}

uint64_t token_limit(const cli::Args& a, const std::string& name, uint64_t fallback) {
  if (a.str(name, "") == "-1") return 0;  // llama.cpp's -n -1: no limit
  return a.u64(name, fallback, 0, ~uint64_t{0});
}

Model load_model(const cli::Args& a, bool with_tokenizer) {
  if (!a.has("model")) throw InvalidArgument("--model PATH is required");
  ModelOptions o;
  o.gpu = gpu_options(a);
  o.tokenizer = with_tokenizer ? a.str("tokenizer", "") : "";
  o.load_tokenizer = with_tokenizer;
  return Model::load(a.str("model", ""), o);
}

StreamSettings stream_settings(const cli::Args& a) {
  StreamSettings s;
  s.sinks = static_cast<uint32_t>(a.u64("sinks", 4, 0, 1 << 20));
  s.window = static_cast<uint32_t>(a.u64("window", 0, 1, 1 << 24));
  if (a.has("ctx-size")) {
    if (a.has("window")) throw InvalidArgument("give --window or --ctx-size (-c), not both");
    const uint64_t ctx = a.u64("ctx-size", 0, uint64_t{s.sinks} + 1, (1 << 24) + uint64_t{s.sinks});
    s.window = static_cast<uint32_t>(ctx - s.sinks);
  }
  s.kv_type = kv_type_option(a);
  s.chunk = static_cast<uint32_t>(a.u64("chunk", 64, 1, 4096));
  return s;
}

SamplerParams sampler_params(const cli::Args& a) {
  SamplerParams s;
  s.temperature = static_cast<float>(a.real("temperature", 0.8, 0.0, 100.0));
  s.top_k = static_cast<uint32_t>(a.u64("top-k", 40, 0, 1 << 24));
  s.top_p = static_cast<float>(a.real("top-p", 0.95, 1e-6, 1.0));
  s.min_p = static_cast<float>(a.real("min-p", 0.05, 0.0, 0.999));
  s.repeat_penalty = static_cast<float>(a.real("repeat-penalty", 1.0, 0.01, 10.0));
  s.seed = seed_option(a);
  return s;
}

GpuOptions gpu_options(const cli::Args& a) {
  GpuOptions o;
  o.device = a.str("device", "");
  return o;
}

ChatTemplate chat_template_option(const cli::Args& a, const Model& model) {
  if (a.has("chat-template")) {
    const std::string t = a.str("chat-template", "");
    for (const std::string& name : ChatTemplate::builtin_names())
      if (t == name) return ChatTemplate::builtin(name);
    const std::string name = t.substr(t.find_last_of('/') + 1);
    const std::string source = read_text_file(t);
    try {
      return ChatTemplate::jinja(source, name);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument("--chat-template '" + t + "' is not a template sinkstream can render: " + e.what());
    }
  }
  std::string warning;
  ChatTemplate r = model.chat_template(&warning);
  if (!warning.empty()) std::fprintf(stderr, "warning: %s\n", warning.c_str());
  return r;
}

}  // namespace sinkstream::app
