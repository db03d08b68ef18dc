#version 450
#extension GL_EXT_control_flow_attributes : require
// The expert products of a mixture-of-experts FFN: for each (token, slot) pair
// p, out[p][n] = sum_k x[row(p)][k] * W[e(p)][n][k] + bias[e(p)][n], e(p) the
// expert moe_route.comp chose for that slot. Only the chosen experts' rows are
// read, so a token costs its active parameters, not all of them. A workgroup
// takes RN rows of one pair (MT = 1: one-token steps, whose pairs all differ), or
// of a tile of up to MT pairs of one expert that moe_group.comp made (chunks: each
// weight is then read once per tile, as matmul.comp reads it once per MT tokens).
// Threads stride over k and meet in shared memory, as in matmul.comp; a pair's sum
// is formed in the same order either way.
#extension GL_GOOGLE_include_directive : require
#define PC_MOE_MATMUL
#define WEIGHTS_BINDING 1
#define W_COLS pc.k_cols
#include "model_pc.glsl"
#include "weights.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint RN = 2;  // weight rows per workgroup
layout(constant_id = 4) const uint MT = 1;  // pairs per workgroup: 1, or a tile of moe_group.comp's
const uint WG = gl_WorkGroupSize.x;

layout(std430, binding = 0) readonly buffer X { vec4 x[]; };        // (token | pair, k / 4)
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };  // (expert, n)
layout(std430, binding = 3) writeonly buffer Out { float o[]; };     // (pair, n)
layout(std430, binding = 4) readonly buffer Sel { uint sel[]; };     // (pair) expert
// MT > 1: (tile, 2) first position, pair count; then from order_at, (position) pair.
layout(std430, binding = 5) readonly buffer Group { uint grp[]; };

shared float partial[RN * MT * WG];

uint x_row(uint p) { return pc.x_per_pair != 0u ? p : p / pc.slots; }

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint n0 = gl_WorkGroupID.x * RN;
  if (n0 >= pc.n_rows) return;  // uniform per workgroup
  uint pair[MT];  // the workgroup's pairs; past `count`, copies of its last
  uint count = 1u;
  if (MT == 1u) {
    pair[0] = gl_WorkGroupID.y;
  } else {
    const uint tile = gl_WorkGroupID.y, first = grp[2u * tile];
    count = grp[2u * tile + 1u];
    if (count == 0u) return;  // a tile past the step's last: uniform
    [[unroll]] for (uint m = 0u; m < MT; ++m) pair[m] = grp[pc.order_at + first + min(m, count - 1u)];
  }
  const uint e = sel[pair[0]];
  const uint first_row = e * pc.n_rows;
  float acc[RN * MT];
  [[unroll]] for (uint i = 0u; i < RN * MT; ++i) acc[i] = 0.0;
  for (uint k = tid * 4u; k < pc.k_cols; k += WG * 4u) {
    vec4 xv[MT];
    [[unroll]] for (uint m = 0u; m < MT; ++m) xv[m] = x[(x_row(pair[m]) * pc.k_cols + k) / 4u];
    [[unroll]] for (uint r = 0u; r < RN; ++r) {
      if (n0 + r >= pc.n_rows) break;
      const vec4 w = load_w4((first_row + n0 + r) * pc.row_bytes, k);
      [[unroll]] for (uint m = 0u; m < MT; ++m) acc[r * MT + m] += dot(w, xv[m]);
    }
  }
  [[unroll]] for (uint i = 0u; i < RN * MT; ++i) partial[i * WG + tid] = acc[i];
  barrier();
  if (tid < RN * MT) {
    const uint r = tid / MT, m = tid % MT, n = n0 + r;
    if (n < pc.n_rows && m < count) {
      float s = 0.0;
      for (uint j = 0u; j < WG; ++j) s += partial[tid * WG + j];
      if (pc.has_bias != 0u) s += bias[e * pc.n_rows + n];
      o[pair[m] * pc.n_rows + n] = s;
    }
  }
}
