#version 450
// Greedy pick on the GPU, for several decode steps per submission: the index of
// the largest of logits row `logit_row` (the first one on ties, as
// std::max_element) goes to ids[id_row], where the next step's embedding reads
// it, and to history[step]. One workgroup.
#extension GL_GOOGLE_include_directive : require
#define PC_ARGMAX
#include "model_pc.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Logits { float logits[]; };  // (row, vocab)
layout(std430, binding = 1) buffer Ids { uint ids[]; };                  // (token) the next step's input
layout(std430, binding = 2) buffer History { uint history[]; };          // (step)

const uint WG = gl_WorkGroupSize.x;
shared float best_v[WG];
shared uint best_i[WG];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  float v = -1.0 / 0.0;
  uint at = 0xffffffffu;
  for (uint i = tid; i < pc.n; i += WG) {
    const float l = logits[pc.logit_row * pc.n + i];
    if (l > v || at == 0xffffffffu) {
      v = l;
      at = i;
    }
  }
  best_v[tid] = v;
  best_i[tid] = at;
  barrier();
  for (uint s = WG / 2u; s > 0u; s >>= 1u) {
    if (tid < s) {
      const float ov = best_v[tid + s];
      const uint oi = best_i[tid + s];
      if (ov > best_v[tid] || (ov == best_v[tid] && oi < best_i[tid])) {
        best_v[tid] = ov;
        best_i[tid] = oi;
      }
    }
    barrier();
  }
  if (tid == 0u) {
    ids[pc.id_row] = best_i[0];
    history[pc.step] = best_i[0];
  }
}
