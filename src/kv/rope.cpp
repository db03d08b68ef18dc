#include "kv/rope.hpp"

#include <cmath>

#include "sinkstream/error.hpp"

namespace sinkstream::kv {

std::vector<long double> rope_inv_freq(const RopeConfig& rope, uint32_t head_dim) {
  const uint32_t dims = rope.rotary_dims ? rope.rotary_dims : head_dim;
  std::vector<long double> f(dims / 2);
  for (uint32_t p = 0; p < f.size(); ++p) {
    long double inv = 1.0L / std::pow(static_cast<long double>(rope.theta), 2.0L * p / dims);
    if (!rope.freq_factors.empty()) inv /= static_cast<long double>(rope.freq_factors[p]);
    f[p] = inv;
  }
  return f;
}

void rope_cos_sin(uint64_t position, std::span<const long double> inv_freq, std::span<float> out) {
  constexpr long double two_pi = 6.283185307179586476925286766559005768L;
  if (out.size() < 2 * inv_freq.size()) throw Error("internal error: rope table row too small");
  for (size_t p = 0; p < inv_freq.size(); ++p) {
    const long double angle = std::fmod(static_cast<long double>(position) * inv_freq[p], two_pi);
    out[2 * p] = static_cast<float>(std::cos(angle));
    out[2 * p + 1] = static_cast<float>(std::sin(angle));
  }
}

}  // namespace sinkstream::kv
