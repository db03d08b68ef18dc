#version 450
// The mixture-of-experts residual add: x[t][d] += sum over t's slots s of
// weight[t][s] * y[t * slots + s][d], one thread per element.
#extension GL_GOOGLE_include_directive : require
#define PC_MOE_COMBINE
#include "model_pc.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) buffer X { float x[]; };                // (token, dim) residual
layout(std430, binding = 1) readonly buffer Y { float y[]; };       // (token, slot, dim) expert outputs
layout(std430, binding = 2) readonly buffer Weight { float wt[]; };  // (token, slot)

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= pc.n_tokens * pc.dim) return;
  const uint t = i / pc.dim, d = i % pc.dim;
  float s = 0.0;
  for (uint j = 0u; j < pc.slots; ++j) s += wt[t * pc.slots + j] * y[(t * pc.slots + j) * pc.dim + d];
  x[i] += s;
}
