#version 450
// RMSNorm of one row per workgroup: out = x / sqrt(mean(x^2) + eps) * w, or
// out += that with accumulate (gemma's post-norms add into the residual).
// With gather on, out row i is the norm of x row rows[i] (the final norm
// before the logits takes only the rows whose logits are wanted). In place
// (x and out the same buffer) is allowed: each thread reads its elements before
// writing them.
#extension GL_GOOGLE_include_directive : require
#define PC_RMSNORM
#include "model_pc.glsl"

#include "broken.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };    // (row, dim)
layout(std430, binding = 1) readonly buffer W { float w[]; };    // (dim)
layout(std430, binding = 2) buffer Out { float o[]; };           // (row, dim)
layout(std430, binding = 3) readonly buffer Rows { uint rows[]; }; // (out row) x row, with gather

shared float partial[gl_WorkGroupSize.x];

// Rows past the dispatch's workgroup count (qwen3's per-head norms of a long
// chunk can outnumber maxComputeWorkGroupCount) loop with its stride.
void main() {
  const uint tid = gl_LocalInvocationID.x, n = gl_WorkGroupSize.x;
  for (uint row = gl_WorkGroupID.x; row < pc.n_rows; row += gl_NumWorkGroups.x) {
    const uint base = (pc.gather != 0u ? rows[row] : row) * pc.dim, dst = row * pc.dim;
    float ss = 0.0;
    for (uint i = tid; i < pc.dim; i += n) ss += x[base + i] * x[base + i];
    partial[tid] = ss;
    barrier();
    for (uint s = n / 2u; s > 0u; s >>= 1u) {
      if (tid < s) partial[tid] += partial[tid + s];
      barrier();
    }
    const float inv = inversesqrt(partial[0] / float(pc.dim) + pc.eps);
    for (uint i = tid; i < pc.dim; i += n) {
      const float y = x[base + i] * inv * w[i] * BROKEN_SCALE;
      o[dst + i] = pc.accumulate != 0u ? o[dst + i] + y : y;
    }
    barrier();  // partial[0] is read above before the next row writes it
  }
}
