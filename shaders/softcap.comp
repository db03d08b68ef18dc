#version 450
// gemma2's final logit soft-capping, in place: x = cap * tanh(x / cap), tanh
// written as 1 - 2 / (exp(2y) + 1) (exact where exp overflows or vanishes).
#extension GL_GOOGLE_include_directive : require
#define PC_SOFTCAP
#include "model_pc.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) buffer X { float x[]; };  // (row, vocab)

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= pc.n) return;
  x[i] = pc.cap * (1.0 - 2.0 / (exp(2.0 * x[i] / pc.cap) + 1.0));
}
