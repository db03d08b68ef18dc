// sinkstream-synth: writes a random-weight Llama GGUF for tests and benchmarks.
//   sinkstream-synth --preset llama-3.2-1b --type q8_0 --out /tmp/l1b-q8_0.gguf
//   sinkstream-synth --preset llama-3.2-1b --type q4_k_m --out /tmp/l1b-q4_k_m.gguf
#include <cstdio>
#include <string>
#include <vector>

#include "testing/synthetic.hpp"
#include "sinkstream/error.hpp"

int main(int argc, char** argv) {
  using namespace sinkstream;
  std::string preset = "tiny", type = "f16", expert_type, out;
  uint64_t seed = 1;
  uint32_t experts_used = 0;
  bool sinks = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw InvalidArgument(a + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--preset") preset = value();
      else if (a == "--type") type = value();
      else if (a == "--expert-type") expert_type = value();
      else if (a == "--experts-used") experts_used = static_cast<uint32_t>(std::stoul(value()));
      else if (a == "--out") out = value();
      else if (a == "--seed") seed = std::stoull(value());
      else if (a == "--learned-sinks") sinks = true;
      else throw InvalidArgument("unknown option " + a);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "sinkstream-synth: %s\n", e.what());
      return 2;
    }
  }
  if (out.empty()) {
    std::fprintf(stderr,
                 "usage: sinkstream-synth --out FILE.gguf [--preset tiny|gemma2-tiny|gemma3-tiny|gpt-oss-tiny|gpt-oss-mini|llama-3.2-1b|qwen3-1.7b|gemma3-1b|gpt-oss-20b]\n"
                 "       [--type TYPE] [--expert-type TYPE] [--experts-used N] [--seed N] [--learned-sinks]\n"
                 "  --expert-type: the gpt-oss presets' expert weights (default: gpt-oss-20b mxfp4, else TYPE)\n"
                 "  TYPE: f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q2_k q3_k q4_k q5_k q6_k iq4_nl iq4_xs mxfp4,\n"
                 "        or q4_k_m (llama.cpp's Q4_K_M mix of Q4_K and Q6_K); K-quants and iq4_xs need\n"
                 "        rows of a multiple of 256 (the llama-3.2-1b preset, not tiny)\n");
    return 2;
  }
  try {
    model::SyntheticSpec spec = model::synthetic_preset(preset);
    model::set_synthetic_type(spec, type);
    spec.seed = seed;
    spec.learned_sinks = spec.learned_sinks || sinks;
    if (experts_used) {
      if (!spec.gpt_oss || experts_used > spec.experts)
        throw InvalidArgument("--experts-used takes 1.." + std::to_string(spec.experts) + " with a gpt-oss preset");
      spec.experts_used = experts_used;
    }
    if (!expert_type.empty()) {
      model::SyntheticSpec experts;
      model::set_synthetic_type(experts, expert_type);
      spec.expert_type = experts.type;
    }
    model::write_synthetic_gguf(out, spec);
    std::printf("wrote %s (%s, %s)\n", out.c_str(), preset.c_str(), type.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sinkstream-synth: %s\n", e.what());
    return 1;
  }
  return 0;
}
