#version 450
#extension GL_EXT_control_flow_attributes : require
// kv_append.comp for one decode token of each of many streams: workgroup row y
// rotates its token's K (V passes through) into its stream's sink or ring slot,
// reached through the row's cache address, and rotates its query both ways
// (set 0 by stream index, set 1 by cache position) for attn_rows.comp. The
// arithmetic is kv_append.comp's, from the same RoPE table of the stream, with
// the same groups: a q8_0 invocation quantises one block of K and of V.
#extension GL_GOOGLE_include_directive : require
#define PC_KV_APPEND_ROWS
#include "kv_pc.glsl"
#include "kv_storage.glsl"
#include "rope.glsl"
#include "decode_rows.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer KSrc { float k_src[]; };  // (row, kv_head, head_dim)
layout(std430, binding = 3) readonly buffer VSrc { float v_src[]; };  // (row, kv_head, head_dim)
layout(std430, binding = 4) readonly buffer QSrc { float q_src[]; };  // (row, head, head_dim)
layout(std430, binding = 5) writeonly buffer QRot { vec4 q_rot[]; };  // (row, set, head, head_dim / 4)

// Not writeonly: q8_0 sets its float16 scales with atomics.
layout(buffer_reference, std430, buffer_reference_align = 8) buffer KvVecs { KV_VEC v[]; };  // (kv_head, slot, head_dim / 4)
layout(buffer_reference, std430, buffer_reference_align = 8) readonly buffer RopeRows { vec2 r[]; };

// Element d of a row of `src` (k or q) at `base`, rotated by the table's set `set`.
float rotated(bool query, uint base, uint d, RopeRows rope, uint set) {
  uint pair, partner;
  bool first;
  const float x = query ? q_src[base + d] : k_src[base + d];
  if (!rope_pair(d, pc.rot_half, pc.neox != 0u, pair, partner, first)) return x;
  const float y = query ? q_src[base + partner] : k_src[base + partner];
  return rope_apply(x, y, first, rope.r[set * pc.rot_half + pair]);
}

// Stores vec4s c0 .. c0 + KV_GROUP - 1 (those of the row) of this row's K and V
// (source row `src`) at cache row `dst` of the stream's cache.
void store_group(DecodeRow d, uint row, uint src, uint c0, uint dst, RopeRows rope) {
  const uint hd4 = pc.head_dim / 4u, n4 = min(KV_GROUP, hd4 - c0);
  vec4 k[KV_GROUP], v[KV_GROUP];
  [[unroll]] for (uint j = 0u; j < KV_GROUP; ++j) {
    [[unroll]] for (uint e = 0u; e < 4u; ++e) {
      k[j][e] = j < n4 ? rotated(false, src, (c0 + j) * 4u + e, rope, 0u) : 0.0;
      v[j][e] = j < n4 ? v_src[src + (c0 + j) * 4u + e] : 0.0;
    }
  }
  KvVecs kb = KvVecs(k_address(pc.layer, pc.max_rows, row)), vb = KvVecs(v_address(pc.layer, pc.max_rows, row));
#if defined(KV_Q8_0)
  const uint rows = pc.kv_heads * (d.sinks + d.window);
  uint qk[8], qv[8];
  const uint dk = q8_quantise(k, n4, qk), dv = q8_quantise(v, n4, qv);
  KV_STORE_BLOCK(kb.v, rows, hd4, dst, c0, n4, qk, dk);
  KV_STORE_BLOCK(vb.v, rows, hd4, dst, c0, n4, qv, dv);
#else
  kb.v[dst * hd4 + c0] = kv_pack(k[0]);
  vb.v[dst * hd4 + c0] = kv_pack(v[0]);
#endif
}

void main() {
  const uint row = gl_WorkGroupID.y, item = gl_GlobalInvocationID.x, hd4 = pc.head_dim / 4u;
  const DecodeRow d = rows[row];
  if (d.kv_type != pc.kv_type) return;
  RopeRows rope = RopeRows(d.rope);
  const uint groups = (hd4 + KV_GROUP - 1u) / KV_GROUP, kv_items = pc.kv_heads * groups;
  if (item < kv_items) {
    const uint g = item % groups, h = item / groups;
    const uint slot = d.is_sink != 0u ? d.sinks_before : d.sinks + d.ring_next;
    store_group(d, row, row * pc.kv_stride + h * pc.head_dim, g * KV_GROUP, h * (d.sinks + d.window) + slot, rope);
    return;
  }
  const uint q = item - kv_items;
  if (q >= 2u * pc.heads * hd4) return;
  const uint c4 = q % hd4, h = (q / hd4) % pc.heads, set = q / (hd4 * pc.heads);
  vec4 y;
  [[unroll]] for (uint e = 0u; e < 4u; ++e) y[e] = rotated(true, row * pc.q_stride + h * pc.head_dim, c4 * 4u + e, rope, set);
  q_rot[row * 2u * pc.heads * hd4 + q] = y;
}
