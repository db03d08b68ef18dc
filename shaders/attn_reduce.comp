#version 450
// Combines the split partials of attn_split.comp into the attention output of
// one (head, query). A learned sink logit (gpt-oss) joins the softmax here once,
// as a logit with no value: it only adds exp(sink - max) to the denominator.
#extension GL_GOOGLE_include_directive : require
#define PC_ATTN_REDUCE
#include "kv_pc.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer PartAcc { vec4 part_acc[]; };  // (query, head, split, head_dim / 4)
layout(std430, binding = 1) readonly buffer PartML { vec2 part_ml[]; };    // (query, head, split): max, sum
layout(std430, binding = 2) readonly buffer Sinks { float sink_logit[]; }; // (layer, head)
layout(std430, binding = 3) writeonly buffer Out { vec4 o[]; };            // (query, head, head_dim / 4), strided

float neg_inf() { return uintBitsToFloat(0xff800000u); }

void main() {
  const uint head = gl_WorkGroupID.x, qi = gl_WorkGroupID.y;
  const uint hd4 = pc.head_dim / 4u;
  const uint base = (qi * pc.heads + head) * pc.n_splits;
  const bool has_sink = pc.has_sink_logit != 0u;
  const float sink = has_sink ? sink_logit[pc.sink_offset + head] : 0.0;

  float m = has_sink ? sink : neg_inf();
  for (uint s = 0u; s < pc.n_splits; ++s) m = max(m, part_ml[base + s].x);
  float l = has_sink ? exp(sink - m) : 0.0;
  for (uint s = 0u; s < pc.n_splits; ++s) {
    const vec2 ml = part_ml[base + s];
    if (ml.x != neg_inf()) l += ml.y * exp(ml.x - m);
  }
  const float inv_l = l > 0.0 ? 1.0 / l : 0.0;
  const uint out_base = (pc.out_offset + qi * pc.out_stride + head * pc.head_dim) / 4u;
  for (uint c = gl_LocalInvocationID.x; c < hd4; c += gl_WorkGroupSize.x) {
    vec4 acc = vec4(0.0);
    for (uint s = 0u; s < pc.n_splits; ++s) {
      const vec2 ml = part_ml[base + s];
      if (ml.x != neg_inf()) acc += part_acc[(base + s) * hd4 + c] * exp(ml.x - m);
    }
    o[out_base + c] = acc * inv_l;
  }
}
