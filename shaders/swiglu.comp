#version 450
// SwiGLU: gate = silu(gate) * up, elementwise.
#extension GL_GOOGLE_include_directive : require
#define PC_SWIGLU
#include "model_pc.glsl"

#include "broken.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) buffer Gate { float g[]; };
layout(std430, binding = 1) readonly buffer Up { float u[]; };

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= pc.n) return;
  const float a = g[i];
  g[i] = a / (1.0 + exp(-a)) * u[i] * BROKEN_SCALE;
}
