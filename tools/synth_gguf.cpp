// sinkstream-synth: writes a random-weight Llama GGUF for tests and benchmarks.
//   sinkstream-synth --preset llama-3.2-1b --type q8_0 --out /tmp/l1b-q8_0.gguf
#include <cstdio>
#include <string>
#include <vector>

#include "model/synthetic.hpp"
#include "sinkstream/error.hpp"

int main(int argc, char** argv) {
  using namespace sinkstream;
  std::string preset = "tiny", type = "f16", out;
  uint64_t seed = 1;
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
                 "usage: sinkstream-synth --out FILE.gguf [--preset tiny|llama-3.2-1b] [--type f32|f16|bf16|q8_0|q4_0]"
                 " [--seed N] [--learned-sinks]\n");
    return 2;
  }
  try {
    model::SyntheticSpec spec = model::synthetic_preset(preset);
    const std::vector<std::pair<std::string, model::GgmlType>> types = {
        {"f32", model::GgmlType::f32}, {"f16", model::GgmlType::f16}, {"bf16", model::GgmlType::bf16},
        {"q8_0", model::GgmlType::q8_0}, {"q4_0", model::GgmlType::q4_0}};
    bool found = false;
    for (const auto& [name, t] : types)
      if (name == type) spec.type = t, found = true;
    if (!found) throw InvalidArgument("--type must be f32, f16, bf16, q8_0 or q4_0");
    spec.seed = seed;
    spec.learned_sinks = sinks;
    model::write_synthetic_gguf(out, spec);
    std::printf("wrote %s (%s, %s)\n", out.c_str(), preset.c_str(), type.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sinkstream-synth: %s\n", e.what());
    return 1;
  }
  return 0;
}
