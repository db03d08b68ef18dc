// RoPE angles, computed on the host in extended precision and reduced modulo
// 2*pi before they become float cos/sin: at stream index 1e9 a float angle
// would be off by tens of radians, the reduced one is exact to ~1e-10 rad.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "sinkstream/config.hpp"

namespace sinkstream::kv {

// Inverse frequency of each rotary pair: 1 / (theta^(2p/rotary_dims) * factor_p).
std::vector<long double> rope_inv_freq(const RopeConfig& rope, uint32_t head_dim);

// Writes (cos, sin) of position * inv_freq[p] for every pair p into out[2p], out[2p+1].
void rope_cos_sin(uint64_t position, std::span<const long double> inv_freq, std::span<float> out);

// rope_cos_sin for runs of nearby positions at a few multiplications per pair: the
// extended-precision reduction (about 0.3 us per pair on an x86 core, so ~10 ms per
// 512-token chunk, all of it before the chunk's submission) runs once per anchor,
// a multiple of kStep, and each position is its anchor rotated by a precomputed
// angle of at most kStep - 1 steps, in double. The results are within float
// rounding of rope_cos_sin's (the double error is ~1e-15). Keep one table per
// sequence of positions: an anchor is reused while the positions stay near it.
class RopeTable {
 public:
  static constexpr uint32_t kStep = 64;
  explicit RopeTable(std::vector<long double> inv_freq);
  size_t pairs() const { return inv_freq_.size(); }
  void cos_sin(uint64_t position, std::span<float> out);

 private:
  std::vector<long double> inv_freq_;
  std::vector<double> step_;    // (k < kStep, pair, cos | sin) of k * inv_freq
  std::vector<double> anchor_;  // (pair, cos | sin) at anchor_position_
  uint64_t anchor_position_ = 1;  // not a multiple of kStep: no anchor yet
};

}  // namespace sinkstream::kv
