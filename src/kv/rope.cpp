#include "kv/rope.hpp"

#include <cmath>
#include <utility>

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

namespace {

// The exact reduction behind rope_cos_sin and RopeTable's anchors, rounded to T.
template <typename T>
void exact_cos_sin(uint64_t position, std::span<const long double> inv_freq, std::span<T> out) {
  constexpr long double two_pi = 6.283185307179586476925286766559005768L;
  if (out.size() < 2 * inv_freq.size()) throw Error("internal error: rope table row too small");
  for (size_t p = 0; p < inv_freq.size(); ++p) {
    const long double angle = std::fmod(static_cast<long double>(position) * inv_freq[p], two_pi);
    out[2 * p] = static_cast<T>(std::cos(angle));
    out[2 * p + 1] = static_cast<T>(std::sin(angle));
  }
}

}  // namespace

void rope_cos_sin(uint64_t position, std::span<const long double> inv_freq, std::span<float> out) {
  exact_cos_sin(position, inv_freq, out);
}

RopeTable::RopeTable(std::vector<long double> inv_freq) : inv_freq_(std::move(inv_freq)) {
  const size_t n = inv_freq_.size();
  step_.resize(kStep * n * 2);
  for (uint32_t k = 0; k < kStep; ++k) exact_cos_sin<double>(k, inv_freq_, {step_.data() + k * n * 2, n * 2});
  anchor_.resize(2 * n);
}

void RopeTable::cos_sin(uint64_t position, std::span<float> out) {
  const size_t n = inv_freq_.size();
  if (out.size() < 2 * n) throw Error("internal error: rope table row too small");
  const uint64_t anchor = position - position % kStep;
  if (anchor != anchor_position_) {
    exact_cos_sin<double>(anchor, inv_freq_, anchor_);
    anchor_position_ = anchor;
  }
  const double* step = step_.data() + (position - anchor) * n * 2;
  for (size_t p = 0; p < n; ++p) {
    const double ca = anchor_[2 * p], sa = anchor_[2 * p + 1], cb = step[2 * p], sb = step[2 * p + 1];
    out[2 * p] = static_cast<float>(ca * cb - sa * sb);
    out[2 * p + 1] = static_cast<float>(sa * cb + ca * sb);
  }
}

}  // namespace sinkstream::kv
