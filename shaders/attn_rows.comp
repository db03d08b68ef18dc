#version 450
// [[unroll]] on loops that index register arrays: a rolled loop indexes them at run
// time, which keeps them out of registers (H100 prefill was 1.75x slower so).
#extension GL_EXT_control_flow_attributes : require
// Decode attention of many streams in one dispatch: workgroup (split, kv head,
// row), each row one stream's new token, its ring state from its descriptor
// and its K/V cache through the row's addresses. The math is attn_decode.comp's
// (the same body), so a row's output is bit for bit what the stream alone gets.
// Rows of the other KV type, and splits a row does not have, return at once.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#define PC_ATTN_ROWS
#include "kv_pc.glsl"
#include "kv_storage.glsl"
#include "attn_decode_body.glsl"
#include "decode_rows.glsl"

layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer KvUnits { KV_STORE u[]; };  // (kv_head, slot, HDU)
KvUnits k_ref, v_ref;
uint rows_;  // this row's cache rows: kv_heads * (sinks + window)
KV_UNIT load_k(uint i) { return KV_LOAD_UNIT(k_ref.u, rows_, i); }
KV_UNIT load_v(uint i) { return KV_LOAD_UNIT(v_ref.u, rows_, i); }

void main() {
  const uint row = gl_WorkGroupID.z;
  const DecodeRow d = rows[row];
  if (d.kv_type != pc.kv_type || gl_WorkGroupID.x >= d.n_splits) return;  // uniform per workgroup
  rows_ = pc.kv_heads * (d.sinks + d.window);
  k_ref = KvUnits(k_address(pc.layer, pc.max_rows, row));
  v_ref = KvUnits(v_address(pc.layer, pc.max_rows, row));
  P = DecodeParams(pc.heads, d.cache_sinks, d.sinks, d.window, d.ring_filled, d.keys_per_split, d.n_splits,
                   pc.scale, pc.softcap, pc.has_sink_logit != 0u, pc.sink_offset, row * pc.out_stride,
                   row * 2u * pc.heads * HD4, row * pc.part_rows, row * pc.kv_heads);
  decode_main(gl_WorkGroupID.x, gl_WorkGroupID.y);
}
