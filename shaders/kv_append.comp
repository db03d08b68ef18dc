#version 450
// Rotates the K of n new tokens (V passes through) and stores both, either into
// the chunk-local staging area (to_cache = 0) or into their sink / ring slots
// (to_cache = 1). One invocation per (token, kv head, 4 elements).
#extension GL_GOOGLE_include_directive : require
#define PC_KV_APPEND
#include "kv_pc.glsl"
#include "kv_storage.glsl"
#include "rope.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer KSrc { float k_src[]; };   // (token, kv_head, head_dim) + offset
layout(std430, binding = 1) readonly buffer VSrc { float v_src[]; };   // (token, kv_head, head_dim) + offset
layout(std430, binding = 2) readonly buffer Rope { vec2 rope[]; };     // (token, set, rot_half): set 0 = own angle
layout(std430, binding = 3) writeonly buffer KDst { KV_VEC k_dst[]; }; // (kv_head, slot, head_dim / 4)
layout(std430, binding = 4) writeonly buffer VDst { KV_VEC v_dst[]; }; // (kv_head, slot, head_dim / 4)

// Destination slot of chunk token i, or ~0u when a later token of the same chunk
// overwrites that ring slot anyway (only the last W window tokens survive).
uint dest_slot(uint i) {
  if (pc.to_cache == 0u) return i;
  if (i < pc.chunk_sinks) return pc.sinks_before + i;
  const uint w = i - pc.chunk_sinks;
  const uint chunk_window = pc.n_tokens - pc.chunk_sinks;
  if (w + pc.window < chunk_window) return ~0u;
  return pc.sinks + (pc.ring_next + w) % pc.window;
}

void main() {
  const uint hd4 = pc.head_dim / 4u;
  const uint gid = gl_GlobalInvocationID.x;
  if (gid >= pc.n_tokens * pc.kv_heads * hd4) return;
  const uint c4 = gid % hd4;
  const uint h = (gid / hd4) % pc.kv_heads;
  const uint i = gid / (hd4 * pc.kv_heads);
  const uint slot = dest_slot(i);
  if (slot == ~0u) return;

  const uint ksrc = pc.k_offset + i * pc.src_stride + h * pc.head_dim;
  const uint vsrc = pc.v_offset + i * pc.src_stride + h * pc.head_dim;
  const uint table = i * 2u * pc.rot_half;
  vec4 k, v;
  for (uint e = 0u; e < 4u; ++e) {
    const uint d = c4 * 4u + e;
    uint pair, partner;
    bool first;
    float x = k_src[ksrc + d];
    if (rope_pair(d, pc.rot_half, pc.neox != 0u, pair, partner, first))
      x = rope_apply(x, k_src[ksrc + partner], first, rope[table + pair]);
    k[e] = x;
    v[e] = v_src[vsrc + d];
  }
  const uint dst = (h * pc.dst_slots + slot) * hd4 + c4;
  k_dst[dst] = kv_pack(k);
  v_dst[dst] = kv_pack(v);
}
