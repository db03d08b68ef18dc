#include "bench_copy.hpp"

#include <algorithm>
#include <vector>

#include "vk/commands.hpp"

namespace sinkstream::app {

double copy_gbs(vk::Context& ctx, uint64_t bytes, uint32_t iters) {
  bytes = std::min<uint64_t>(bytes, ctx.info().max_storage_buffer_range) / 16 * 16;
  auto src = ctx.create_buffer(bytes, vk::MemoryUse::device, "copy source");
  auto dst = ctx.create_buffer(bytes, vk::MemoryUse::device, "copy destination");
  const auto& kernel = ctx.kernel({"copy", 2, 16, {256, 1, 1}, {}});
  auto pool = ctx.create_descriptor_pool(1, 2);
  const vk::GpuBuffer* bufs[] = {&src, &dst};
  const auto set = ctx.bind(pool.get(), kernel, bufs);
  const struct {
    uint32_t n_vec4, pad[3];
  } pc{static_cast<uint32_t>(bytes / 16), {}};
  auto stamps = ctx.create_timestamp_pool(2);
  vk::CommandBuffer cmd(ctx);
  std::vector<double> t;
  for (uint32_t it = 0; it <= iters; ++it) {
    cmd.begin();
    if (it == 0) {
      cmd.fill_zero(src);
      cmd.transfer_to_compute_barrier();
    }
    cmd.reset_timestamps(stamps.get(), 2);
    cmd.timestamp(stamps.get(), 0);
    cmd.dispatch(set, pc, {std::min<uint32_t>(65535, static_cast<uint32_t>(bytes / 16 / 256) + 1), 1, 1});
    cmd.compute_barrier();
    cmd.timestamp(stamps.get(), 1);
    cmd.end();
    cmd.submit_and_wait();
    const auto ns = vk::read_timestamps_ns(ctx, stamps.get(), 2);
    if (it > 0) t.push_back(ns[1] - ns[0]);  // the first run warms up
  }
  std::sort(t.begin(), t.end());
  return 2.0 * static_cast<double>(bytes) / t[t.size() / 2];
}

}  // namespace sinkstream::app
