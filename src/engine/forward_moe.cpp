// The mixture-of-experts FFN (gpt-oss) of a step's rows, all on the GPU: the
// router's product, the top-k routing (moe_route.comp), each (row, slot) pair's
// gate and up products with its expert's rows only (moe_matmul.comp), the
// clamped SwiGLU, the down products, and the weighted residual add
// (moe_combine.comp). The routing never returns to the host, so a step with
// experts is one submission like any other. A chunk's pairs are first grouped by
// expert (moe_group.comp), so that its products read a chosen expert's rows once
// per tile of its pairs rather than once per pair.
#include <algorithm>
#include <string>

#include "engine/forward_layer.hpp"
#include "vk/context.hpp"

namespace sinkstream::model {
namespace {

// pairs: 1 (each pair alone) or kMoeTilePairs (tiles of one expert's pairs).
const vk::Kernel& moe_matmul_kernel(vk::Context& ctx, const GpuTensor& w, uint32_t pairs) {
  return ctx.kernel({std::string("moe_matmul_") + weight_variant(w.type),
                     6,
                     sizeof(MoeMatmulPC),
                     {matmul_group(w.cols), 1, 1},
                     {{3, kMatmulRows}, {4, pairs}}});
}

MoeMatmulPC moe_io(const GpuTensor& w, uint32_t n_rows, uint32_t slots, bool per_pair, bool bias, uint32_t tiles) {
  return {n_rows, w.cols, w.row_bytes, slots, per_pair ? 1u : 0u, bias ? 1u : 0u, 2 * tiles, 0};
}

}  // namespace

void Forward::bind_moe(Layer& l, VkDescriptorPool pool) {
  const GpuLayerWeights& w = *l.w;
  const vk::GpuBuffer& dummy = model_.placeholder();
  const auto& groups = ctx_.info().max_workgroup_count;
  const uint32_t pairs = rows_ * hp_.experts_used;
  if (ceil_div(std::max(hp_.ffn, hp_.dim), kMatmulRows) > groups[0] ||
      moe_max_tiles(pairs, hp_.experts) > groups[1])
    throw Error("'" + model_.path() + "': expert products of this size exceed the device's workgroup grid");
  const auto product = [&](const vk::GpuBuffer& in, const GpuTensor& m, const std::optional<GpuTensor>& bias,
                           const vk::GpuBuffer& out, uint32_t tile_pairs) {
    const vk::GpuBuffer* b[] = {&in, &m.buffer, bias ? &bias->buffer : &dummy, &out, &sel_, &moe_tiles_};
    return ctx_.bind(pool, moe_matmul_kernel(ctx_, m, tile_pairs), b);
  };
  const vk::GpuBuffer* r[] = {&router_, &sel_, &sel_w_};
  l.route = ctx_.bind(pool, *kernels_.moe_route, r);
  if (!moe_group_set_.set) {  // one for all layers: the same buffers
    const vk::GpuBuffer* g[] = {&sel_, &moe_tiles_};
    moe_group_set_ = ctx_.bind(pool, *kernels_.moe_group, g);
  }
  l.moe_gate = product(xn_, w.gate, w.gate_b, gate_, 1);
  l.moe_up = product(xn_, w.up, w.up_b, up_, 1);
  l.moe_gate_tiles = product(xn_, w.gate, w.gate_b, gate_, kMoeTilePairs);
  l.moe_up_tiles = product(xn_, w.up, w.up_b, up_, kMoeTilePairs);
  const vk::GpuBuffer* sw[] = {&gate_, &up_};
  l.swiglu = ctx_.bind(pool, *kernels_.swiglu, sw);
  l.moe_down = product(gate_, w.down, w.down_b, moe_out_, 1);
  l.moe_down_tiles = product(gate_, w.down, w.down_b, moe_out_, kMoeTilePairs);
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
  // Grouping pays where an expert is likely to have several of the step's pairs.
  const bool grouped = moe_grouped_ && pairs >= 2 * experts;
  const uint32_t tiles = grouped ? moe_max_tiles(pairs, experts) : pairs;  // workgroups along y
  if (grouped) {
    ++grouped_layers_;
    cmd_->dispatch(moe_group_set_, MoeGroupPC{pairs, experts, kMoeTilePairs, tiles}, {1, 1, 1});
    cmd_->compute_barrier();
    stamp("moe_group");
  }
  cmd_->dispatch(grouped ? l.moe_gate_tiles : l.moe_gate, moe_io(w.gate, ffn, slots, false, w.gate_b.has_value(), tiles),
                 {ceil_div(ffn, kMatmulRows), tiles, 1});
  cmd_->dispatch(grouped ? l.moe_up_tiles : l.moe_up, moe_io(w.up, ffn, slots, false, w.up_b.has_value(), tiles),
                 {ceil_div(ffn, kMatmulRows), tiles, 1});
  cmd_->compute_barrier();
  stamp("ffn_gate_up_exps");
  check(gate_, uint64_t{pairs} * ffn, li, "ffn_gate_exps (expert matmul)");
  check(up_, uint64_t{pairs} * ffn, li, "ffn_up_exps (expert matmul)");
  cmd_->dispatch(l.swiglu, SwigluPC{pairs * ffn, 0, hp_.swiglu_limit, hp_.swiglu_alpha},
                 {ceil_div(pairs * ffn, kElementwiseGroup), 1, 1});
  cmd_->compute_barrier();
  stamp("swiglu");
  check(gate_, uint64_t{pairs} * ffn, li, "SwiGLU (experts)");
  cmd_->dispatch(grouped ? l.moe_down_tiles : l.moe_down, moe_io(w.down, dim, slots, true, w.down_b.has_value(), tiles),
                 {ceil_div(dim, kMatmulRows), tiles, 1});
  cmd_->compute_barrier();
  stamp("ffn_down_exps");
  check(moe_out_, uint64_t{pairs} * dim, li, "ffn_down_exps (expert matmul)");
  cmd_->dispatch(l.combine, MoeCombinePC{n, dim, slots, 0}, {ceil_div(n * dim, kElementwiseGroup), 1, 1});
  cmd_->compute_barrier();
  stamp("moe_combine");
  check(x_, uint64_t{n} * dim, li, "expert sum + residual");
}

}  // namespace sinkstream::model
