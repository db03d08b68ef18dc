#include "kv/batch_decode.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "sinkstream/error.hpp"

namespace sinkstream::kv {
namespace {

constexpr uint32_t kAppendGroup = 64;

constexpr KvType kTypes[] = {KvType::f32, KvType::f16, KvType::q8_0};  // indexed by their value

StreamConfig with_kv(StreamConfig c, KvType t) {
  c.kv_type = t;
  return c;
}

}  // namespace

std::unique_ptr<BatchDecode> BatchDecode::make(vk::Context& ctx, const StreamConfig& shape, uint32_t max_rows) {
  if (!ctx.info().buffer_address || vk::env("SINKSTREAM_BATCH_DECODE") == "0") return nullptr;
  for (KvType t : kTypes)
    if (!decode_shape(ctx.info(), with_kv(shape, t)).ok) return nullptr;
  return std::make_unique<BatchDecode>(ctx, shape, max_rows);
}

BatchDecode::BatchDecode(vk::Context& ctx, const StreamConfig& shape, uint32_t max_rows)
    : ctx_(&ctx), shape_(shape), max_rows_(max_rows) {
  if (shape_.scale == 0.0f) shape_.scale = 1.0f / std::sqrt(static_cast<float>(shape_.head_dim));
  max_splits_ = max_decode_splits(ctx.info(), shape_);
  rot_half_ = static_cast<uint32_t>(rope_inv_freq(shape_.rope, shape_.head_dim).size());
  for (KvType t : kTypes) {
    Kernels& k = kernels_[static_cast<uint32_t>(t)];
    const StreamConfig c = with_kv(shape_, t);
    k.shape = decode_shape(ctx.info(), c);
    const std::string kv = kv_type_name(t);
    k.append = &ctx.kernel({"kv_append_rows_" + kv, 6, sizeof(KvAppendRowsPC), {kAppendGroup, 1, 1}, {}});
    k.attend = &ctx.kernel({"attn_rows_" + kv, 8, sizeof(AttnRowsPC), {k.shape.wg, 1, 1}, decode_spec(c, k.shape)});
  }
  const uint64_t rows = max_rows_, hd = shape_.head_dim, part_rows = uint64_t{shape_.heads} * max_splits_;
  rows_ = ctx.create_buffer(rows * sizeof(DecodeRow), vk::MemoryUse::upload, "decode row descriptors");
  addrs_ = ctx.create_buffer(uint64_t{shape_.layers} * rows * 16, vk::MemoryUse::upload, "cache addresses");
  q_rot_ = ctx.create_buffer(rows * 2 * shape_.heads * hd * 4, vk::MemoryUse::device, "rotated queries");
  part_acc_ = ctx.create_buffer(rows * part_rows * hd * 4, vk::MemoryUse::device, "attention partials");
  part_ml_ = ctx.create_buffer(rows * part_rows * 8, vk::MemoryUse::device, "attention partials");
  done_ = ctx.create_buffer(rows * shape_.kv_heads * 4, vk::MemoryUse::device, "split counters");
  const std::vector<uint32_t> zeros(rows * shape_.kv_heads, 0);
  ctx.upload(done_, zeros.data(), zeros.size() * 4);
  device_bytes_ = rows_.size() + addrs_.size() + q_rot_.size() + part_acc_.size() + part_ml_.size() + done_.size();
}

void BatchDecode::bind(const StepBuffers& io) {
  pool_ = ctx_->create_descriptor_pool(2 * kKvTypes, 2 * kKvTypes * 8);
  for (uint32_t t = 0; t < kKvTypes; ++t) {
    const vk::GpuBuffer* append[] = {io.k, &rows_, &addrs_, io.v, io.q, &q_rot_};
    const vk::GpuBuffer* attend[] = {&q_rot_, &rows_, &addrs_, &part_acc_, &part_ml_, io.sink_logits, io.out, &done_};
    append_sets_[t] = ctx_->bind(pool_.get(), *kernels_[t].append, append);
    attend_sets_[t] = ctx_->bind(pool_.get(), *kernels_[t].attend, attend);
  }
}

void BatchDecode::set_rows(std::span<const KvCache* const> caches, bool write) {
  if (caches.size() > max_rows_) throw Error("internal error: more decode rows than the batch holds");
  n_rows_ = static_cast<uint32_t>(caches.size());
  std::fill(std::begin(has_), std::end(has_), false);
  step_splits_ = 1;
  auto* rows = static_cast<DecodeRow*>(rows_.mapped());
  auto* addrs = static_cast<uint64_t*>(addrs_.mapped());  // (layer, row, K | V)
  for (uint32_t r = 0; r < n_rows_; ++r) {
    const KvCache& c = *caches[r];
    DecodeRow d{};
    c.describe_decode_row(d);
    if (d.n_splits > max_splits_) throw Error("internal error: a decode row splits more than the batch holds");
    has_[d.kv_type] = true;
    step_splits_ = std::max(step_splits_, d.n_splits);
    if (!write) continue;
    std::memcpy(rows + r, &d, sizeof d);
    for (uint32_t l = 0; l < shape_.layers; ++l) {
      addrs[(uint64_t{l} * max_rows_ + r) * 2] = c.k_buffer(l).address();
      addrs[(uint64_t{l} * max_rows_ + r) * 2 + 1] = c.v_buffer(l).address();
    }
  }
}

void BatchDecode::record_layer(vk::CommandBuffer& cmd, uint32_t layer, uint32_t sink_offset) const {
  if (n_rows_ == 0) return;
  const uint32_t hd4 = shape_.head_dim / 4;
  for (uint32_t t = 0; t < kKvTypes; ++t) {
    if (!has_[t]) continue;
    const uint32_t groups = vk::ceil_div(hd4, append_group(kTypes[t]));  // kv_append_rows.comp's invocations per row
    const uint32_t items = shape_.kv_heads * groups + 2 * shape_.heads * hd4;
    const KvAppendRowsPC pc{n_rows_, shape_.kv_heads, shape_.head_dim, rot_half_,
                            shape_.rope.style == RopeStyle::neox, shape_.heads, layer, max_rows_,
                            shape_.heads * shape_.head_dim, shape_.kv_heads * shape_.head_dim, t, 0};
    cmd.dispatch(append_sets_[t], pc, {vk::ceil_div(items, kAppendGroup), n_rows_, 1});
  }
  cmd.compute_barrier();
  for (uint32_t t = 0; t < kKvTypes; ++t) {
    if (!has_[t]) continue;
    const AttnRowsPC pc{shape_.heads, shape_.kv_heads, layer, max_rows_, shape_.scale, shape_.learned_sinks,
                        sink_offset, shape_.heads * shape_.head_dim, shape_.heads * max_splits_, t, shape_.softcap, 0};
    cmd.dispatch(attend_sets_[t], pc, {step_splits_, shape_.kv_heads, n_rows_});
  }
  cmd.compute_barrier();
}

}  // namespace sinkstream::kv
