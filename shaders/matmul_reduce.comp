#version 450
// The end of a chunk product split along K (matmul_coop.comp with k_splits > 1):
// out[m][n] (+)= sum_s part[s][m][n] (+ bias[n]). The splits are added in order,
// so the result is the same from run to run.
#extension GL_GOOGLE_include_directive : require
#define PC_MATMUL_REDUCE
#include "model_pc.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Part { float part[]; };  // (split, token, n) from part_offset
layout(std430, binding = 1) readonly buffer Bias { float bias[]; };  // (n)
layout(std430, binding = 2) buffer Out { float o[]; };               // (token, n), strided

void main() {
  // Large chunks need more workgroups than one grid dimension allows.
  const uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x +
                 gl_LocalInvocationID.x;
  const uint count = pc.m_rows * pc.n_rows;
  if (i >= count) return;
  const uint m = i / pc.n_rows, n = i % pc.n_rows;
  float s = 0.0;
  for (uint k = 0u; k < pc.splits; ++k) s += part[pc.part_offset + k * count + i];
  if (pc.has_bias != 0u) s += bias[n];
  const uint at = pc.out_offset + m * pc.out_stride + n;
  o[at] = pc.accumulate != 0u ? o[at] + s : s;
}
