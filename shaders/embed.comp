#version 450
// Token embedding lookup: one invocation per (token, 4 elements).
#extension GL_GOOGLE_include_directive : require
#define PC_EMBED
#define WEIGHTS_BINDING 1
#define W_COLS pc.dim
#include "model_pc.glsl"
#include "weights.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Ids { uint ids[]; };  // (token)
layout(std430, binding = 2) writeonly buffer Out { vec4 o[]; };   // (token, dim / 4)

void main() {
  const uint dim4 = pc.dim / 4u;
  const uint gid = gl_GlobalInvocationID.x;
  if (gid >= pc.n_tokens * dim4) return;
  const uint m = gid / dim4, c = gid % dim4;
  o[gid] = load_w4(ids[m] * pc.row_bytes, c * 4u) * pc.scale;
}
