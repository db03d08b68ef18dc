#version 450
#extension GL_EXT_control_flow_attributes : require
// The expert products of a mixture-of-experts FFN: for each (token, slot) pair
// p, out[p][n] = sum_k x[row(p)][k] * W[e(p)][n][k] + bias[e(p)][n], e(p) the
// expert moe_route.comp chose for that slot. Only the chosen experts' rows are
// read, so a token costs its active parameters, not all of them. One workgroup
// per RN rows of one pair; threads stride over k and meet in shared memory, as
// in matmul.comp (MT = 1: pairs of one expert do not share weight reads yet).
#extension GL_GOOGLE_include_directive : require
#define PC_MOE_MATMUL
#define WEIGHTS_BINDING 1
#define W_COLS pc.k_cols
#include "model_pc.glsl"
#include "weights.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint RN = 2;  // weight rows per workgroup
const uint WG = gl_WorkGroupSize.x;

layout(std430, binding = 0) readonly buffer X { vec4 x[]; };        // (token | pair, k / 4)
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };  // (expert, n)
layout(std430, binding = 3) writeonly buffer Out { float o[]; };     // (pair, n)
layout(std430, binding = 4) readonly buffer Sel { uint sel[]; };     // (pair) expert

shared float partial[RN * WG];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint n0 = gl_WorkGroupID.x * RN, p = gl_WorkGroupID.y;
  if (n0 >= pc.n_rows) return;  // uniform per workgroup
  const uint e = sel[p];
  const uint x_row = pc.x_per_pair != 0u ? p : p / pc.slots;
  const uint first_row = e * pc.n_rows;
  float acc[RN];
  [[unroll]] for (uint r = 0u; r < RN; ++r) acc[r] = 0.0;
  for (uint k = tid * 4u; k < pc.k_cols; k += WG * 4u) {
    const vec4 xv = x[(x_row * pc.k_cols + k) / 4u];
    [[unroll]] for (uint r = 0u; r < RN; ++r) {
      if (n0 + r >= pc.n_rows) break;
      acc[r] += dot(load_w4((first_row + n0 + r) * pc.row_bytes, k), xv);
    }
  }
  [[unroll]] for (uint r = 0u; r < RN; ++r) partial[r * WG + tid] = acc[r];
  barrier();
  if (tid < RN && n0 + tid < pc.n_rows) {
    const uint n = n0 + tid;
    float s = 0.0;
    for (uint j = 0u; j < WG; ++j) s += partial[tid * WG + j];
    if (pc.has_bias != 0u) s += bias[e * pc.n_rows + n];
    o[p * pc.n_rows + n] = s;
  }
}
