#version 450
#extension GL_EXT_control_flow_attributes : require
// Chunk (prefill) attention on cooperative matrices (VK_NV_cooperative_matrix):
// attn_split.comp's work, visiting keys in its order, with the same partials, but
// the two products of each tile of T keys run on the tensor cores:
//   S (16 x T) = Q (16 x HD) * K^T,   O (16 x HD) += P (16 x T) * V.
// Each of the four subgroups owns 16 of the R = 64 rows (a row is one of the G query
// heads of the KV head for one of BQ queries), so only the K/V tile is shared: two
// workgroup barriers per tile, and the softmax needs nothing wider than its subgroup.
// The accumulator O stays in cooperative-matrix registers across tiles. Rescaling
// it row by row needs each component's row, which the fragment layout hides: a
// fragment loaded from a matrix whose (r, c) element is r tells every invocation
// the row of each of its components (the layout is a property of the type).
// Precision: K and V are stored as float16, so they are exact operands; Q and P are
// split into a float16 head and the float16 of the rest (as in matmul_coop.comp),
// which keeps the products within the suite's 1e-3 logit tolerance.
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
layout(constant_id = 5) const uint BQ = 16;   // queries per workgroup: G * BQ = 64
layout(constant_id = 6) const uint T = 64;    // keys per tile: 32 or 64
const uint HD = HD4 * 4u, R = G * BQ, TF = T / 16u, DF = HD / 16u;
// Row strides in uvec4s, padded by one against bank conflicts.
const uint QP = HD / 8u + 1u;  // K, V and staged Q rows (float16)
const uint SP = T / 4u + 1u;   // S rows (float)
const uint PP = T / 8u + 1u;   // P rows (float16)
const uint OP = 16u / 4u + 1u; // rows of one 16-column block of O on the way out (float)
// A subgroup's region holds S, then P (hi, lo) in place of S, then O block by block.
const uint REGION = SP * 16u > 2u * PP * 16u ? SP * 16u : 2u * PP * 16u;

layout(std430, binding = 0) readonly buffer Q { float q[]; };            // (query, head, head_dim), strided
layout(std430, binding = 1) readonly buffer KC { uvec2 k_cache[]; };     // (kv_head, slot, HD4)
layout(std430, binding = 2) readonly buffer VC { uvec2 v_cache[]; };     // (kv_head, slot, HD4)
layout(std430, binding = 3) readonly buffer KS { uvec2 k_stage[]; };     // (kv_head, chunk token, HD4)
layout(std430, binding = 4) readonly buffer VS { uvec2 v_stage[]; };     // (kv_head, chunk token, HD4)
layout(std430, binding = 5) readonly buffer Rope { vec2 rope[]; };       // (query, set, rot_half)
layout(std430, binding = 6) writeonly buffer PartAcc { float part_acc[]; };  // (query, head, split, head_dim)
layout(std430, binding = 7) writeonly buffer PartML { vec2 part_ml[]; };     // (query, head, split): max, sum
#include "attn_keys.glsl"

// (K | V, key, head_dim / 8) float16; at a segment's start, the staged Q head or rest (row, head_dim / 8).
shared uvec4 kv[2u * T * QP];
shared uvec4 region[4u * REGION];  // (subgroup, REGION)
shared ivec2 seen_sh[T];           // the queries that see each key of the tile (empty past its end)
shared float alpha_sh[4u * 16u];   // (subgroup, row): rescale factor of O for the tile

// Per invocation, kept across calls (arrays of cooperative matrices do not pass as
// function arguments through the optimiser):
fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> qf[2u * DF];  // (head | rest, head_dim / 16) of the queries
fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> o[DF];        // (16 rows, head_dim): unnormalised output

float neg_inf() { return uintBitsToFloat(0xff800000u); }

#include "split16.glsl"

// This subgroup's 16 rows of the rotated, scaled queries as float16 head and rest
// fragments, staged through kv (R rows fit: T >= 32). Part 0 is the head, 1 the rest.
void load_queries(uint q0, uint kvh, uint set) {
  [[unroll]] for (uint part = 0u; part < 2u; ++part) {
    barrier();  // kv is free: the previous tile or part is done with it
    for (uint e = gl_LocalInvocationID.x; e < R * HD / 2u; e += 128u) {
      const uint r = e / (HD / 2u), d = (e % (HD / 2u)) * 2u;
      const uint qi = q0 + r / G, head = kvh * G + r % G;
      // Scaled here, so that the scores come out of the product ready.
      const float a = pc.scale * rotated_query(qi, head, d, HD, set);
      const float b = pc.scale * rotated_query(qi, head, d + 1u, HD, set);
      const vec2 h = vec2(head16(a), head16(b));
      kv[r * QP + d / 8u][(d % 8u) / 2u] = packHalf2x16(part == 0u ? h : vec2(a, b) - h);
    }
    barrier();
    [[unroll]] for (uint df = 0u; df < DF; ++df)
      coopMatLoadNV(qf[part * DF + df], kv, gl_SubgroupID * 16u * QP + df * 2u, QP, false);
  }
  barrier();  // the first tile overwrites kv
}

// The K/V tile on its way into shared memory: each thread's 8-half units and the
// visibility of their keys. fetch_tile() fills them from global memory, store_tile()
// empties them into kv and seen_sh. The next tile's fetch runs during the current
// tile's products (on the H100: 14.4 -> 13.6 us per token at depth 4096).
const uint UNITS = T * HD4 / 2u / 128u;  // 8-half units of K (and of V) per thread
uvec4 kw[UNITS], vw[UNITS];
ivec2 seen_w[UNITS];

// All of a thread's loads are issued before any store: they are what is in flight.
void fetch_tile(uint t0, uint t1, uint kvh, uint n_sink_keys) {
  [[unroll]] for (uint i = 0u; i < UNITS; ++i) {
    const uint e = gl_LocalInvocationID.x + i * 128u;
    const uint j = e / (HD4 / 2u), c = (e % (HD4 / 2u)) * 2u;  // key, vec4 unit (two per uvec4)
    const uint v = t0 + j;
    kw[i] = uvec4(0u);
    vw[i] = uvec4(0u);
    seen_w[i] = ivec2(1, 0);  // past the tile's end: seen by no query
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
      seen_w[i] = visible_range(kind, idx);
    }
  }
}

void store_tile() {
  [[unroll]] for (uint i = 0u; i < UNITS; ++i) {
    const uint e = gl_LocalInvocationID.x + i * 128u;
    const uint at = (e / (HD4 / 2u)) * QP + e % (HD4 / 2u);
    kv[at] = kw[i];
    kv[T * QP + at] = vw[i];
    if (e % (HD4 / 2u) == 0u) seen_sh[e / (HD4 / 2u)] = seen_w[i];
  }
}

void subgroup_sync() {
  subgroupMemoryBarrierShared();
  subgroupBarrier();
}

// S = Q * K^T for the subgroup's rows, into its region (float rows of SP uvec4s).
void scores(uint base) {
  [[unroll]] for (uint tf = 0u; tf < TF; ++tf) {
    fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);
    [[unroll]] for (uint df = 0u; df < DF; ++df) {
      fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> kt;
      coopMatLoadNV(kt, kv, tf * 16u * QP + df * 2u, QP, true);  // K stored (key, dim): K^T column-major
      acc = coopMatMulAddNV(qf[df], kt, coopMatMulAddNV(qf[DF + df], kt, acc));
    }
    coopMatStoreNV(acc, region, base + tf * 4u, SP, false);
  }
}

// Online softmax of the tile for row lane / 2, two lanes per row, each taking
// alternate 4-key units: masks S (already scaled: the queries were), overwrites it
// with P split into head and rest, updates the running max and sum, and leaves
// O's rescale factor in alpha_sh.
void softmax_tile(uint q0, uint base, inout float m_run, inout float l_run) {
  const uint NU = T / 8u;  // 4-key units per lane
  const uint lane = gl_SubgroupInvocationID, r = lane / 2u, half_ = lane % 2u;
  const uint row = gl_SubgroupID * 16u + r;
  const int qi = q0 + row / G < pc.n_queries ? int(q0 + row / G) : -1;  // -1 sees nothing
  vec4 s[NU];
  float mx = m_run;
  [[unroll]] for (uint u = 0u; u < NU; ++u) {
    const uint j = 4u * (2u * u + half_);
    s[u] = uintBitsToFloat(region[base + r * SP + j / 4u]);
    [[unroll]] for (uint c = 0u; c < 4u; ++c) {
      const ivec2 seen = seen_sh[j + c];
      s[u][c] = qi >= seen.x && qi <= seen.y ? soft_cap(s[u][c], pc.softcap) : neg_inf();
      mx = max(mx, s[u][c]);
    }
  }
  mx = max(mx, subgroupShuffleXor(mx, 1u));
  subgroup_sync();  // every lane has read S before P overwrites it
  float sum = 0.0;
  [[unroll]] for (uint u = 0u; u < NU; ++u) {
    // exp(-inf - mx) is 0 for masked keys, unless the row has seen nothing yet.
    const vec4 p = mx == neg_inf() ? vec4(0.0) : exp(s[u] - mx);
    sum += p.x + p.y + p.z + p.w;
    const vec4 h = head16(p), rest = p - h;
    // Keys 8u + 4 half_ .. + 3: words 2 half_ and 2 half_ + 1 of P's unit u.
    const uint at = base + r * PP + u, w = 2u * half_;
    region[at][w] = packHalf2x16(h.xy);
    region[at][w + 1u] = packHalf2x16(h.zw);
    region[16u * PP + at][w] = packHalf2x16(rest.xy);
    region[16u * PP + at][w + 1u] = packHalf2x16(rest.zw);
  }
  sum += subgroupShuffleXor(sum, 1u);
  const float alpha = m_run == neg_inf() ? 0.0 : exp(m_run - mx);
  l_run = l_run * alpha + sum;
  m_run = mx;
  if (half_ == 0u) alpha_sh[row] = alpha;
}

// O = O * alpha (per row) + P * V for the subgroup's rows.
void values(uint base, fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> rows) {
  [[unroll]] for (uint df = 0u; df < DF; ++df)
    for (int i = 0; i < o[df].length(); ++i) o[df][i] *= alpha_sh[gl_SubgroupID * 16u + uint(rows[i])];
  [[unroll]] for (uint tf = 0u; tf < TF; ++tf) {
    fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> p, pl;
    coopMatLoadNV(p, region, base + tf * 2u, PP, false);
    coopMatLoadNV(pl, region, base + 16u * PP + tf * 2u, PP, false);
    [[unroll]] for (uint df = 0u; df < DF; ++df) {
      fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> v;
      coopMatLoadNV(v, kv, T * QP + tf * 16u * QP + df * 2u, QP, false);
      o[df] = coopMatMulAddNV(p, v, coopMatMulAddNV(pl, v, o[df]));
    }
  }
}

// Which row of the fragment each of this invocation's components holds.
fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> row_ids(uint base) {
  const uint lane = gl_SubgroupInvocationID;
  for (uint e = lane; e < 16u * OP; e += 32u) region[base + e] = floatBitsToUint(vec4(float(e / OP)));
  subgroup_sync();
  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> rows;
  coopMatLoadNV(rows, region, base, OP, false);
  subgroup_sync();
  return rows;
}

// The subgroup's rows of O, one 16-column block at a time through its region.
void store_partials(uint q0, uint kvh, uint split, uint base) {
  const uint lane = gl_SubgroupInvocationID;
  [[unroll]] for (uint df = 0u; df < DF; ++df) {
    coopMatStoreNV(o[df], region, base, OP, false);
    subgroup_sync();
    for (uint e = lane; e < 16u * 16u; e += 32u) {
      const uint r = e / 16u, c = e % 16u, row = gl_SubgroupID * 16u + r, qi = q0 + row / G;
      if (qi < pc.n_queries)
        part_acc[((qi * pc.heads + kvh * G + row % G) * pc.n_splits + split) * HD + df * 16u + c] =
            uintBitsToFloat(region[base + r * OP + c / 4u][c % 4u]);
    }
    subgroup_sync();
  }
}

void main() {
  const uint split = gl_WorkGroupID.x, kvh = gl_WorkGroupID.y, q0 = gl_WorkGroupID.z * BQ;
  const uint n_sink_keys = pc.cache_sinks + pc.chunk_sinks;
  const uint begin = split * pc.keys_per_split;
  const uint end = min(keys_end(q0, BQ), begin + pc.keys_per_split);
  const uint base = gl_SubgroupID * REGION;

  const fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> rows = row_ids(base);
  float m_run = neg_inf(), l_run = 0.0;  // of row lane / 2, kept by both of its lanes
  [[unroll]] for (uint df = 0u; df < DF; ++df) o[df] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);

  for (uint seg = 0u; seg < 2u; ++seg) {
    const uint lo = seg == 0u ? begin : max(begin, n_sink_keys);
    const uint hi = seg == 0u ? min(end, n_sink_keys) : end;
    if (lo >= hi) continue;  // uniform: depends only on the workgroup
    load_queries(q0, kvh, seg == 0u ? 1u : 0u);
    fetch_tile(lo, min(hi, lo + T), kvh, n_sink_keys);
    for (uint t0 = lo; t0 < hi; t0 += T) {
      store_tile();
      barrier();
      if (t0 + T < hi) fetch_tile(t0 + T, min(hi, t0 + 2u * T), kvh, n_sink_keys);
      scores(base);
      subgroup_sync();
      softmax_tile(q0, base, m_run, l_run);
      subgroup_sync();
      values(base, rows);
      barrier();  // the next tile overwrites kv and every region
    }
  }

  store_partials(q0, kvh, split, base);
  const uint lane = gl_SubgroupInvocationID, row = gl_SubgroupID * 16u + lane / 2u, qi = q0 + row / G;
  if (lane % 2u == 0u && qi < pc.n_queries)
    part_ml[(qi * pc.heads + kvh * G + row % G) * pc.n_splits + split] = vec2(m_run, l_run);
}
