#version 450
// [[unroll]] on loops that index register arrays: a rolled loop indexes them at run
// time, which keeps them out of registers (H100 prefill was 1.75x slower so).
#extension GL_EXT_control_flow_attributes : require
// out[m][n] (+)= sum_k x[m][k] * W[n][k] (+ bias[n]) for a block of RN weight
// rows and MT tokens per workgroup: each weight is read once per MT tokens.
// Threads stride over k; partial sums meet in shared memory.
#extension GL_GOOGLE_include_directive : require
#define PC_MATMUL
#define WEIGHTS_BINDING 1
#define W_COLS pc.k_cols
#include "model_pc.glsl"
#include "weights.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint RN = 2;  // weight rows per workgroup
layout(constant_id = 4) const uint MT = 8;  // tokens per workgroup
const uint WG = gl_WorkGroupSize.x;

layout(std430, binding = 0) readonly buffer X { vec4 x[]; };       // (token, k / 4), strided
layout(std430, binding = 2) readonly buffer Bias { float bias[]; }; // (n)
layout(std430, binding = 3) buffer Out { float o[]; };              // (token, n), strided

shared float partial[RN * MT * WG];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  // Rows may need more workgroups than one grid dimension allows (large vocabularies).
  const uint n0 = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * RN, m0 = gl_WorkGroupID.z * MT;
  if (n0 >= pc.n_rows) return;  // uniform per workgroup
  float acc[RN * MT];
  [[unroll]] for (uint i = 0u; i < RN * MT; ++i) acc[i] = 0.0;
  for (uint k = tid * 4u; k < pc.k_cols; k += WG * 4u) {
    vec4 xv[MT];
    [[unroll]] for (uint m = 0u; m < MT; ++m)
      xv[m] = m0 + m < pc.m_rows ? x[(pc.x_offset + (m0 + m) * pc.x_stride + k) / 4u] : vec4(0.0);
    [[unroll]] for (uint r = 0u; r < RN; ++r) {
      if (n0 + r >= pc.n_rows) break;
      const vec4 w = load_w4((n0 + r) * pc.row_bytes, k);
      [[unroll]] for (uint m = 0u; m < MT; ++m) acc[r * MT + m] += dot(w, xv[m]);
    }
  }
  [[unroll]] for (uint i = 0u; i < RN * MT; ++i) partial[i * WG + tid] = acc[i];
  barrier();
  if (tid < RN * MT) {
    const uint r = tid / MT, m = tid % MT, n = n0 + r;
    if (n < pc.n_rows && m0 + m < pc.m_rows) {
      float s = 0.0;
      for (uint j = 0u; j < WG; ++j) s += partial[tid * WG + j];
      if (pc.has_bias != 0u) s += bias[n];
      const uint at = pc.out_offset + (m0 + m) * pc.out_stride + n;
      o[at] = pc.accumulate != 0u ? o[at] + s : s;
    }
  }
}
