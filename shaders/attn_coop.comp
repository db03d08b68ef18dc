#version 450
#extension GL_EXT_control_flow_attributes : require
// Chunk (prefill) attention on cooperative matrices (VK_NV_cooperative_matrix):
// attn_split.comp's work, visiting keys in its order, with the same partials, but
// the two products of each tile of T keys run on the tensor cores:
//   S (R x T) = Q (R x HD) * K^T,   PV (R x HD) = P (R x T) * V.
// R rows are the G query heads of a KV head for BQ queries. Precision: K and V are
// stored as float16, so they are exact operands; Q and P are split into a float16
// head and the float16 of the rest (as in matmul_coop.comp), which keeps the
// products within the suite's 1e-3 logit tolerance. The online softmax runs on
// ordinary threads between the products (a fragment's element layout is opaque, so
// S and PV pass through shared memory); the running accumulator stays in registers,
// R * HD / 128 elements per thread.
#extension GL_GOOGLE_include_directive : require
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define PC_ATTN_SPLIT
#include "kv_pc.glsl"
#include "rope.glsl"

layout(local_size_x = 128) in;  // four 32-wide subgroups
layout(constant_id = 3) const uint HD4 = 16;  // head_dim / 4 (a multiple of 4)
layout(constant_id = 4) const uint G = 4;     // query heads per kv head
layout(constant_id = 5) const uint BQ = 8;    // queries per workgroup: R = G * BQ is 16 or 32
layout(constant_id = 6) const uint T = 64;    // keys per tile: 32 or 64
const uint HD = HD4 * 4u, R = G * BQ;
const uint RF = R / 16u, TF = T / 16u, DF = HD / 16u;  // 16 x 16 fragments along each side
const uint L = 128u / R;                               // softmax lanes per row
const uint PER_T = R * HD / 128u;                      // accumulator elements per thread
// Shared rows of float16, in uvec4s of 8 halves, padded by one against bank conflicts.
const uint QP = HD / 8u + 1u, PP = T / 8u + 1u;
const uint SP = HD + 4u;  // float row stride of s_sh (S, then PV): the host keeps T <= HD

layout(std430, binding = 0) readonly buffer Q { float q[]; };            // (query, head, head_dim), strided
layout(std430, binding = 1) readonly buffer KC { uvec2 k_cache[]; };     // (kv_head, slot, HD4)
layout(std430, binding = 2) readonly buffer VC { uvec2 v_cache[]; };     // (kv_head, slot, HD4)
layout(std430, binding = 3) readonly buffer KS { uvec2 k_stage[]; };     // (kv_head, chunk token, HD4)
layout(std430, binding = 4) readonly buffer VS { uvec2 v_stage[]; };     // (kv_head, chunk token, HD4)
layout(std430, binding = 5) readonly buffer Rope { vec2 rope[]; };       // (query, set, rot_half)
layout(std430, binding = 6) writeonly buffer PartAcc { float part_acc[]; };  // (query, head, split, head_dim)
layout(std430, binding = 7) writeonly buffer PartML { vec2 part_ml[]; };     // (query, head, split): max, sum
#include "attn_keys.glsl"

shared uvec4 qs[2u * R * QP];  // (hi|lo, row, head_dim / 8): rotated queries of the segment
shared uvec4 ks[T * QP];       // (key, head_dim / 8)
shared uvec4 vs[T * QP];       // (key, head_dim / 8)
shared uvec4 ps[2u * R * PP];  // (hi|lo, row, key / 8): probabilities of the tile
shared float s_sh[R * SP];     // (row, key): scores; then (row, dim): the tile's P * V
shared ivec2 seen_sh[T];       // the queries that see each key of the tile (empty past its end)
shared float alpha_sh[R];      // rescale factor of the accumulator for the tile

float neg_inf() { return uintBitsToFloat(0xff800000u); }

#include "split16.glsl"

void load_queries(uint q0, uint kvh, uint set) {
  barrier();  // the previous segment may still read qs
  for (uint e = gl_LocalInvocationID.x; e < R * HD / 2u; e += 128u) {
    const uint r = e / (HD / 2u), d = (e % (HD / 2u)) * 2u;
    const uint qi = q0 + r / G, head = kvh * G + r % G;
    // Scaled here, so that the scores come out of the product ready.
    const float a = pc.scale * rotated_query(qi, head, d, HD, set);
    const float b = pc.scale * rotated_query(qi, head, d + 1u, HD, set);
    const float ha = head16(a), hb = head16(b);
    const uint at = r * QP + d / 8u, w = (d % 8u) / 2u;
    qs[at][w] = packHalf2x16(vec2(ha, hb));
    qs[R * QP + at][w] = packHalf2x16(vec2(a - ha, b - hb));
  }
  barrier();
}

// Copies the tile's keys and values (float16 bits as stored) into ks / vs, zero
// past its end, and records where each key is for the visibility mask. All of a
// thread's loads are issued before any store: they are what is in flight (on the
// H100 this took the kernel from 49 to 43 us per token at depth 4096; fetching the
// next tile during the current one instead was slower, 49).
void load_tile(uint t0, uint t1, uint kvh, uint n_sink_keys) {
  const uint UNITS = T * HD4 / 2u / 128u;  // 8-half units of K (and of V) per thread
  uvec4 kw[UNITS], vw[UNITS];
  [[unroll]] for (uint i = 0u; i < UNITS; ++i) {
    const uint e = gl_LocalInvocationID.x + i * 128u;
    const uint j = e / (HD4 / 2u), c = (e % (HD4 / 2u)) * 2u;  // key, vec4 unit (two per uvec4)
    const uint v = t0 + j;
    kw[i] = uvec4(0u);
    vw[i] = uvec4(0u);
    ivec2 seen = ivec2(1, 0);
    if (v < t1) {
      uint kind, idx;
      const uint row = locate(v, kvh, n_sink_keys, kind, idx) * HD4 + c;
      if (kind == CACHE_SINK || kind == RING) {
        kw[i] = uvec4(k_cache[row], k_cache[row + 1u]);
        vw[i] = uvec4(v_cache[row], v_cache[row + 1u]);
      } else {
        kw[i] = uvec4(k_stage[row], k_stage[row + 1u]);
        vw[i] = uvec4(v_stage[row], v_stage[row + 1u]);
      }
      seen = visible_range(kind, idx);
    }
    if (c == 0u) seen_sh[j] = seen;
  }
  [[unroll]] for (uint i = 0u; i < UNITS; ++i) {
    const uint e = gl_LocalInvocationID.x + i * 128u;
    const uint at = (e / (HD4 / 2u)) * QP + e % (HD4 / 2u);
    ks[at] = kw[i];
    vs[at] = vw[i];
  }
}

// S = Q * K^T for this subgroup's fragments, into s_sh.
void scores() {
  for (uint f = gl_SubgroupID; f < RF * TF; f += 4u) {
    const uint rf = f / TF, tf = f % TF;
    fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);
    [[unroll]] for (uint df = 0u; df < DF; ++df) {
      fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> a, al, b;
      coopMatLoadNV(a, qs, rf * 16u * QP + df * 2u, QP, false);
      coopMatLoadNV(al, qs, R * QP + rf * 16u * QP + df * 2u, QP, false);
      coopMatLoadNV(b, ks, tf * 16u * QP + df * 2u, QP, true);  // K stored (key, dim): K^T column-major
      acc = coopMatMulAddNV(a, b, coopMatMulAddNV(al, b, acc));
    }
    coopMatStoreNV(acc, s_sh, rf * 16u * SP + tf * 16u, SP, false);
  }
}

// Online softmax of the tile, L lanes per row (contiguous in a subgroup), each
// lane taking pairs of keys so that it writes whole 32-bit words of ps: masks
// s_sh (already scaled: the queries were), writes P split into ps, updates the
// running max and sum, and leaves the accumulator's rescale factor in alpha_sh.
// Two passes over s_sh instead of a register array of scores: indexed arrays this
// size may not stay in registers.
void softmax_tile(uint q0, inout float m_run, inout float l_run) {
  const uint NP = T / (2u * L);  // key pairs per lane
  const uint tid = gl_LocalInvocationID.x, r = tid / L, lane = tid % L;
  const int qi = q0 + r / G < pc.n_queries ? int(q0 + r / G) : -1;  // -1 sees nothing
  float mx = m_run;
  [[unroll]] for (uint i = 0u; i < 2u * NP; ++i) {
    const uint j = 2u * (lane + (i / 2u) * L) + i % 2u;
    const ivec2 seen = seen_sh[j];
    if (qi >= seen.x && qi <= seen.y) mx = max(mx, s_sh[r * SP + j]);
  }
  [[unroll]] for (uint off = L / 2u; off > 0u; off >>= 1u) mx = max(mx, subgroupShuffleXor(mx, off));
  float sum = 0.0;
  [[unroll]] for (uint i = 0u; i < NP; ++i) {
    const uint j = 2u * (lane + i * L);
    const ivec2 seen0 = seen_sh[j], seen1 = seen_sh[j + 1u];
    const float p0 = qi >= seen0.x && qi <= seen0.y ? exp(s_sh[r * SP + j] - mx) : 0.0;
    const float p1 = qi >= seen1.x && qi <= seen1.y ? exp(s_sh[r * SP + j + 1u] - mx) : 0.0;
    sum += p0 + p1;
    const float h0 = head16(p0), h1 = head16(p1);
    const uint at = r * PP + j / 8u, w = (j % 8u) / 2u;
    ps[at][w] = packHalf2x16(vec2(h0, h1));
    ps[R * PP + at][w] = packHalf2x16(vec2(p0 - h0, p1 - h1));
  }
  [[unroll]] for (uint off = L / 2u; off > 0u; off >>= 1u) sum += subgroupShuffleXor(sum, off);
  const float alpha = m_run == neg_inf() ? 0.0 : exp(m_run - mx);
  l_run = l_run * alpha + sum;
  m_run = mx;
  if (lane == 0u) alpha_sh[r] = alpha;
}

// PV = P * V for this subgroup's fragments, into s_sh.
void values() {
  for (uint f = gl_SubgroupID; f < RF * DF; f += 4u) {
    const uint rf = f / DF, df = f % DF;
    fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);
    [[unroll]] for (uint tf = 0u; tf < TF; ++tf) {
      fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> a, al, b;
      coopMatLoadNV(a, ps, rf * 16u * PP + tf * 2u, PP, false);
      coopMatLoadNV(al, ps, R * PP + rf * 16u * PP + tf * 2u, PP, false);
      coopMatLoadNV(b, vs, tf * 16u * QP + df * 2u, QP, false);
      acc = coopMatMulAddNV(a, b, coopMatMulAddNV(al, b, acc));
    }
    coopMatStoreNV(acc, s_sh, rf * 16u * SP + df * 16u, SP, false);
  }
}

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint split = gl_WorkGroupID.x, kvh = gl_WorkGroupID.y, q0 = gl_WorkGroupID.z * BQ;
  const uint n_sink_keys = pc.cache_sinks + pc.chunk_sinks;
  const uint begin = split * pc.keys_per_split;
  const uint end = min(keys_end(q0, BQ), begin + pc.keys_per_split);

  float m_run = neg_inf(), l_run = 0.0;  // of row tid / L, kept by each of its lanes
  float acc[PER_T];                      // element tid + i * 128 of the (row, dim) accumulator
  [[unroll]] for (uint i = 0u; i < PER_T; ++i) acc[i] = 0.0;

  for (uint seg = 0u; seg < 2u; ++seg) {
    const uint lo = seg == 0u ? begin : max(begin, n_sink_keys);
    const uint hi = seg == 0u ? min(end, n_sink_keys) : end;
    if (lo >= hi) continue;  // uniform: depends only on the workgroup
    load_queries(q0, kvh, seg == 0u ? 1u : 0u);
    for (uint t0 = lo; t0 < hi; t0 += T) {
      load_tile(t0, min(hi, t0 + T), kvh, n_sink_keys);
      barrier();
      scores();
      barrier();
      softmax_tile(q0, m_run, l_run);
      barrier();
      values();
      barrier();
      [[unroll]] for (uint i = 0u; i < PER_T; ++i) {
        const uint e = tid + i * 128u, r = e / HD;
        acc[i] = acc[i] * alpha_sh[r] + s_sh[r * SP + e % HD];
      }
      barrier();  // the next tile overwrites ks, vs, s_sh and alpha_sh
    }
  }

  [[unroll]] for (uint i = 0u; i < PER_T; ++i) {
    const uint e = tid + i * 128u, r = e / HD, qi = q0 + r / G;
    if (qi < pc.n_queries)
      part_acc[((qi * pc.heads + kvh * G + r % G) * pc.n_splits + split) * HD + e % HD] = acc[i];
  }
  const uint r = tid / L, qi = q0 + r / G;
  if (tid % L == 0u && qi < pc.n_queries)
    part_ml[(qi * pc.heads + kvh * G + r % G) * pc.n_splits + split] = vec2(m_run, l_run);
}
