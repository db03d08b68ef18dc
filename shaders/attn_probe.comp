#version 450
#extension GL_EXT_control_flow_attributes : require
// Analysis, not speed: the softmax attention one query gives to the first K
// tokens of the stream, per query head, read back by `sinkstream sinks`. One
// workgroup per query head scores every cached key (the same scores as
// attn_decode.comp: window keys with the query rotated by its stream index,
// sink keys with the query rotated by its cache position).
#extension GL_GOOGLE_include_directive : require
#define PC_ATTN_PROBE
#include "kv_pc.glsl"
#include "kv_storage.glsl"

layout(local_size_x_id = 0) in;
const uint WG = gl_WorkGroupSize.x;

layout(std430, binding = 0) readonly buffer QRot { vec4 q_rot[]; };      // (set, head, head_dim / 4)
layout(std430, binding = 1) readonly buffer KC { KV_VEC k_cache[]; };    // (kv_head, slot, head_dim / 4); q8_0: + scales
layout(std430, binding = 2) readonly buffer Sinks { float sink_logit[]; };  // (layer, head)
layout(std430, binding = 3) writeonly buffer Out { float o[]; };         // (head, first) + out_offset

shared float red[WG];

float score(uint v, uint head, uint hd4) {
  const uint kvh = head / (pc.heads / pc.kv_heads);
  const uint slot = v < pc.cache_sinks ? v : pc.sinks + (v - pc.cache_sinks);
  const uint set = v < pc.cache_sinks ? 1u : 0u;
  const uint row = kvh * (pc.sinks + pc.window) + slot, q = (set * pc.heads + head) * hd4;
  const uint rows = pc.kv_heads * (pc.sinks + pc.window);
  float d = 0.0;
  for (uint c = 0u; c < hd4; ++c) d += dot(q_rot[q + c], KV_LOAD(k_cache, rows, hd4, row, c));
  return soft_cap(d * pc.scale, pc.softcap);
}

float reduce(float x, bool take_max) {
  const uint tid = gl_LocalInvocationID.x;
  red[tid] = x;
  barrier();
  for (uint w = WG / 2u; w > 0u; w >>= 1u) {
    if (tid < w) red[tid] = take_max ? max(red[tid], red[tid + w]) : red[tid] + red[tid + w];
    barrier();
  }
  const float r = red[0];
  barrier();
  return r;
}

void main() {
  const uint head = gl_WorkGroupID.x, tid = gl_LocalInvocationID.x, hd4 = pc.head_dim / 4u;
  const uint n = pc.cache_sinks + pc.ring_filled;
  const bool has_sink = pc.has_sink_logit != 0u;
  const float sink = has_sink ? sink_logit[pc.sink_offset + head] : uintBitsToFloat(0xff800000u);
  float m = sink;
  for (uint v = tid; v < n; v += WG) m = max(m, score(v, head, hd4));
  m = reduce(m, true);
  float l = 0.0;
  for (uint v = tid; v < n; v += WG) l += exp(score(v, head, hd4) - m);
  l = reduce(l, false) + (has_sink ? exp(sink - m) : 0.0);
  // The first tokens of the stream: the sinks, then (without sinks) the oldest ring slots.
  for (uint j = tid; j < pc.first; j += WG)
    o[pc.out_offset + head * pc.first + j] = j < n ? exp(score(j, head, hd4) - m) / l : 0.0;
}
