// Push-constant blocks of the model kernels, mirrored in shaders/include/model_pc.glsl.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sinkstream::model {

// embed.comp: out[m] = row ids[m] of the token embedding, dequantised.
struct EmbedPC {
  uint32_t n_tokens;
  uint32_t dim;
  uint32_t row_bytes;  // bytes of one embedding row in the weight's type
  float scale;         // the row times this (gemma: sqrt(dim)), else 1
};
static_assert(sizeof(EmbedPC) == 16);
static_assert(offsetof(EmbedPC, scale) == 12);

// rmsnorm.comp: out[m] = x[m] / rms(x[m]) * w, one workgroup per row
// (with gather: out[m] = norm(x[rows[m]]); with accumulate: out[m] += norm(x[m]),
// gemma's post-norms before the residual add).
struct RmsNormPC {
  uint32_t n_rows;
  uint32_t dim;
  float eps;
  uint32_t gather;
  uint32_t accumulate = 0;
  uint32_t pad0 = 0, pad1 = 0, pad2 = 0;
};
static_assert(sizeof(RmsNormPC) == 32);
static_assert(offsetof(RmsNormPC, eps) == 8);
static_assert(offsetof(RmsNormPC, gather) == 12);
static_assert(offsetof(RmsNormPC, accumulate) == 16);

// matmul.comp: out[m][n] (+)= sum_k x[m][k] * W[n][k] (+ bias[n]).
struct MatmulPC {
  uint32_t m_rows;      // tokens
  uint32_t n_rows;      // output features (weight rows)
  uint32_t k_cols;      // input features
  uint32_t row_bytes;   // bytes of one weight row
  uint32_t x_offset;    // float offset of token 0 in x
  uint32_t x_stride;    // floats between tokens in x
  uint32_t out_offset;  // float offset of token 0 in out
  uint32_t out_stride;  // floats between tokens in out
  uint32_t accumulate;  // 1: out += result (residual connections)
  uint32_t has_bias;
  // matmul_coop.comp only: workgroups along K (1: none). With more, split s of
  // token m writes its partial sum, without bias, at out_offset + (s * m_rows + m)
  // * out_stride, and matmul_reduce.comp adds them up.
  uint32_t k_splits;
  uint32_t pad0;
};
static_assert(sizeof(MatmulPC) == 48);
static_assert(offsetof(MatmulPC, has_bias) == 36);
static_assert(offsetof(MatmulPC, k_splits) == 40);

// matmul_reduce.comp: out[m][n] (+)= sum_s part[s][m][n] (+ bias[n]), the end of a
// product split along K. part is (split, token, n), dense from part_offset.
struct MatmulReducePC {
  uint32_t m_rows;
  uint32_t n_rows;
  uint32_t splits;
  uint32_t part_offset;  // floats
  uint32_t out_offset;
  uint32_t out_stride;
  uint32_t accumulate;
  uint32_t has_bias;
};
static_assert(sizeof(MatmulReducePC) == 32);
static_assert(offsetof(MatmulReducePC, has_bias) == 28);

// swiglu.comp: gate[i] = silu(gate[i]) * up[i].
// softcap.comp: x = cap * tanh(x / cap) in place (gemma2's final logits).
struct SoftcapPC {
  uint32_t n;
  float cap;
  uint32_t pad0, pad1;
};
static_assert(sizeof(SoftcapPC) == 16);
static_assert(offsetof(SoftcapPC, cap) == 4);

// swiglu.comp: gate = act(gate) * up with act SiLU, or GELU (tanh form) with
// gelu set; limit > 0: gpt-oss's clamped form (HParams::swiglu_limit, alpha).
struct SwigluPC {
  uint32_t n;
  uint32_t gelu;
  float limit;
  float alpha;
};
static_assert(sizeof(SwigluPC) == 16);
static_assert(offsetof(SwigluPC, gelu) == 4);
static_assert(offsetof(SwigluPC, limit) == 8);
static_assert(offsetof(SwigluPC, alpha) == 12);

// moe_route.comp: each token's `used` experts of `experts` router scores and their weights.
struct MoeRoutePC {
  uint32_t n_tokens;
  uint32_t experts;
  uint32_t used;
  uint32_t pad0;
};
static_assert(sizeof(MoeRoutePC) == 16);
static_assert(offsetof(MoeRoutePC, used) == 8);

// moe_matmul.comp: one product per (token, slot) pair with the expert routed to it.
struct MoeMatmulPC {
  uint32_t n_rows;      // rows of one expert's matrix
  uint32_t k_cols;
  uint32_t row_bytes;
  uint32_t slots;       // experts per token
  uint32_t x_per_pair;  // 1: input row = pair (the down product); 0: = the pair's token
  uint32_t has_bias;    // bias (expert, n_rows)
  uint32_t order_at;    // grouped (MT > 1): where the pair order begins in moe_group's buffer
  uint32_t pad0;
};
static_assert(sizeof(MoeMatmulPC) == 32);
static_assert(offsetof(MoeMatmulPC, slots) == 12);
static_assert(offsetof(MoeMatmulPC, has_bias) == 20);
static_assert(offsetof(MoeMatmulPC, order_at) == 24);

// moe_group.comp: a step's pairs grouped by expert into tiles for moe_matmul.comp.
struct MoeGroupPC {
  uint32_t pairs;
  uint32_t experts;
  uint32_t tile_pairs;  // most pairs of a tile (moe_matmul's MT)
  uint32_t max_tiles;   // tiles written (the last ones empty); the pair order follows them
};
static_assert(sizeof(MoeGroupPC) == 16);
static_assert(offsetof(MoeGroupPC, max_tiles) == 12);

// moe_combine.comp: x[token] += sum over its slots of weight * the slot's expert output.
struct MoeCombinePC {
  uint32_t n_tokens;
  uint32_t dim;
  uint32_t slots;
  uint32_t pad0;
};
static_assert(sizeof(MoeCombinePC) == 16);
static_assert(offsetof(MoeCombinePC, slots) == 8);

// matvec.comp: the decode product of a few tokens, with optional fused RMSNorm
// (eps used) and SwiGLU (spec constants).
struct MatvecPC {
  uint32_t n_rows;
  uint32_t k_cols;
  uint32_t row_bytes;
  uint32_t x_offset;  // floats
  uint32_t out_offset;
  uint32_t accumulate;
  uint32_t has_bias;
  float eps;
  uint32_t tokens = 1;  // x rows (k_cols apart) and out rows (n_rows apart) from the offsets
};
static_assert(sizeof(MatvecPC) == 36);
static_assert(offsetof(MatvecPC, eps) == 28);
static_assert(offsetof(MatvecPC, tokens) == 32);

// argmax.comp: ids[id_row] = history[step] = argmax of logits row `logit_row` (n floats).
struct ArgmaxPC {
  uint32_t n;
  uint32_t step;
  uint32_t logit_row;
  uint32_t id_row;
};
static_assert(sizeof(ArgmaxPC) == 16);
static_assert(offsetof(ArgmaxPC, step) == 4);
static_assert(offsetof(ArgmaxPC, id_row) == 12);

// check_finite.comp: status[0] = max(status[0], tag) if data[0..count) holds a NaN or Inf.
struct CheckFinitePC {
  uint32_t count;
  uint32_t tag;
  uint32_t pad0, pad1;
};
static_assert(sizeof(CheckFinitePC) == 16);
static_assert(offsetof(CheckFinitePC, tag) == 4);

}  // namespace sinkstream::model
