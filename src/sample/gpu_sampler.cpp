#include "sample/gpu_sampler.hpp"

#include <cstring>

#include "sinkstream/error.hpp"

namespace sinkstream::model {

GpuSampler::GpuSampler(vk::Context& ctx, uint32_t vocab, uint32_t max_rows)
    : ctx_(&ctx), vocab_(vocab), max_rows_(max_rows) {
  kernel_ = &ctx.kernel({"sample_rows", 4, sizeof(SampleRowsPC), {256, 1, 1}, {}});
  rows_ = ctx.create_buffer(uint64_t{max_rows} * sizeof(SampleRow), vk::MemoryUse::upload, "sampling rows");
  recent_ = ctx.create_buffer(uint64_t{max_rows} * kMaxRecent * 8, vk::MemoryUse::upload, "sampling histories");
}

void GpuSampler::bind(const vk::GpuBuffer& logits, const vk::GpuBuffer& picks) {
  pool_ = ctx_->create_descriptor_pool(1, 4);
  const vk::GpuBuffer* b[] = {&logits, &rows_, &recent_, &picks};
  set_ = ctx_->bind(pool_.get(), *kernel_, b);
}

bool GpuSampler::takes(const SamplerConfig& cfg, size_t distinct_recent) {
  return cfg.top_k <= kMaxTopK && (cfg.repeat_penalty == 1.0f || distinct_recent <= kMaxRecent);
}

void GpuSampler::add(const SamplerConfig& cfg, std::span<const std::pair<int32_t, uint32_t>> recent, double u,
                     uint32_t logit_row, uint32_t slot) {
  if (n_rows_ == max_rows_) throw Error("internal error: more sampled rows than the GPU sampler holds");
  if (!takes(cfg, recent.size())) throw Error("internal error: a row the GPU sampler does not take");
  SampleRow r{};
  r.logit_row = logit_row;
  r.slot = slot;
  r.temperature = cfg.temperature;
  r.top_k = cfg.top_k;
  r.top_p = cfg.top_p;
  r.min_p = cfg.min_p;
  r.repeat_penalty = cfg.repeat_penalty;
  r.u = static_cast<float>(u);
  if (cfg.repeat_penalty != 1.0f) {
    auto* pairs = static_cast<uint32_t*>(recent_.mapped()) + uint64_t{n_rows_} * kMaxRecent * 2;  // (token, count)
    for (const auto& [token, count] : recent) {
      if (static_cast<uint32_t>(token) >= vocab_) break;  // sorted: the rest are past the vocabulary too
      pairs[2 * r.n_recent] = static_cast<uint32_t>(token);
      pairs[2 * r.n_recent + 1] = count;
      ++r.n_recent;
    }
  }
  std::memcpy(static_cast<SampleRow*>(rows_.mapped()) + n_rows_, &r, sizeof r);
  ++n_rows_;
}

void GpuSampler::reserve_row() {
  if (n_rows_ == max_rows_) throw Error("internal error: more sampled rows than the GPU sampler holds");
  ++n_rows_;
}

void GpuSampler::record(vk::CommandBuffer& cmd) const {
  if (n_rows_ == 0) return;
  cmd.compute_barrier();
  cmd.dispatch(set_, SampleRowsPC{vocab_, kMaxRecent}, {n_rows_, 1, 1});
}

}  // namespace sinkstream::model
