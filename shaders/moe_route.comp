#version 450
// Mixture-of-experts routing, one thread per token: the `used` experts with the
// highest router scores (ties to the lower index, as torch.topk keeps the first),
// and their weights, a softmax over the chosen scores only (gpt-oss). No host
// round trip: the expert products read the choice from sel.
#extension GL_GOOGLE_include_directive : require
#define PC_MOE_ROUTE
#include "model_pc.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Scores { float score[]; };  // (token, expert), bias added
layout(std430, binding = 1) writeonly buffer Sel { uint sel[]; };      // (token, slot) expert
layout(std430, binding = 2) writeonly buffer Weight { float wt[]; };   // (token, slot)

const uint kMaxUsed = 8u;  // the loader's bound on expert_used_count

void main() {
  const uint t = gl_GlobalInvocationID.x;
  if (t >= pc.n_tokens) return;
  const uint base = t * pc.experts;
  uint ids[kMaxUsed];
  float best[kMaxUsed];
  for (uint s = 0u; s < pc.used; ++s) {
    uint pick = pc.experts;
    float top = 0.0;
    for (uint e = 0u; e < pc.experts; ++e) {
      bool taken = false;
      for (uint j = 0u; j < s; ++j) taken = taken || ids[j] == e;
      // The first untaken expert stands until a higher score; a NaN score gives way to
      // any other, so NaN is chosen last (and the index stays valid either way).
      if (!taken && (pick == pc.experts || score[base + e] > top || isnan(top))) {
        pick = e;
        top = score[base + e];
      }
    }
    ids[s] = pick;
    best[s] = top;
  }
  float sum = 0.0;
  for (uint s = 0u; s < pc.used; ++s) sum += exp(best[s] - best[0]);
  for (uint s = 0u; s < pc.used; ++s) {
    sel[t * pc.used + s] = ids[s];
    wt[t * pc.used + s] = exp(best[s] - best[0]) / sum;
  }
}
