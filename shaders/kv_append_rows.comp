#version 450
#extension GL_EXT_control_flow_attributes : require
// kv_append.comp for one decode token of each of many streams: workgroup row y
// rotates its token's K (V passes through) into its stream's sink or ring slot,
// reached through the row's cache address, and rotates its query both ways
// (set 0 by stream index, set 1 by cache position) for attn_rows.comp. The
// arithmetic is kv_append.comp's, from the same RoPE table of the stream.
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

layout(buffer_reference, std430, buffer_reference_align = 8) writeonly buffer KvVecs { KV_VEC v[]; };
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

void main() {
  const uint row = gl_WorkGroupID.y, item = gl_GlobalInvocationID.x, hd4 = pc.head_dim / 4u;
  const DecodeRow d = rows[row];
  if (d.kv_f16 != pc.kv_f16) return;
  RopeRows rope = RopeRows(d.rope);
  const uint kv_items = pc.kv_heads * hd4;
  if (item < kv_items) {
    const uint c4 = item % hd4, h = item / hd4;
    const uint src = row * pc.kv_stride + h * pc.head_dim;
    vec4 k, v;
    [[unroll]] for (uint e = 0u; e < 4u; ++e) {
      k[e] = rotated(false, src, c4 * 4u + e, rope, 0u);
      v[e] = v_src[src + c4 * 4u + e];
    }
    const uint slot = d.is_sink != 0u ? d.sinks_before : d.sinks + d.ring_next;
    const uint dst = (h * (d.sinks + d.window) + slot) * hd4 + c4;
    KvVecs(k_address(pc.layer, pc.max_rows, row)).v[dst] = kv_pack(k);
    KvVecs(v_address(pc.layer, pc.max_rows, row)).v[dst] = kv_pack(v);
    return;
  }
  const uint q = item - kv_items;
  if (q >= 2u * pc.heads * hd4) return;
  const uint c4 = q % hd4, h = (q / hd4) % pc.heads, set = q / (hd4 * pc.heads);
  vec4 y;
  [[unroll]] for (uint e = 0u; e < 4u; ++e) y[e] = rotated(true, row * pc.q_stride + h * pc.head_dim, c4 * 4u + e, rope, set);
  q_rot[row * 2u * pc.heads * hd4 + q] = y;
}
