#version 450
// [[unroll]] on loops that index register arrays: a rolled loop indexes them at run
// time, which keeps them out of registers (H100 prefill was 1.75x slower so).
#extension GL_EXT_control_flow_attributes : require
// Rotates the K of n new tokens (V passes through) and stores both, either into
// the chunk-local staging area (to_cache = 0) or into their sink / ring slots
// (to_cache = 1). One invocation per (token, kv head, KV_GROUP vec4s): 4 elements,
// or for q8_0 caches one block, which it quantises (once: a stored key is never
// rewritten, and a staged key is quantised exactly as its commit will be).
#extension GL_GOOGLE_include_directive : require
#define PC_KV_APPEND
#include "kv_pc.glsl"
#include "kv_storage.glsl"
#include "rope.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer KSrc { float k_src[]; };   // (token, kv_head, head_dim) + offset
layout(std430, binding = 1) readonly buffer VSrc { float v_src[]; };   // (token, kv_head, head_dim) + offset
layout(std430, binding = 2) readonly buffer Rope { vec2 rope[]; };     // (token, set, rot_half): set 0 = own angle
// Not writeonly: q8_0 sets its float16 scales with atomics (kv_storage.glsl has its planes).
layout(std430, binding = 3) buffer KDst { KV_VEC k_dst[]; };  // (kv_head, slot, head_dim / 4)
layout(std430, binding = 4) buffer VDst { KV_VEC v_dst[]; };  // (kv_head, slot, head_dim / 4)
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

// Vec4 c4 of token i's K (rotated) or V for kv head h.
vec4 source_vec4(bool key, uint i, uint h, uint c4) {
  const uint src = (key ? pc.k_offset : pc.v_offset) + i * pc.src_stride + h * pc.head_dim;
  const uint table = (pc.rope_token + i) * 2u * pc.rot_half;
  vec4 y;
  [[unroll]] for (uint e = 0u; e < 4u; ++e) {
    const uint d = c4 * 4u + e;
    uint pair, partner;
    bool first;
    if (!key) {
      y[e] = v_src[src + d];
      continue;
    }
    float x = k_src[src + d];
    if (rope_pair(d, pc.rot_half, pc.neox != 0u, pair, partner, first))
      x = rope_apply(x, k_src[src + partner], first, rope[table + pair]);
    y[e] = x;
  }
  return y;
}

// Stores vec4s c0 .. c0 + KV_GROUP - 1 (those of the row) of token i, kv head h, at `row`.
void store_group(uint i, uint h, uint c0, uint row) {
  const uint hd4 = pc.head_dim / 4u, n4 = min(KV_GROUP, hd4 - c0);
  vec4 k[KV_GROUP], v[KV_GROUP];
  [[unroll]] for (uint j = 0u; j < KV_GROUP; ++j) {
    k[j] = j < n4 ? source_vec4(true, i, h, c0 + j) : vec4(0.0);
    v[j] = j < n4 ? source_vec4(false, i, h, c0 + j) : vec4(0.0);
  }
#if defined(KV_Q8_0)
  const uint rows = pc.kv_heads * pc.dst_slots;
  uint qk[8], qv[8];
  const uint dk = q8_quantise(k, n4, qk), dv = q8_quantise(v, n4, qv);
  KV_STORE_BLOCK(k_dst, rows, hd4, row, c0, n4, qk, dk);
  KV_STORE_BLOCK(v_dst, rows, hd4, row, c0, n4, qv, dv);
#else
  k_dst[row * hd4 + c0] = kv_pack(k[0]);
  v_dst[row * hd4 + c0] = kv_pack(v[0]);
#endif
}

void main() {
  const uint hd4 = pc.head_dim / 4u, groups = (hd4 + KV_GROUP - 1u) / KV_GROUP;
  const uint gid = gl_GlobalInvocationID.x;
  const uint kv_items = pc.n_tokens * pc.kv_heads * groups;
  if (gid >= kv_items) {
    if (gid < kv_items + 2u * pc.q_heads * hd4) rotate_query(gid - kv_items);
    return;
  }
  const uint g = gid % groups;
  const uint h = (gid / groups) % pc.kv_heads;
  const uint i = gid / (groups * pc.kv_heads);
  const uint slot = dest_slot(i);
  if (slot == ~0u) return;
  store_group(i, h, g * KV_GROUP, h * pc.dst_slots + slot);
}
