#version 450
// SwiGLU: gate = silu(gate) * up, elementwise; GeGLU (gemma) with pc.gelu:
// gelu(gate) * up, GELU in its tanh form as gelu_pytorch_tanh and ggml compute it;
// with pc.limit > 0, gpt-oss's clamped SwiGLU (transformers' GptOssExperts).
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
  float a = g[i];
  if (pc.limit > 0.0) {  // gpt-oss: min(gate, limit) * sigmoid(alpha * it) * (clamp(up) + 1)
    a = min(a, pc.limit);
    g[i] = a / (1.0 + exp(-pc.alpha * a)) * (clamp(u[i], -pc.limit, pc.limit) + 1.0) * BROKEN_SCALE;
    return;
  }
  float act;
  if (pc.gelu != 0u) {
    // tanh(y) as 1 - 2 / (exp(2y) + 1): exact at both ends where exp overflows or vanishes.
    const float y = 0.7978845608028654 * (a + 0.044715 * a * a * a);
    act = 0.5 * a * (2.0 - 2.0 / (exp(2.0 * y) + 1.0));
  } else {
    act = a / (1.0 + exp(-a));
  }
  g[i] = act * u[i] * BROKEN_SCALE;
}
