#version 450
// [[unroll]] on loops that index register arrays: a rolled loop indexes them at run
// time, which keeps them out of registers (H100 prefill was 1.75x slower so).
#extension GL_EXT_control_flow_attributes : require
// Decode attention (one query token) for devices with subgroup shuffles: the
// memory-bound fast path. A "lane group" of LG lanes reads one K/V row per step
// with coalesced 16-byte loads (each lane CPL units of UV vec4s: 8 halves or 4
// floats per unit; q8_0: 8 quants and their block's scale); a group keeps its own online
// softmax (running max, running sum, rescaled accumulator) for the G query
// heads of its KV head, so every K/V row is read once for all of them. Each
// group takes U keys per step so that 2*U*CPL loads are in flight per lane.
// Sink keys come first and are scored with the query rotated by its cache
// position (set 1), ring keys with the query rotated by its stream index (set
// 0); kv_append.comp wrote both rotations. The groups of a workgroup merge into
// split partials; the last workgroup of a KV head to finish (an atomic count)
// merges the splits, adds the learned sink logit, and writes the output, so a
// decode step needs no separate reduction pass.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#define PC_ATTN_DECODE
#include "kv_pc.glsl"
#include "kv_storage.glsl"
#include "attn_decode_body.glsl"

// q8_0: the scale plane follows (kv_storage.glsl).
layout(std430, binding = 1) readonly buffer KC { KV_STORE k_cache[]; };  // (kv_head, slot, HDU)
layout(std430, binding = 2) readonly buffer VC { KV_STORE v_cache[]; };  // (kv_head, slot, HDU)
uint cache_rows() { return pc.kv_heads * (pc.sinks + pc.window); }
KV_UNIT load_k(uint i) { return KV_LOAD_UNIT(k_cache, cache_rows(), i); }
KV_UNIT load_v(uint i) { return KV_LOAD_UNIT(v_cache, cache_rows(), i); }

void main() {
  P = DecodeParams(pc.heads, pc.cache_sinks, pc.sinks, pc.window, pc.ring_filled, pc.keys_per_split,
                   pc.n_splits, pc.scale, pc.softcap, pc.has_sink_logit != 0u, pc.sink_offset, pc.out_offset, 0u, 0u, 0u);
  decode_main(gl_WorkGroupID.x, gl_WorkGroupID.y);
}
