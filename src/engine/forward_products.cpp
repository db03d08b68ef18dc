#include <algorithm>

#include "engine/forward_layer.hpp"
#include "vk/context.hpp"

namespace sinkstream::model {

void Forward::record_matmul(const MatmulSets& sets, uint32_t m, uint32_t n_rows, MatmulPC pc) {
  pc.m_rows = m;
  pc.n_rows = n_rows;
  const uint32_t groups = ceil_div(n_rows, kMatmulRows);
  const uint32_t gx = std::min(groups, ctx_.info().max_workgroup_count[0]);
  if (m > 1 && sets.coop.kernel) {
    const uint32_t tiles = ceil_div(n_rows, sets.coop_tile.rows);
    const uint32_t tx = std::min(tiles, ctx_.info().max_workgroup_count[0]);
    const uint32_t splits = k_splits(sets, m, n_rows, pc.k_cols);
    const std::array<uint32_t, 3> grid{tx, ceil_div(tiles, tx),
                                       ceil_div(m, sets.coop_tile.tokens) * splits};
    if (splits == 1) return cmd_->dispatch(sets.coop, pc, grid);
    // The partial sums go to part_; end_products() adds them into out.
    const MatmulReducePC r{m,
                           n_rows,
                           splits,
                           static_cast<uint32_t>(part_used_),
                           pc.out_offset,
                           pc.out_stride,
                           pc.accumulate,
                           pc.has_bias};
    pc.out_offset = r.part_offset;
    pc.out_stride = n_rows;
    pc.accumulate = pc.has_bias = 0;
    pc.k_splits = splits;
    cmd_->dispatch(sets.coop_split, pc, grid);
    part_used_ += uint64_t{splits} * m * n_rows;
    ++split_products_;
    reduces_.emplace_back(&sets.reduce, r);
    return;
  }
  // One token (decode) takes the MT = 1 variant: no work on empty token slots.
  if (m == 1)
    cmd_->dispatch(sets.one, pc, {gx, ceil_div(groups, gx), 1});
  else
    cmd_->dispatch(sets.many, pc, {gx, ceil_div(groups, gx), ceil_div(m, kMatmulTokens)});
}

uint32_t Forward::k_splits(const MatmulSets& sets, uint32_t m, uint32_t n_rows, uint32_t k) const {
  if (!sets.reduce.kernel || !sets.coop_tile.k_splits) return 1;
  const uint32_t tiles = ceil_div(n_rows, sets.coop_tile.rows) * ceil_div(m, sets.coop_tile.tokens);
  uint32_t s = coop_k_splits(tiles, k, split_target_);
  while (s > 1 && part_used_ + uint64_t{s} * m * n_rows > part_.size() / 4) s /= 2;
  return s;
}

void Forward::end_products() {
  cmd_->compute_barrier();
  if (reduces_.empty()) return;
  for (const auto& [set, pc] : reduces_) {
    const uint32_t groups = ceil_div(pc.m_rows * pc.n_rows, kSplitReduceGroup);
    const uint32_t gx = std::min(groups, ctx_.info().max_workgroup_count[0]);
    cmd_->dispatch(*set, pc, {gx, ceil_div(groups, gx), 1});
  }
  cmd_->compute_barrier();
  reduces_.clear();
  part_used_ = 0;
}

void Forward::record_ffn_in(uint32_t li, uint32_t n) {
  const Layer& l = layers_[li];
  const GpuLayerWeights& w = *l.w;
  const uint32_t dim = hp_.dim, ffn = hp_.ffn;
  if (n > 1 && l.glu.kernel) {
    MatmulPC pc = matmul_io(w.gate, dim, ffn, false, false);
    pc.m_rows = n;
    pc.n_rows = ffn;
    const uint32_t tiles = ceil_div(ffn, l.glu_tile.rows / 2);
    const uint32_t tx = std::min(tiles, ctx_.info().max_workgroup_count[0]);
    cmd_->dispatch(l.glu, pc, {tx, ceil_div(tiles, tx), ceil_div(n, l.glu_tile.tokens)});
    cmd_->compute_barrier();
    stamp("ffn_gate_up+swiglu");
    return check(gate_, uint64_t{n} * ffn, li, "ffn_gate_up + SwiGLU (matmul)");
  }
  record_matmul(l.gate_set, n, ffn, matmul_io(w.gate, dim, ffn, false, false));
  record_matmul(l.up_set, n, ffn, matmul_io(w.up, dim, ffn, false, false));
  end_products();
  stamp("ffn_gate_up");
  check(gate_, uint64_t{n} * ffn, li, "ffn_gate (matmul)");
  check(up_, uint64_t{n} * ffn, li, "ffn_up (matmul)");
  cmd_->dispatch(l.swiglu, SwigluPC{n * ffn, hp_.gelu_ffn ? 1u : 0u, 0, 0},
                 {ceil_div(n * ffn, kElementwiseGroup), 1, 1});
  cmd_->compute_barrier();
  stamp(hp_.gelu_ffn ? "geglu" : "swiglu");
  check(gate_, uint64_t{n} * ffn, li, hp_.gelu_ffn ? "GeGLU" : "SwiGLU");
}

bool Forward::fused_glu() const {
  return !layers_.empty() && layers_[0].glu.kernel;
}

}  // namespace sinkstream::model
