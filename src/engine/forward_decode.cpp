// The one-token (decode) path of the engine: each layer is six dispatches of
// matvec.comp and the KV cache, with RMSNorm fused into the products that read
// it and SwiGLU fused into the gate/up product. Taken where the device has
// subgroup arithmetic and every matrix's K suits the kernel; chunks (prefill)
// and other devices use the general kernels of engine.cpp.
#include <algorithm>

#include "engine/forward_layer.hpp"
#include "sinkstream/error.hpp"
#include "vk/context.hpp"
#include "vk/shader_registry.hpp"

namespace sinkstream::model {
namespace {

// Threads per matvec workgroup: from kMinGroup (a subgroup at least), doubled up
// to the row's units, at most kMaxGroup. Starting at 128 left most of a group idle
// on rows of few units (the small test models; on lavapipe that idle work cost
// most of a decode step). kGroup: the group the device must be able to run.
constexpr uint32_t kGroup = 128;
constexpr uint32_t kMinGroup = 32;
constexpr uint32_t kMaxGroup = 1024;
// Weight rows per workgroup (ROWS in matvec.comp). On the H100, giving large-K
// products more rows per workgroup (fewer re-reads of x, fewer workgroups) was
// slower at every size tried: 2 keeps the most workgroups in flight.
constexpr uint32_t kRows = kMatvecRows;
constexpr uint32_t kMaxSubgroups = 32;  // sg_sums[] in matvec.comp

// Weights per unit (one 16-byte load, or half a quantised block), as in matvec.comp.
uint32_t unit(GgmlType t) {
  return t == GgmlType::f32 ? 4 : (t == GgmlType::f16 || t == GgmlType::bf16) ? 8 : 16;
}

// K (columns) the kernel reads in whole 16-byte units or blocks.
bool k_fits(const GpuTensor& w) {
  switch (w.type) {
    case GgmlType::f32:
      return w.cols % 4 == 0;
    case GgmlType::f16:
    case GgmlType::bf16:
      return w.cols % 8 == 0;
    default:
      return w.cols % 32 == 0;
  }
}

// Threads per workgroup for rows of `units` 16-byte units: enough that each thread
// holds one unit of x and of each row where the device allows. On the H100 a
// 128-thread group holding 4-8 units per thread left ffn_down (K = 8192) at
// 0.7-1.4 TB/s: few, register-heavy groups in flight. Growing the group to one
// unit per thread made it 1.3-1.6x faster; two units per thread, or four rows per
// workgroup, were slower for F16 (one sweep, `docs/performance.md`).
uint32_t group_for(uint32_t units, const vk::DeviceInfo& info) {
  const uint32_t cap =
      std::min({kMaxGroup, info.max_workgroup_invocations, kMaxSubgroups * info.subgroup_size});
  uint32_t g = std::max(kMinGroup, info.subgroup_size);
  while (g * 2 <= cap && g < units) g *= 2;
  return g;
}

}  // namespace

bool matvec_available(const vk::DeviceInfo& info) {
  return info.subgroup_arithmetic && info.subgroup_size != 0 &&
         kGroup / std::min(info.subgroup_size, kGroup) <= kMaxSubgroups;
}

bool matvec_fits(const GpuTensor& w) { return k_fits(w); }

bool integer_dot(const vk::DeviceInfo& info) {
  const std::string e = vk::env("SINKSTREAM_INTEGER_DOT");
  if (e == "0") return false;
  return e == "1" ? info.integer_dot : info.integer_dot_fast;
}

bool has_integer_dot_kernel(GgmlType t) { return t == GgmlType::q8_0 || t == GgmlType::q4_0; }

vk::KernelDesc matvec_desc(const vk::DeviceInfo& info, const GpuTensor& w, bool norm, bool swiglu, bool int_dot) {
  const uint32_t units = w.cols / unit(w.type), group = group_for(units, info);
  const uint32_t units_per_thread = ceil_div(units, group);
  if (int_dot && !(info.integer_dot && has_integer_dot_kernel(w.type)))
    throw Error("internal error: an integer-dot product without the device feature or kernel");
  const std::string name = std::string(int_dot ? "matvec_idot_" : "matvec_") + weight_variant(w.type);
  // The embedded registry's name: the descriptor outlives this function's strings.
  return {vk::find_shader(name).name,
          6,
          sizeof(MatvecPC),
          {group, 1, 1},
          {{3, kRows}, {4, norm}, {5, swiglu}, {6, units_per_thread}}};
}

bool Forward::decode_path_available() const {
  if (!matvec_available(ctx_.info())) return false;
  bool ok = k_fits(model_.output());
  for (const GpuLayerWeights& l : model_.layers())
    for (const GpuTensor* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.gate, &l.up, &l.down})
      ok = ok && k_fits(*w);
  for (const GpuLayerWeights& l : model_.layers()) ok = ok && l.gate.type == l.up.type;
  return ok;
}

void Forward::bind_decode_sets() {
  if (!decode_path_available()) return;
  auto d = std::make_unique<DecodeSets>();
  const uint32_t sets = 6 * hp_.layers + 2;  // 6 products per layer; the logits from x and from gathered rows
  d->pool = ctx_.create_descriptor_pool(sets, sets * 6);
  const auto kernel = [&](const GpuTensor& w, bool norm, bool swiglu) -> const vk::Kernel& {
    const bool int_dot = integer_dot(ctx_.info()) && has_integer_dot_kernel(w.type);
    return ctx_.kernel(matvec_desc(ctx_.info(), w, norm, swiglu, int_dot));
  };
  const auto bind = [&](const vk::GpuBuffer& in, const GpuTensor& w,
                        const std::optional<GpuTensor>& bias, const vk::GpuBuffer& out,
                        const GpuTensor* norm, const GpuTensor* up) {
    const vk::GpuBuffer* b[] = {&in,
                                &w.buffer,
                                bias ? &bias->buffer : &model_.placeholder(),
                                &out,
                                norm ? &norm->buffer : &model_.placeholder(),
                                up ? &up->buffer : &model_.placeholder()};
    return Matvec{ctx_.bind(d->pool.get(), kernel(w, norm != nullptr, up != nullptr), b),
                  kRows};
  };
  for (const GpuLayerWeights& l : model_.layers()) {
    DecodeSets::LayerSets s;
    s.q = bind(x_, l.wq, l.bq, q_, &l.attn_norm, nullptr);
    s.k = bind(x_, l.wk, l.bk, k_, &l.attn_norm, nullptr);
    s.v = bind(x_, l.wv, l.bv, v_, &l.attn_norm, nullptr);
    s.o = bind(att_, l.wo, std::nullopt, x_, nullptr, nullptr);
    s.gate_up = bind(x_, l.gate, std::nullopt, gate_, &l.ffn_norm, &l.up);
    s.down = bind(gate_, l.down, std::nullopt, x_, nullptr, nullptr);
    d->layers.push_back(std::move(s));
  }
  d->logits =
      bind(x_, model_.output(), std::nullopt, logits_, &model_.output_norm(), nullptr);
  d->logits_gathered = bind(xn_, model_.output(), std::nullopt, logits_, nullptr, nullptr);
  decode_ = std::move(d);
}

void Forward::record_matvec(const Matvec& mv, const GpuTensor& w, bool accumulate, bool bias, uint32_t tokens) {
  const uint32_t groups = ceil_div(w.rows, mv.rows);
  const uint32_t gx = std::min(groups, ctx_.info().max_workgroup_count[0]);
  cmd_->dispatch(mv.set, MatvecPC{w.rows, w.cols, w.row_bytes, 0, 0, accumulate, bias, hp_.rms_eps, tokens},
                {gx, ceil_div(groups, gx), 1});
}

void Forward::record_layer_decode(uint32_t li, uint32_t n, LayerAttention& attention, uint32_t rope_row) {
  const GpuLayerWeights& l = model_.layers()[li];
  const auto& s = decode_->layers[li];
  const uint64_t qd = uint64_t{n} * hp_.heads * hp_.head_dim, kvd = uint64_t{n} * hp_.kv_heads * hp_.head_dim;
  record_matvec(s.q, l.wq, false, l.bq.has_value(), n);
  record_matvec(s.k, l.wk, false, l.bk.has_value(), n);
  record_matvec(s.v, l.wv, false, l.bv.has_value(), n);
  cmd_->compute_barrier();
  stamp("attn_norm+qkv");
  check(q_, qd, li, "attn_q (RMSNorm + matmul)");
  check(k_, kvd, li, "attn_k (RMSNorm + matmul)");
  check(v_, kvd, li, "attn_v (RMSNorm + matmul)");
  record_qk_norm(li, n);
  attention.record_layer(*cmd_, li, n, layer_io(li, rope_row));  // ends with a barrier
  stamp("kv_append+attention");
  check(att_, qd, li, "attention (RoPE, KV cache, softmax)");
  record_matvec(s.o, l.wo, true, false, n);
  cmd_->compute_barrier();
  stamp("attn_output");
  check(x_, uint64_t{n} * hp_.dim, li, "attn_output (matmul + residual)");
  record_matvec(s.gate_up, l.gate, false, false, n);
  cmd_->compute_barrier();
  stamp("ffn_norm+gate_up+swiglu");
  check(gate_, uint64_t{n} * hp_.ffn, li, "ffn_gate/up + SwiGLU (RMSNorm + matmuls)");
  record_matvec(s.down, l.down, true, false, n);
  cmd_->compute_barrier();
  stamp("ffn_down");
  check(x_, uint64_t{n} * hp_.dim, li, "ffn_down (matmul + residual)");
}

// The logits of the step's m logit rows. One row (the one-token step): RMSNorm
// fused into the product. Several: the final RMSNorm gathers them into rows
// 0..m-1 first, as in the chunk path.
void Forward::record_logits_decode(uint32_t m) {
  if (m == 0) return;
  const bool one = m == 1 && static_cast<const uint32_t*>(logit_rows_.mapped())[0] == 0;
  if (!one) {
    cmd_->dispatch(final_norm_set_, RmsNormPC{m, hp_.dim, hp_.rms_eps, 1}, {m, 1, 1});
    cmd_->compute_barrier();
    stamp("output_norm");
    check(xn_, uint64_t{m} * hp_.dim, UINT32_MAX, "output_norm (RMSNorm)");
  }
  record_matvec(one ? decode_->logits : decode_->logits_gathered, model_.output(), false, false, m);
  stamp(one ? "output_norm+logits" : "logits");
}

}  // namespace sinkstream::model
