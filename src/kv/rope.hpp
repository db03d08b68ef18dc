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

}  // namespace sinkstream::kv
