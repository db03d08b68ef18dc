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
  uint32_t pad0;
};
static_assert(sizeof(EmbedPC) == 16);

// rmsnorm.comp: out[m] = x[m] / rms(x[m]) * w, one workgroup per row.
struct RmsNormPC {
  uint32_t n_rows;
  uint32_t dim;
  float eps;
  uint32_t pad0;
};
static_assert(sizeof(RmsNormPC) == 16);
static_assert(offsetof(RmsNormPC, eps) == 8);

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
  uint32_t pad0;
  uint32_t pad1;
};
static_assert(sizeof(MatmulPC) == 48);
static_assert(offsetof(MatmulPC, has_bias) == 36);

// swiglu.comp: gate[i] = silu(gate[i]) * up[i].
struct SwigluPC {
  uint32_t n;
  uint32_t pad0, pad1, pad2;
};
static_assert(sizeof(SwigluPC) == 16);

}  // namespace sinkstream::model
