// `sinkstream bench attention` and the bandwidth yardstick of the benchmarks:
// GPU-timestamped kernels on synthetic data, no model.
#include <algorithm>
#include <vector>

#include "kv/kv_cache.hpp"
#include "sinkstream/bench.hpp"
#include "vk/commands.hpp"

namespace sinkstream {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

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

// All-zero inputs and a full ring (every slot attended): finite, and what a
// long stream's decode step reads.
void fill_cache(vk::Context& ctx, kv::KvCache& cache, std::initializer_list<const vk::GpuBuffer*> inputs,
                uint32_t layers, uint64_t cache_slots) {
  vk::CommandBuffer cmd(ctx);
  cmd.begin();
  for (const vk::GpuBuffer* b : inputs) cmd.fill_zero(*b);
  for (uint32_t l = 0; l < layers; ++l) {
    cmd.fill_zero(cache.k_buffer(l));
    cmd.fill_zero(cache.v_buffer(l));
  }
  cmd.end();
  cmd.submit_and_wait();
  cache.assume_appended(cache_slots);
  cache.prepare(1);
}

}  // namespace

double copy_bandwidth_gbs(Gpu& gpu, uint64_t bytes, uint32_t iters) { return copy_gbs(gpu.context(), bytes, iters); }

AttentionBenchResult bench_attention(Gpu& gpu, const AttentionBenchOptions& s, KvType kv, uint64_t cache_slots) {
  vk::Context& ctx = gpu.context();
  StreamConfig cfg;
  cfg.heads = s.heads;
  cfg.kv_heads = s.kv_heads;
  cfg.head_dim = s.head_dim;
  cfg.sinks = s.sinks;
  cfg.window = static_cast<uint32_t>(cache_slots - s.sinks);
  cfg.kv_type = kv;
  cfg.max_chunk = 1;
  const uint64_t layer_bytes = 2ull * s.kv_heads * cache_slots * kv_row_bytes(kv, s.head_dim);
  cfg.layers = static_cast<uint32_t>(std::clamp<uint64_t>((s.min_bytes + layer_bytes - 1) / layer_bytes, 1, 512));
  const uint32_t L = cfg.layers;

  kv::KvCache cache(ctx, cfg, 0);
  if (s.workgroups) cache.set_target_workgroups(s.workgroups);
  const uint64_t q_floats = uint64_t{L} * s.heads * s.head_dim, kv_floats = uint64_t{L} * s.kv_heads * s.head_dim;
  auto q = ctx.create_buffer(q_floats * 4, vk::MemoryUse::device, "bench queries");         // (layer, head, head_dim)
  auto k = ctx.create_buffer(kv_floats * 4, vk::MemoryUse::device, "bench keys");           // (layer, kv_head, head_dim)
  auto v = ctx.create_buffer(kv_floats * 4, vk::MemoryUse::device, "bench values");         // (layer, kv_head, head_dim)
  auto out = ctx.create_buffer(q_floats * 4, vk::MemoryUse::device, "bench outputs");       // (layer, head, head_dim)
  auto sinks = ctx.create_buffer(uint64_t{L} * s.heads * 4, vk::MemoryUse::device, "bench sinks");  // (layer, head)
  cache.bind({&q, &k, &v, &out, &sinks});
  fill_cache(ctx, cache, {&q, &k, &v, &sinks}, L, cache_slots);

  vk::CommandBuffer cmd(ctx);
  auto stamps = ctx.create_timestamp_pool(3);
  std::vector<double> append_t, attend_t;
  for (uint32_t it = 0; it < s.iters + 1; ++it) {
    cmd.begin();
    cmd.reset_timestamps(stamps.get(), 3);
    cmd.transfer_to_compute_barrier();
    cmd.timestamp(stamps.get(), 0);
    for (uint32_t l = 0; l < L; ++l) {
      kv::LayerIo io;
      io.k_offset = io.v_offset = l * s.kv_heads * s.head_dim;
      io.kv_stride = s.kv_heads * s.head_dim;
      cache.record_decode_append(cmd, l, io);
    }
    cmd.compute_barrier();
    cmd.timestamp(stamps.get(), 1);
    for (uint32_t l = 0; l < L; ++l) {
      kv::LayerIo io;
      io.q_offset = io.out_offset = l * s.heads * s.head_dim;
      io.q_stride = io.out_stride = s.heads * s.head_dim;
      io.sink_offset = l * s.heads;
      cache.record_decode_attend(cmd, l, io);
      cmd.compute_barrier();
    }
    cmd.timestamp(stamps.get(), 2);
    cmd.end();
    cmd.submit_and_wait();
    const auto t = vk::read_timestamps_ns(ctx, stamps.get(), 3);
    if (it == 0) continue;  // warm-up
    append_t.push_back((t[1] - t[0]) / L);
    attend_t.push_back((t[2] - t[1]) / L);
  }
  AttentionBenchResult r;
  r.kv_type = kv;
  r.cache = cache_slots;
  r.layers = L;
  r.append_us = median(append_t) / 1e3;
  r.attention_us = median(attend_t) / 1e3;
  // As many bytes as all layers' K+V (up to the largest buffer), read and written once.
  r.copy_gbs = copy_gbs(ctx, layer_bytes * L, s.iters);
  r.copy_us = 2.0 * static_cast<double>(layer_bytes) / r.copy_gbs / 1e3;  // per layer's worth of bytes
  r.attention_gbs = static_cast<double>(layer_bytes) / (r.attention_us * 1e3);
  return r;
}

}  // namespace sinkstream
