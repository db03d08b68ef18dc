#version 450
// [[unroll]] on loops that index register arrays: a rolled loop indexes them at run
// time, which keeps them out of registers (H100 prefill was 1.75x slower so).
#extension GL_EXT_control_flow_attributes : require
// Split-K attention with online softmax. A workgroup owns one (split, kv head,
// block of BQ queries); its rows are the G query heads of that kv head for each
// query. Keys are visited in a virtual order:
//   [cache sinks][staged chunk sinks][ring slots][staged chunk window tokens]
// The first two segments are scored with the query rotated by its position in
// the cache (table set 1), the last two with the query rotated by its stream
// index (set 0): window keys are stored rotated by their stream index, so the
// relative rotation equals the paper's within-cache distance, and no stored key
// is ever touched again. attn_reduce.comp combines the splits.
#extension GL_GOOGLE_include_directive : require
#define PC_ATTN_SPLIT
#include "kv_pc.glsl"
#include "kv_storage.glsl"
#include "rope.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint HD4 = 32;  // head_dim / 4
layout(constant_id = 4) const uint G = 4;     // query heads per kv head
layout(constant_id = 5) const uint BQ = 1;    // queries per workgroup
const uint R = G * BQ;                        // rows: (query, head) pairs
const uint WG = gl_WorkGroupSize.x;           // keys per tile
const uint KSUB = WG / HD4;                   // key subsets in the P*V phase (host keeps HD4 <= WG)

layout(std430, binding = 0) readonly buffer Q { float q[]; };             // (query, head, head_dim), strided
// q8_0: each K/V buffer's scale plane follows its rows (kv_storage.glsl).
layout(std430, binding = 1) readonly buffer KC { KV_VEC k_cache[]; };     // (kv_head, slot, HD4)
layout(std430, binding = 2) readonly buffer VC { KV_VEC v_cache[]; };     // (kv_head, slot, HD4)
layout(std430, binding = 3) readonly buffer KS { KV_VEC k_stage[]; };     // (kv_head, chunk token, HD4)
layout(std430, binding = 4) readonly buffer VS { KV_VEC v_stage[]; };     // (kv_head, chunk token, HD4)
layout(std430, binding = 5) readonly buffer Rope { vec2 rope[]; };        // (query, set, rot_half)
layout(std430, binding = 6) writeonly buffer PartAcc { vec4 part_acc[]; };  // (query, head, split, HD4)
layout(std430, binding = 7) writeonly buffer PartML { vec2 part_ml[]; };    // (query, head, split): max, sum
#include "attn_keys.glsl"

const uint L = WG / R;                        // softmax lanes per row (the host keeps R <= WG)
const uint SS = WG + L;                       // row stride of s_sh, padded so that the rows a warp
                                              // reduces start in different banks

shared vec4 q_sh[R * HD4];  // rotated queries of the current segment
shared float s_sh[R * SS];  // scores, then probabilities, of the current tile
shared uint loc_sh[WG];     // where each key of the tile lives: kind << 30 | row
shared float pmax_sh[WG];   // per-lane partial max, then
shared float psum_sh[WG];   // per-lane partial sum of the tile's probabilities
shared float m_sh[R];       // running max per row
shared float l_sh[R];       // running sum per row
shared float mnew_sh[R];    // max after the current tile
shared float alpha_sh[R];   // rescale factor of the current tile
shared vec4 red_sh[WG];

float neg_inf() { return uintBitsToFloat(0xff800000u); }

// Rows of the cache and staging buffers (q8_0 finds its scale plane after them).
uint cache_rows() { return pc.kv_heads * (pc.sinks + pc.window); }
uint stage_rows() { return pc.kv_heads * pc.stage_slots; }

vec4 load_k(uint kind, uint row, uint c) {
  return kind == CACHE_SINK || kind == RING ? KV_LOAD(k_cache, cache_rows(), HD4, row, c)
                                            : KV_LOAD(k_stage, stage_rows(), HD4, row, c);
}

vec4 load_v(uint kind, uint row, uint c) {
  return kind == CACHE_SINK || kind == RING ? KV_LOAD(v_cache, cache_rows(), HD4, row, c)
                                            : KV_LOAD(v_stage, stage_rows(), HD4, row, c);
}

// Rotates this workgroup's queries into q_sh with table set `set`.
void load_queries(uint q0, uint kvh, uint set) {
  barrier();  // the previous segment may still read q_sh
  const uint hd = HD4 * 4u;
  for (uint e = gl_LocalInvocationID.x; e < R * hd; e += WG) {
    const uint r = e / hd, d = e % hd;
    q_sh[r * HD4 + d / 4u][d % 4u] = rotated_query(q0 + r / G, kvh * G + r % G, d, hd, set);
  }
  barrier();
}

// One thread per key: its scores for all R rows, and where it lives for the P*V phase.
void score_tile(uint t0, uint t1, uint kvh, uint q0, uint n_sink_keys) {
  const uint tid = gl_LocalInvocationID.x;
  float sc[R];
  [[unroll]] for (uint r = 0u; r < R; ++r) sc[r] = 0.0;
  const uint v = t0 + tid;
  uint kind = 0u, idx = 0u;
  if (v < t1) {
    const uint row = locate(v, kvh, n_sink_keys, kind, idx);
    loc_sh[tid] = kind << 30 | row;
    // Rolled: c indexes no register array, and unrolling it too made head_dim 256
    // with 16 rows a minutes-long compile on lavapipe (HD4 x R dot products).
    for (uint c = 0u; c < HD4; ++c) {
      const vec4 k = load_k(kind, row, c);
      [[unroll]] for (uint r = 0u; r < R; ++r) sc[r] += dot(q_sh[r * HD4 + c], k);
    }
  }
  [[unroll]] for (uint r = 0u; r < R; ++r) {
    const uint qi = q0 + r / G;
    const bool ok = v < t1 && qi < pc.n_queries && visible(kind, idx, qi);
    s_sh[r * SS + tid] = ok ? soft_cap(sc[r] * pc.scale, pc.softcap) : neg_inf();
  }
}

// Online softmax of the tile, L lanes per row. Leaves probabilities in s_sh, the
// new max and the rescale factor of the old accumulators in mnew_sh / alpha_sh,
// and each lane's share of the probability sum in psum_sh.
void softmax_tile(uint n) {
  const uint tid = gl_LocalInvocationID.x, r = tid / L, lane = tid % L;
  if (r < R) {
    float mx = neg_inf();
    for (uint j = lane; j < n; j += L) mx = max(mx, s_sh[r * SS + j]);
    pmax_sh[tid] = mx;
  }
  barrier();
  if (r < R) {
    float mx = m_sh[r];
    for (uint i = 0u; i < L; ++i) mx = max(mx, pmax_sh[r * L + i]);
    float sum = 0.0;
    for (uint j = lane; j < n; j += L) {
      const float s = s_sh[r * SS + j];
      const float p = s == neg_inf() ? 0.0 : exp(s - mx);
      s_sh[r * SS + j] = p;
      sum += p;
    }
    psum_sh[tid] = sum;
    if (lane == 0u) {
      mnew_sh[r] = mx;
      alpha_sh[r] = m_sh[r] == neg_inf() ? 0.0 : exp(m_sh[r] - mx);
    }
  }
  barrier();
}

// Folds the tile's probability sum into the running sum (after the P*V phase,
// which still reads alpha_sh).
void commit_tile() {
  const uint tid = gl_LocalInvocationID.x, r = tid / L;
  if (r < R && tid % L == 0u) {
    float sum = 0.0;
    for (uint i = 0u; i < L; ++i) sum += psum_sh[r * L + i];
    l_sh[r] = l_sh[r] * alpha_sh[r] + sum;
    m_sh[r] = mnew_sh[r];
  }
}

vec4 load_v_at(uint loc, uint c) { return load_v(loc >> 30, loc & 0x3fffffffu, c); }

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint split = gl_WorkGroupID.x, kvh = gl_WorkGroupID.y, q0 = gl_WorkGroupID.z * BQ;
  const uint n_sink_keys = pc.cache_sinks + pc.chunk_sinks;
  const uint begin = split * pc.keys_per_split;
  const uint end = min(keys_end(q0, BQ), begin + pc.keys_per_split);

  if (tid < R) {
    m_sh[tid] = neg_inf();
    l_sh[tid] = 0.0;
  }
  vec4 acc[R];
  [[unroll]] for (uint r = 0u; r < R; ++r) acc[r] = vec4(0.0);
  const uint c = tid % HD4, ks = tid / HD4;

  for (uint seg = 0u; seg < 2u; ++seg) {
    const uint lo = seg == 0u ? begin : max(begin, n_sink_keys);
    const uint hi = seg == 0u ? min(end, n_sink_keys) : end;
    if (lo >= hi) continue;  // uniform: depends only on the workgroup
    load_queries(q0, kvh, seg == 0u ? 1u : 0u);
    for (uint t0 = lo; t0 < hi; t0 += WG) {
      const uint t1 = min(hi, t0 + WG);
      score_tile(t0, t1, kvh, q0, n_sink_keys);
      barrier();
      softmax_tile(t1 - t0);
      if (ks < KSUB) {
        [[unroll]] for (uint r = 0u; r < R; ++r) acc[r] *= alpha_sh[r];
        for (uint j = ks; j < t1 - t0; j += KSUB) {
          const vec4 vv = load_v_at(loc_sh[j], c);
          [[unroll]] for (uint r = 0u; r < R; ++r) acc[r] += s_sh[r * SS + j] * vv;
        }
      }
      barrier();
      commit_tile();  // the next tile's first barrier orders it before softmax_tile reads m_sh
    }
  }
  barrier();  // commit_tile's last m_sh / l_sh

  // Sum the key subsets' accumulators row by row and write this split's partials.
  [[unroll]] for (uint r = 0u; r < R; ++r) {
    red_sh[tid] = acc[r];
    barrier();
    const uint qi = q0 + r / G;
    if (tid < HD4 && qi < pc.n_queries) {
      vec4 s = vec4(0.0);
      for (uint k = 0u; k < KSUB; ++k) s += red_sh[k * HD4 + tid];
      const uint head = kvh * G + r % G;
      part_acc[((qi * pc.heads + head) * pc.n_splits + split) * HD4 + tid] = s;
    }
    barrier();
  }
  if (tid < R) {
    const uint qi = q0 + tid / G;
    const uint head = kvh * G + tid % G;
    if (qi < pc.n_queries) part_ml[(qi * pc.heads + head) * pc.n_splits + split] = vec2(m_sh[tid], l_sh[tid]);
  }
}
