// The bandwidth yardstick of the benchmarks: a plain copy kernel, GPU-timed.
#pragma once
#include <cstdint>

#include "vk/context.hpp"

namespace sinkstream::app {

// Copy bandwidth in GB/s (bytes read + written), median of `iters` GPU-timed
// copies of `bytes` bytes (capped at the device's largest storage buffer).
double copy_gbs(vk::Context& ctx, uint64_t bytes, uint32_t iters);

}  // namespace sinkstream::app
