// The mixture-of-experts FFN (gpt-oss) of a step's rows, all on the GPU: the
// router's product, the top-k routing (moe_route.comp), each (row, slot) pair's
// gate and up products with its expert's rows only (moe_matmul.comp), the
// clamped SwiGLU, the down products, and the weighted residual add
// (moe_combine.comp). The routing never returns to the host, so a step with
// experts is one submission like any other.
#include <algorithm>
#include <string>

#include "engine/forward_layer.hpp"
#include "vk/context.hpp"

namespace sinkstream::model {
namespace {

const vk::Kernel& moe_matmul_kernel(vk::Context& ctx, GgmlType t) {
  return ctx.kernel({std::string("moe_matmul_") + weight_variant(t),
                     5,
                     sizeof(MoeMatmulPC),
                     {kMatmulGroup, 1, 1},
                     {{3, kMatmulRows}}});
}

MoeMatmulPC moe_io(const GpuTensor& w, uint32_t n_rows, uint32_t slots, bool per_pair, bool bias) {
  return {n_rows, w.cols, w.row_bytes, slots, per_pair ? 1u : 0u, bias ? 1u : 0u, 0, 0};
}

}  // namespace

void Forward::bind_moe(Layer& l, VkDescriptorPool pool) {
  const GpuLayerWeights& w = *l.w;
  const vk::GpuBuffer& dummy = model_.placeholder();
  const auto& groups = ctx_.info().max_workgroup_count;
  if (ceil_div(std::max(hp_.ffn, hp_.dim), kMatmulRows) > groups[0] || rows_ * hp_.experts_used > groups[1])
    throw Error("'" + model_.path() + "': expert products of this size exceed the device's workgroup grid");
  const auto product = [&](const vk::GpuBuffer& in, const GpuTensor& m, const std::optional<GpuTensor>& bias,
                           const vk::GpuBuffer& out) {
    const vk::GpuBuffer* b[] = {&in, &m.buffer, bias ? &bias->buffer : &dummy, &out, &sel_};
    return ctx_.bind(pool, moe_matmul_kernel(ctx_, m.type), b);
  };
  const vk::GpuBuffer* r[] = {&router_, &sel_, &sel_w_};
  l.route = ctx_.bind(pool, *kernels_.moe_route, r);
  l.moe_gate = product(xn_, w.gate, w.gate_b, gate_);
  l.moe_up = product(xn_, w.up, w.up_b, up_);
  const vk::GpuBuffer* sw[] = {&gate_, &up_};
  l.swiglu = ctx_.bind(pool, *kernels_.swiglu, sw);
  l.moe_down = product(gate_, w.down, w.down_b, moe_out_);
  const vk::GpuBuffer* c[] = {&x_, &moe_out_, &sel_w_};
  l.combine = ctx_.bind(pool, *kernels_.moe_combine, c);
}

void Forward::record_moe(uint32_t li, uint32_t n) {
  const Layer& l = layers_[li];
  const GpuLayerWeights& w = *l.w;
  const uint32_t dim = hp_.dim, ffn = hp_.ffn, experts = hp_.experts, slots = hp_.experts_used;
  const uint32_t pairs = n * slots;
  record_matmul(l.router, n, experts, matmul_io(*w.router, dim, experts, false, w.router_b.has_value()));
  end_products();
  stamp("ffn_gate_inp");
  check(router_, uint64_t{n} * experts, li, "ffn_gate_inp (router matmul)");
  cmd_->dispatch(l.route, MoeRoutePC{n, experts, slots, 0}, {ceil_div(n, kElementwiseGroup), 1, 1});
  cmd_->compute_barrier();
  stamp("moe_route");
  cmd_->dispatch(l.moe_gate, moe_io(w.gate, ffn, slots, false, w.gate_b.has_value()),
                 {ceil_div(ffn, kMatmulRows), pairs, 1});
  cmd_->dispatch(l.moe_up, moe_io(w.up, ffn, slots, false, w.up_b.has_value()),
                 {ceil_div(ffn, kMatmulRows), pairs, 1});
  cmd_->compute_barrier();
  stamp("ffn_gate_up_exps");
  check(gate_, uint64_t{pairs} * ffn, li, "ffn_gate_exps (expert matmul)");
  check(up_, uint64_t{pairs} * ffn, li, "ffn_up_exps (expert matmul)");
  cmd_->dispatch(l.swiglu, SwigluPC{pairs * ffn, 0, hp_.swiglu_limit, hp_.swiglu_alpha},
                 {ceil_div(pairs * ffn, kElementwiseGroup), 1, 1});
  cmd_->compute_barrier();
  stamp("swiglu");
  check(gate_, uint64_t{pairs} * ffn, li, "SwiGLU (experts)");
  cmd_->dispatch(l.moe_down, moe_io(w.down, dim, slots, true, w.down_b.has_value()),
                 {ceil_div(dim, kMatmulRows), pairs, 1});
  cmd_->compute_barrier();
  stamp("ffn_down_exps");
  check(moe_out_, uint64_t{pairs} * dim, li, "ffn_down_exps (expert matmul)");
  cmd_->dispatch(l.combine, MoeCombinePC{n, dim, slots, 0}, {ceil_div(n * dim, kElementwiseGroup), 1, 1});
  cmd_->compute_barrier();
  stamp("moe_combine");
  check(x_, uint64_t{n} * dim, li, "expert sum + residual");
}

}  // namespace sinkstream::model
