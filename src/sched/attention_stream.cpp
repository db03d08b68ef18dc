// AttentionStream: the public, host-facing driver of a KvCache. A step uploads
// q/k/v for every layer, records all layers into one command buffer, submits
// once and reads the outputs back.
#include <cmath>
#include <cstring>
#include <string>

#include "kv/kv_cache.hpp"
#include "sinkstream/error.hpp"
#include "sinkstream/stream.hpp"

namespace sinkstream {

struct AttentionStream::Impl {
  Impl(Gpu& gpu, const StreamConfig& c, uint64_t start)
      : ctx(gpu.context()), cfg(c), cache(ctx, c, start), cmd(ctx) {
    const uint64_t q_floats = uint64_t{cfg.layers} * cfg.max_chunk * cfg.heads * cfg.head_dim;
    const uint64_t kv_floats = uint64_t{cfg.layers} * cfg.max_chunk * cfg.kv_heads * cfg.head_dim;
    q = ctx.create_buffer(q_floats * 4, vk::MemoryUse::upload, "step queries");
    k = ctx.create_buffer(kv_floats * 4, vk::MemoryUse::upload, "step keys");
    v = ctx.create_buffer(kv_floats * 4, vk::MemoryUse::upload, "step values");
    out = ctx.create_buffer(q_floats * 4, vk::MemoryUse::readback, "step outputs");
    sinks = ctx.create_buffer(uint64_t{cfg.layers} * cfg.heads * 4, vk::MemoryUse::upload, "sink logits");
    std::memset(sinks.mapped(), 0, sinks.size());
    cache.bind({&q, &k, &v, &out, &sinks});
  }

  vk::Context& ctx;
  StreamConfig cfg;
  kv::KvCache cache;
  vk::CommandBuffer cmd;
  vk::GpuBuffer q, k, v, out, sinks;  // (layer, token, head|kv_head, head_dim); sinks (layer, head)
};

namespace {
void check_input(std::span<const float> x, uint64_t expected, const char* name) {
  if (x.size() != expected)
    throw InvalidArgument(std::string(name) + " has " + std::to_string(x.size()) + " floats, expected " +
                          std::to_string(expected));
  for (size_t i = 0; i < x.size(); ++i)
    if (!std::isfinite(x[i]))
      throw InvalidArgument(std::string(name) + "[" + std::to_string(i) + "] is not finite (" + std::to_string(x[i]) +
                            "); refusing to poison the cache");
}
}  // namespace

AttentionStream::AttentionStream(Gpu& gpu, const StreamConfig& cfg, uint64_t start_position)
    : impl_(std::make_unique<Impl>(gpu, cfg, start_position)) {}
AttentionStream::~AttentionStream() = default;
AttentionStream::AttentionStream(AttentionStream&&) noexcept = default;

const StreamConfig& AttentionStream::config() const { return impl_->cfg; }

void AttentionStream::set_sink_logits(std::span<const float> logits) {
  const auto& c = impl_->cfg;
  if (!c.learned_sinks) throw InvalidArgument("set_sink_logits needs a stream created with learned_sinks");
  check_input(logits, uint64_t{c.layers} * c.heads, "sink logits");
  std::memcpy(impl_->sinks.mapped(), logits.data(), logits.size_bytes());
}

void AttentionStream::step(std::span<const float> q, std::span<const float> k, std::span<const float> v,
                           uint32_t n, std::span<float> out) {
  Impl& s = *impl_;
  const auto& c = s.cfg;
  if (n == 0 || n > c.max_chunk)
    throw InvalidArgument("a step appends 1.." + std::to_string(c.max_chunk) + " tokens, not " + std::to_string(n));
  const uint32_t q_row = c.heads * c.head_dim, kv_row = c.kv_heads * c.head_dim;
  check_input(q, uint64_t{c.layers} * n * q_row, "q");
  check_input(k, uint64_t{c.layers} * n * kv_row, "k");
  check_input(v, uint64_t{c.layers} * n * kv_row, "v");
  if (out.size() != q.size()) throw InvalidArgument("out must have as many floats as q");

  std::memcpy(s.q.mapped(), q.data(), q.size_bytes());
  std::memcpy(s.k.mapped(), k.data(), k.size_bytes());
  std::memcpy(s.v.mapped(), v.data(), v.size_bytes());
  s.cache.prepare(n);
  s.cmd.begin();
  for (uint32_t l = 0; l < c.layers; ++l) {
    kv::LayerIo io;
    io.q_offset = io.out_offset = l * n * q_row;
    io.q_stride = io.out_stride = q_row;
    io.k_offset = io.v_offset = l * n * kv_row;
    io.kv_stride = kv_row;
    io.sink_offset = l * c.heads;
    s.cache.record_layer(s.cmd, l, n, io);
  }
  s.cmd.host_read_barrier();
  s.cmd.end();
  s.cmd.submit_and_wait();
  s.cache.advance(n);
  std::memcpy(out.data(), s.out.mapped(), out.size_bytes());
}

StreamCounters AttentionStream::counters() const {
  const auto& st = impl_->cache.state();
  StreamCounters c;
  c.tokens_seen = st.appended;
  c.evicted = st.evicted();
  c.slots_used = st.slots_used();
  c.capacity = st.sinks + st.window;
  c.device_bytes = impl_->cache.device_bytes() + impl_->q.size() + impl_->k.size() + impl_->v.size() +
                   impl_->out.size() + impl_->sinks.size();
  return c;
}

}  // namespace sinkstream
