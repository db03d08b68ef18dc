#include "engine/gpu_model.hpp"

#include <algorithm>
#include <cstring>
#include <span>

#include "sinkstream/error.hpp"

namespace sinkstream::model {
namespace {

// Q8_0 / Q4_0 rows in the GPU layout of weights.glsl: the quants of every block,
// then every block's float16 scale, then zeros up to a multiple of 16 bytes.
// Returns the new bytes per row.
uint32_t repack_blocks(const Tensor& t, std::vector<uint8_t>& out) {
  const bool q8 = t.type == GgmlType::q8_0;
  const uint64_t block = q8 ? 34 : 18, quants = block - 2, blocks = t.cols / 32;
  const uint64_t in_row = blocks * block;
  const auto row_bytes = static_cast<uint32_t>((blocks * block + 15) / 16 * 16);
  out.assign(t.rows * uint64_t{row_bytes}, 0);
  for (uint64_t r = 0; r < t.rows; ++r) {
    const uint8_t* src = t.data.data() + r * in_row;
    uint8_t* dst = out.data() + r * row_bytes;
    for (uint64_t b = 0; b < blocks; ++b) {
      std::memcpy(dst + b * quants, src + b * block + 2, quants);
      std::memcpy(dst + blocks * quants + b * 2, src + b * block, 2);
    }
  }
  return row_bytes;
}

}  // namespace

GpuTensor upload_tensor(vk::Context& ctx, const Tensor& t) {
  GpuTensor g;
  g.type = t.type;
  g.rows = static_cast<uint32_t>(t.rows);
  g.cols = static_cast<uint32_t>(t.cols);
  g.row_bytes = static_cast<uint32_t>(ggml_type_bytes(t.type, t.cols));
  std::vector<uint8_t> packed;
  if (t.type == GgmlType::q8_0 || t.type == GgmlType::q4_0) g.row_bytes = repack_blocks(t, packed);
  const std::span<const uint8_t> data = packed.empty() ? t.data : std::span<const uint8_t>(packed);
  // Round up so the shaders' 32-bit reads of the last row's tail stay in bounds.
  g.buffer = ctx.create_buffer((data.size() + 7) / 4 * 4 + 4, vk::MemoryUse::device,
                               "weights '" + t.name + "'");
  ctx.upload(g.buffer, data.data(), data.size());
  return g;
}

namespace {

uint64_t free_bytes(const vk::Context& ctx) {
  const uint64_t cap = ctx.memory_limit() ? ctx.memory_limit() : ctx.info().device_local_bytes;
  const uint64_t used = ctx.allocated_bytes();
  return cap > used ? cap - used : 0;
}

}  // namespace

std::string mib(uint64_t b) {
  return std::to_string((b + (1u << 19)) >> 20) + " MiB";
}

GpuModel::GpuModel(vk::Context& ctx, const ModelFile& m, uint64_t reserve_bytes)
    : ctx_(&ctx), hp_(m.hp), path_(m.path), weight_bytes_(m.weight_bytes()) {
  const bool capped = ctx.memory_limit() || ctx.info().device_local_bytes;
  if (capped && weight_bytes_ + reserve_bytes > free_bytes(ctx))
    throw OutOfDeviceMemory("'" + m.path + "' needs about " + mib(weight_bytes_ + reserve_bytes) +
                            " of device memory (weights " + mib(weight_bytes_) + ") but " +
                            ctx.info().name + " has " + mib(free_bytes(ctx)) +
                            (ctx.memory_limit() ? " left under the memory limit" : " available") +
                            ": try a more quantised model file");
  const uint64_t before = ctx.allocated_bytes();
  tok_embd_ = upload_tensor(ctx, m.tok_embd);
  output_norm_ = upload_tensor(ctx, m.output_norm);
  if (!m.tied_output) output_ = upload_tensor(ctx, m.output);
  std::vector<float> sink_logits;  // (layer, head)
  for (const auto& w : m.layers) {
    GpuLayerWeights l;
    l.attn_norm = upload_tensor(ctx, w.attn_norm);
    l.wq = upload_tensor(ctx, w.wq);
    l.wk = upload_tensor(ctx, w.wk);
    l.wv = upload_tensor(ctx, w.wv);
    l.wo = upload_tensor(ctx, w.wo);
    l.ffn_norm = upload_tensor(ctx, w.ffn_norm);
    l.gate = upload_tensor(ctx, w.w_gate);
    l.up = upload_tensor(ctx, w.w_up);
    l.down = upload_tensor(ctx, w.w_down);
    if (w.bq) l.bq = upload_tensor(ctx, *w.bq);
    if (w.bk) l.bk = upload_tensor(ctx, *w.bk);
    if (w.bv) l.bv = upload_tensor(ctx, *w.bv);
    if (w.q_norm) l.q_norm = upload_tensor(ctx, *w.q_norm);
    if (w.k_norm) l.k_norm = upload_tensor(ctx, *w.k_norm);
    if (w.post_attn_norm) l.post_attn_norm = upload_tensor(ctx, *w.post_attn_norm);
    if (w.post_ffn_norm) l.post_ffn_norm = upload_tensor(ctx, *w.post_ffn_norm);
    if (w.bo) l.bo = upload_tensor(ctx, *w.bo);
    if (w.router) l.router = upload_tensor(ctx, *w.router);
    if (w.router_b) l.router_b = upload_tensor(ctx, *w.router_b);
    if (w.gate_b) l.gate_b = upload_tensor(ctx, *w.gate_b);
    if (w.up_b) l.up_b = upload_tensor(ctx, *w.up_b);
    if (w.down_b) l.down_b = upload_tensor(ctx, *w.down_b);
    if (w.sinks) {
      const auto* f = reinterpret_cast<const float*>(w.sinks->data.data());
      sink_logits.insert(sink_logits.end(), f, f + hp_.heads);
    }
    layers_.push_back(std::move(l));
  }
  dummy_ = ctx.create_buffer(16, vk::MemoryUse::device, "placeholder");
  sinks_ = ctx.create_buffer(std::max<uint64_t>(sink_logits.size(), 1) * 4, vk::MemoryUse::device,
                             "sink logits");
  if (!sink_logits.empty()) ctx.upload(sinks_, sink_logits.data(), sink_logits.size() * 4);
  device_bytes_ = ctx.allocated_bytes() - before;
}

}  // namespace sinkstream::model
