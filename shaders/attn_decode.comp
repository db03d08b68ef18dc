#version 450
// Decode attention (one query token) for devices with subgroup shuffles: the
// memory-bound fast path. A "lane group" of LG lanes reads one K/V row per step
// with coalesced loads (each lane CPL vec4 chunks); a group keeps its own online
// softmax (running max, running sum, rescaled accumulator) for the G query
// heads of its KV head, so every K/V row is read once for all of them. Each
// group takes U keys per step so that 2*U*CPL loads are in flight per lane.
// Groups of a workgroup merge at the end and write split partials in the
// layout of attn_split.comp; attn_reduce.comp finishes. Sink keys come first
// and are scored with the query rotated by its cache position (table set 1),
// ring keys with the query rotated by its stream index (set 0).
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#define PC_ATTN_SPLIT
#include "kv_pc.glsl"
#include "kv_storage.glsl"
#include "rope.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint HD4 = 32;  // head_dim / 4
layout(constant_id = 4) const uint G = 4;     // query heads per kv head
layout(constant_id = 5) const uint LG = 32;   // lanes per key (power of two, divides HD4 and the subgroup size)
const uint CPL = HD4 / LG;                    // vec4 chunks per lane
const uint U = 4;                             // keys per group per step
const uint WG = gl_WorkGroupSize.x;
const uint NKG = WG / LG;                     // key groups per workgroup

layout(std430, binding = 0) readonly buffer Q { float q[]; };           // (query, head, head_dim)
layout(std430, binding = 1) readonly buffer KC { KV_VEC k_cache[]; };   // (kv_head, slot, HD4)
layout(std430, binding = 2) readonly buffer VC { KV_VEC v_cache[]; };   // (kv_head, slot, HD4)
layout(std430, binding = 3) readonly buffer KS { KV_VEC k_stage[]; };   // unused: decode has no staged keys
layout(std430, binding = 4) readonly buffer VS { KV_VEC v_stage[]; };
layout(std430, binding = 5) readonly buffer Rope { vec2 rope[]; };      // (query, set, rot_half)
layout(std430, binding = 6) writeonly buffer PartAcc { vec4 part_acc[]; };  // (query, head, split, HD4)
layout(std430, binding = 7) writeonly buffer PartML { vec2 part_ml[]; };    // (query, head, split)

shared vec2 ml_sh[NKG];
shared vec4 acc_sh[NKG * HD4];

float neg_inf() { return uintBitsToFloat(0xff800000u); }

uint lane;   // lane within the key group
uint group;  // key group within the workgroup

vec4 qr[G][CPL];  // this lane's chunks of the rotated queries
vec4 acc[G][CPL];
float m_run[G], l_run[G];

void rotate_queries(uint kvh, uint set) {
  const uint hd = HD4 * 4u;
  for (uint g = 0u; g < G; ++g)
    for (uint cc = 0u; cc < CPL; ++cc)
      for (uint e = 0u; e < 4u; ++e) {
        const uint d = (cc * LG + lane) * 4u + e;
        const uint base = pc.q_offset + (kvh * G + g) * hd;
        uint pair, partner;
        bool first;
        float x = q[base + d];
        if (rope_pair(d, pc.rot_half, pc.neox != 0u, pair, partner, first))
          x = rope_apply(x, q[base + partner], first, rope[set * pc.rot_half + pair]);
        qr[g][cc][e] = x;
      }
}

uint slot_row(uint v, uint kvh) {
  const uint slot = v < pc.cache_sinks ? v : pc.sinks + (v - pc.cache_sinks);
  return (kvh * (pc.sinks + pc.window) + slot) * HD4;
}

// Scores and accumulates keys [lo, hi) of this workgroup, U per group per step.
void attend_range(uint lo, uint hi, uint kvh) {
  const uint step = NKG * U;
  const uint steps = (hi - lo + step - 1u) / step;  // uniform: shuffles need every lane
  for (uint s = 0u; s < steps; ++s) {
    vec4 kk[U][CPL], vv[U][CPL];
    bool ok[U];
    for (uint u = 0u; u < U; ++u) {
      const uint v = lo + s * step + u * NKG + group;
      ok[u] = v < hi;
      const uint row = slot_row(ok[u] ? v : lo, kvh);
      for (uint cc = 0u; cc < CPL; ++cc) {
        kk[u][cc] = kv_unpack(k_cache[row + cc * LG + lane]);
        vv[u][cc] = kv_unpack(v_cache[row + cc * LG + lane]);
      }
    }
    for (uint g = 0u; g < G; ++g) {
      float sc[U];
      float mb = neg_inf();
      for (uint u = 0u; u < U; ++u) {
        float d = 0.0;
        for (uint cc = 0u; cc < CPL; ++cc) d += dot(qr[g][cc], kk[u][cc]);
        for (uint off = LG / 2u; off > 0u; off >>= 1u) d += subgroupShuffleXor(d, off);
        sc[u] = ok[u] ? d * pc.scale : neg_inf();
        mb = max(mb, sc[u]);
      }
      if (mb == neg_inf()) continue;  // uniform within the group
      const float m_new = max(m_run[g], mb);
      const float alpha = m_run[g] == neg_inf() ? 0.0 : exp(m_run[g] - m_new);
      float lsum = l_run[g] * alpha;
      for (uint cc = 0u; cc < CPL; ++cc) acc[g][cc] *= alpha;
      for (uint u = 0u; u < U; ++u) {
        const float p = sc[u] == neg_inf() ? 0.0 : exp(sc[u] - m_new);
        lsum += p;
        for (uint cc = 0u; cc < CPL; ++cc) acc[g][cc] += p * vv[u][cc];
      }
      m_run[g] = m_new;
      l_run[g] = lsum;
    }
  }
}

void main() {
  const uint split = gl_WorkGroupID.x, kvh = gl_WorkGroupID.y, tid = gl_LocalInvocationID.x;
  lane = gl_SubgroupInvocationID % LG;
  group = gl_SubgroupID * (gl_SubgroupSize / LG) + gl_SubgroupInvocationID / LG;
  const uint n_sink_keys = pc.cache_sinks;
  const uint n_keys = n_sink_keys + pc.ring_filled;
  const uint begin = split * pc.keys_per_split;
  const uint end = min(n_keys, begin + pc.keys_per_split);
  for (uint g = 0u; g < G; ++g) {
    m_run[g] = neg_inf();
    l_run[g] = 0.0;
    for (uint cc = 0u; cc < CPL; ++cc) acc[g][cc] = vec4(0.0);
  }
  if (begin < min(end, n_sink_keys)) {
    rotate_queries(kvh, 1u);
    attend_range(begin, min(end, n_sink_keys), kvh);
  }
  if (max(begin, n_sink_keys) < end) {
    rotate_queries(kvh, 0u);
    attend_range(max(begin, n_sink_keys), end, kvh);
  }

  // Merge the key groups, one head at a time.
  for (uint g = 0u; g < G; ++g) {
    if (lane == 0u) ml_sh[group] = vec2(m_run[g], l_run[g]);
    barrier();
    float m = neg_inf();
    for (uint j = 0u; j < NKG; ++j) m = max(m, ml_sh[j].x);
    const float scale = m_run[g] == neg_inf() ? 0.0 : exp(m_run[g] - m);
    for (uint cc = 0u; cc < CPL; ++cc) acc_sh[group * HD4 + cc * LG + lane] = acc[g][cc] * scale;
    barrier();
    const uint head = kvh * G + g;
    const uint row = head * pc.n_splits + split;  // query 0
    for (uint c = tid; c < HD4; c += WG) {
      vec4 sum = vec4(0.0);
      for (uint j = 0u; j < NKG; ++j) sum += acc_sh[j * HD4 + c];
      part_acc[row * HD4 + c] = sum;
    }
    if (tid == 0u) {
      float l = 0.0;
      for (uint j = 0u; j < NKG; ++j)
        if (ml_sh[j].x != neg_inf()) l += ml_sh[j].y * exp(ml_sh[j].x - m);
      part_ml[row] = vec2(m, l);
    }
    barrier();
  }
}
