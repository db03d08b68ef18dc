#version 450
// [[unroll]] on loops that index register arrays: a rolled loop indexes them at run
// time, which keeps them out of registers (H100 prefill was 1.75x slower so).
#extension GL_EXT_control_flow_attributes : require
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
layout(std430, binding = 5) readonly buffer QSrc { float q_src[]; };   // (head, head_dim) + q_offset
layout(std430, binding = 6) writeonly buffer QRot { vec4 q_rot[]; };   // (set, head, head_dim / 4)

// Decode only: the query of token 0 rotated both ways (set 0: by its stream
// index, for window keys; set 1: by its cache position, for sink keys), so the
// attention kernel reads it ready-made.
void rotate_query(uint item) {
  const uint hd4 = pc.head_dim / 4u;
  const uint c4 = item % hd4, h = (item / hd4) % pc.q_heads, set = item / (hd4 * pc.q_heads);
  const uint src = pc.q_offset + h * pc.head_dim;
  vec4 y;
  [[unroll]] for (uint e = 0u; e < 4u; ++e) {
    const uint d = c4 * 4u + e;
    uint pair, partner;
    bool first;
    float x = q_src[src + d];
    if (rope_pair(d, pc.rot_half, pc.neox != 0u, pair, partner, first))
      x = rope_apply(x, q_src[src + partner], first, rope[(pc.rope_token * 2u + set) * pc.rot_half + pair]);
    y[e] = x;
  }
  q_rot[item] = y;
}

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
  const uint kv_items = pc.n_tokens * pc.kv_heads * hd4;
  if (gid >= kv_items) {
    if (gid < kv_items + 2u * pc.q_heads * hd4) rotate_query(gid - kv_items);
    return;
  }
  const uint c4 = gid % hd4;
  const uint h = (gid / hd4) % pc.kv_heads;
  const uint i = gid / (hd4 * pc.kv_heads);
  const uint slot = dest_slot(i);
  if (slot == ~0u) return;

  const uint ksrc = pc.k_offset + i * pc.src_stride + h * pc.head_dim;
  const uint vsrc = pc.v_offset + i * pc.src_stride + h * pc.head_dim;
  const uint table = (pc.rope_token + i) * 2u * pc.rot_half;
  vec4 k, v;
  [[unroll]] for (uint e = 0u; e < 4u; ++e) {
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
