#include "check/golden.hpp"

namespace sinkstream::check {

const Golden& default_model_golden() {
  // models/sinkstream-books-14m.gguf (sha256 47bb6e8b...), from BOS, by the CPU reference.
  // Smallest gap between the two best logits over the run: 0.024 (the GPU's f32
  // errors are near 1e-4, so the ids do not hinge on rounding).
  static const Golden g{
      2167762542924147512ull, 4, 28, 1, {13,  13,   4035, 4032, 4037, 4020, 1098, 284,  304,  2710,
                                         556, 456,  263,  1538, 4024, 361,  408,  302,  4037, 290,
                                         532, 283,  621,  263,  13,   4025, 334,  4018, 497,  13,
                                         13,  4035, 4032, 4037, 290,  532,  283,  621,  375,  556,
                                         456, 263,  1538, 4029, 13,   13,   4035, 4032}};
  return g;
}

uint64_t fingerprint(const model::ModelFile& m) {
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : m.tok_embd.data) h = (h ^ b) * 1099511628211ull;
  return h;
}

bool matches(const Golden& g, const model::ModelFile& m) {
  return fingerprint(m) == g.fingerprint;
}

}  // namespace sinkstream::check
