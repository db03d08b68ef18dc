// The body of the decode attention kernels (attn_decode.comp for one stream,
// attn_rows.comp for one row of each of many streams): see attn_decode.comp.
// The including kernel defines KV_F16, KV_F32 or KV_Q8_0, includes kv_storage.glsl,
// declares the push constants, defines load_k/load_v after this file and sets
// P before calling decode_main.
#ifndef ATTN_DECODE_BODY_GLSL
#define ATTN_DECODE_BODY_GLSL

// Units of a K/V row, the loads a lane issues: 16 bytes for f16 and f32 (the
// widest load every device has); for q8_0 8 quant bytes (8 values, as f16's unit)
// and the scale of their block. KV_STORE is the cache buffers' element type, and
// KV_LOAD_UNIT(buf, rows, i) reads unit i of such a buffer of `rows` rows.
#if defined(KV_F16)
#define KV_STORE uvec4
#define KV_UNIT uvec4
const uint UV = 2;  // vec4s per unit
void unpack_unit(uvec4 u, out vec4 v[UV]) {
  v[0] = kv_unpack(u.xy);
  v[1] = kv_unpack(u.zw);
}
#elif defined(KV_Q8_0)
#define KV_STORE uvec2
struct Q8Unit {
  uvec2 q;  // 8 int8
  float d;  // their block's scale
};
#define KV_UNIT Q8Unit
const uint UV = 2;
void unpack_unit(Q8Unit u, out vec4 v[UV]) {
  v[0] = q8_unpack(u.q.x, u.d);
  v[1] = q8_unpack(u.q.y, u.d);
}
// Unit i is vec4s 2(i % HDU) .. +1 of row i / HDU; the scale words follow the
// rows * HD4 quant words, so (in uvec2s) at rows * HDU.
#define Q8_UNIT_BLOCK(i) (((i) / HDU) * q8_blocks(HD4) + ((i) % HDU) / 4u)
#define KV_LOAD_UNIT(buf, rows, i) \
  Q8Unit(buf[i], q8_scale(buf[(rows) * HDU + Q8_UNIT_BLOCK(i) / 4u][(Q8_UNIT_BLOCK(i) / 2u) & 1u], Q8_UNIT_BLOCK(i)))
#else
#define KV_STORE vec4
#define KV_UNIT vec4
const uint UV = 1;
void unpack_unit(vec4 u, out vec4 v[UV]) { v[0] = u; }
#endif
#if !defined(KV_Q8_0)
#define KV_LOAD_UNIT(buf, rows, i) buf[i]
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint HD4 = 32;  // head_dim / 4
layout(constant_id = 4) const uint G = 4;     // query heads per kv head
layout(constant_id = 5) const uint LG = 32;   // lanes per key (power of two, divides HDU and the subgroup size)
layout(constant_id = 6) const uint U = 4;     // keys per group per step
const uint HDU = HD4 / UV;                    // units per row
const uint CPL = HDU / LG;                    // units per lane
const uint CV = CPL * UV;                     // vec4s per lane
const uint WG = gl_WorkGroupSize.x;
const uint NKG = WG / LG;                     // key groups per workgroup
const uint MAX_SPLIT_ROWS = 1024;             // G * n_splits; the host never uses more

// Bindings 1 and 2 hold the K/V cache in the single-stream kernel; the batched
// one reaches each row's cache through its address instead (load_k/load_v).
layout(std430, binding = 0) readonly buffer QRot { vec4 q_rot[]; };     // (row, set, head, HD4)
layout(std430, binding = 3) coherent buffer PartAcc { vec4 part_acc[]; };  // (row, head, split, HD4)
layout(std430, binding = 4) coherent buffer PartML { vec2 part_ml[]; };    // (row, head, split): max, sum
layout(std430, binding = 5) readonly buffer Sinks { float sink_logit[]; }; // (layer, head)
layout(std430, binding = 6) writeonly buffer Out { vec4 o[]; };            // (row, head, HD4) + out_offset
layout(std430, binding = 7) coherent buffer Count { uint done[]; };        // (row, kv_head): splits finished

// What one query row attends: from the push constants (one stream) or the
// row's descriptor (many streams). Offsets are in the units of their buffers.
struct DecodeParams {
  uint heads, cache_sinks, sinks, window, ring_filled, keys_per_split, n_splits;
  float scale;
  float softcap;
  bool has_sink;
  uint sink_offset;  // this layer's sink logits
  uint out_offset;   // floats: head 0 of this row's output
  uint q_base;       // vec4s: this row's rotated queries
  uint part_base;    // (head, split) rows of this row's partials
  uint done_base;    // this row's split counters
};
DecodeParams P;
KV_UNIT load_k(uint i);  // unit i of this row's (kv_head, slot, HDU) cache
KV_UNIT load_v(uint i);

shared vec2 ml_sh[NKG];
shared vec4 acc_sh[NKG * HD4];
shared vec2 ml_all[MAX_SPLIT_ROWS];  // (head in group, split): max then weight, sum
shared float inv_sh[G];
shared bool last_sh;

float neg_inf() { return uintBitsToFloat(0xff800000u); }

uint lane;   // lane within the key group
uint group;  // key group within the workgroup
vec4 qr[G][CV];  // this lane's vec4s of the rotated queries: unit cc*LG + lane, vec4 i at [cc*UV + i]
vec4 acc[G][CV];
float m_run[G], l_run[G];

// Vec4 index within a row of this lane's vec4 j (unit cc = j / UV, part j % UV).
uint lane_vec4(uint j) { return ((j / UV) * LG + lane) * UV + j % UV; }

void load_queries(uint kvh, uint set) {
  [[unroll]] for (uint g = 0u; g < G; ++g)
    for (uint j = 0u; j < CV; ++j) qr[g][j] = q_rot[P.q_base + (set * P.heads + kvh * G + g) * HD4 + lane_vec4(j)];
}

uint slot_row(uint v, uint kvh) {
  const uint slot = v < P.cache_sinks ? v : P.sinks + (v - P.cache_sinks);
  return (kvh * (P.sinks + P.window) + slot) * HDU;
}

// Scores and accumulates keys [lo, hi), U per group per step.
void attend_range(uint lo, uint hi, uint kvh) {
  const uint step = NKG * U;
  const uint steps = (hi - lo + step - 1u) / step;  // uniform: shuffles need every lane
  for (uint s = 0u; s < steps; ++s) {
    KV_UNIT kraw[U][CPL], vraw[U][CPL];
    bool ok[U];
    [[unroll]] for (uint u = 0u; u < U; ++u) {  // all loads first: they are what is in flight
      const uint v = lo + s * step + u * NKG + group;
      ok[u] = v < hi;
      const uint row = slot_row(ok[u] ? v : lo, kvh);
      [[unroll]] for (uint cc = 0u; cc < CPL; ++cc) {
        kraw[u][cc] = load_k(row + cc * LG + lane);
        vraw[u][cc] = load_v(row + cc * LG + lane);
      }
    }
    vec4 kk[U][CV], vv[U][CV];
    [[unroll]] for (uint u = 0u; u < U; ++u)
      [[unroll]] for (uint cc = 0u; cc < CPL; ++cc) {
        vec4 a[UV], b[UV];
        unpack_unit(kraw[u][cc], a);
        unpack_unit(vraw[u][cc], b);
        [[unroll]] for (uint i = 0u; i < UV; ++i) {
          kk[u][cc * UV + i] = a[i];
          vv[u][cc * UV + i] = b[i];
        }
      }
    [[unroll]] for (uint g = 0u; g < G; ++g) {
      float sc[U];
      float mb = neg_inf();
      [[unroll]] for (uint u = 0u; u < U; ++u) {
        float d = 0.0;
        [[unroll]] for (uint j = 0u; j < CV; ++j) d += dot(qr[g][j], kk[u][j]);
        [[unroll]] for (uint off = LG / 2u; off > 0u; off >>= 1u) d += subgroupShuffleXor(d, off);
        sc[u] = ok[u] ? soft_cap(d * P.scale, P.softcap) : neg_inf();
        mb = max(mb, sc[u]);
      }
      if (mb == neg_inf()) continue;  // uniform within the group
      const float m_new = max(m_run[g], mb);
      const float alpha = m_run[g] == neg_inf() ? 0.0 : exp(m_run[g] - m_new);
      float lsum = l_run[g] * alpha;
      [[unroll]] for (uint j = 0u; j < CV; ++j) acc[g][j] *= alpha;
      [[unroll]] for (uint u = 0u; u < U; ++u) {
        const float p = sc[u] == neg_inf() ? 0.0 : exp(sc[u] - m_new);
        lsum += p;
        [[unroll]] for (uint j = 0u; j < CV; ++j) acc[g][j] += p * vv[u][j];
      }
      m_run[g] = m_new;
      l_run[g] = lsum;
    }
  }
}

// Merges the key groups of this workgroup into split partials of head g.
void write_partials(uint g, uint kvh, uint split) {
  const uint tid = gl_LocalInvocationID.x;
  if (lane == 0u) ml_sh[group] = vec2(m_run[g], l_run[g]);
  barrier();
  float m = neg_inf();
  for (uint j = 0u; j < NKG; ++j) m = max(m, ml_sh[j].x);
  const float scale = m_run[g] == neg_inf() ? 0.0 : exp(m_run[g] - m);
  [[unroll]] for (uint j = 0u; j < CV; ++j) acc_sh[group * HD4 + lane_vec4(j)] = acc[g][j] * scale;
  barrier();
  const uint row = P.part_base + (kvh * G + g) * P.n_splits + split;
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

// Run by the last workgroup of a KV head: combines the splits of all its G
// heads at once. Every step is spread over the whole workgroup and the partial
// loads are unrolled, because this tail runs on one workgroup per KV head while
// the rest of the GPU idles.
void finish_kv_head(uint kvh) {
  const uint tid = gl_LocalInvocationID.x;
  const bool has_sink = P.has_sink;
  const uint n = P.n_splits;
  for (uint i = tid; i < G * n; i += WG) ml_all[i] = part_ml[P.part_base + kvh * G * n + i];
  barrier();
  if (tid < G) {  // per head: global max, split weights, total weight
    const float sink = has_sink ? sink_logit[P.sink_offset + kvh * G + tid] : neg_inf();
    float m = sink;
    for (uint s = 0u; s < n; ++s) m = max(m, ml_all[tid * n + s].x);
    float l = has_sink ? exp(sink - m) : 0.0;
    for (uint s = 0u; s < n; ++s) {
      const vec2 ml = ml_all[tid * n + s];
      const float w = ml.x == neg_inf() ? 0.0 : exp(ml.x - m);
      ml_all[tid * n + s].x = w;
      l += ml.y * w;
    }
    inv_sh[tid] = l > 0.0 ? 1.0 / l : 0.0;
  }
  barrier();
  for (uint i = tid; i < G * HD4; i += WG) {
    const uint g = i / HD4, c = i % HD4;
    const uint base = P.part_base + (kvh * G + g) * n;
    vec4 sum = vec4(0.0);
    uint s = 0u;
    for (; s + 8u <= n; s += 8u) {
      vec4 a[8];
      [[unroll]] for (uint j = 0u; j < 8u; ++j) a[j] = part_acc[(base + s + j) * HD4 + c];
      [[unroll]] for (uint j = 0u; j < 8u; ++j) sum += a[j] * ml_all[g * n + s + j].x;
    }
    for (; s < n; ++s) sum += part_acc[(base + s) * HD4 + c] * ml_all[g * n + s].x;
    o[P.out_offset / 4u + (kvh * G + g) * HD4 + c] = sum * inv_sh[g];
  }
}

// The workgroup's share of one row: split `split` of KV head `kvh`.
void decode_main(uint split, uint kvh) {
  const uint tid = gl_LocalInvocationID.x;
  lane = gl_SubgroupInvocationID % LG;
  group = gl_SubgroupID * (gl_SubgroupSize / LG) + gl_SubgroupInvocationID / LG;
  const uint n_sink_keys = P.cache_sinks;
  const uint n_keys = n_sink_keys + P.ring_filled;
  const uint begin = split * P.keys_per_split;
  const uint end = min(n_keys, begin + P.keys_per_split);
  [[unroll]] for (uint g = 0u; g < G; ++g) {
    m_run[g] = neg_inf();
    l_run[g] = 0.0;
    [[unroll]] for (uint j = 0u; j < CV; ++j) acc[g][j] = vec4(0.0);
  }
  if (begin < min(end, n_sink_keys)) {
    load_queries(kvh, 1u);
    attend_range(begin, min(end, n_sink_keys), kvh);
  }
  if (max(begin, n_sink_keys) < end) {
    load_queries(kvh, 0u);
    attend_range(max(begin, n_sink_keys), end, kvh);
  }
  [[unroll]] for (uint g = 0u; g < G; ++g) write_partials(g, kvh, split);

  // Publish this split, then let the last one of the KV head combine them all.
  memoryBarrierBuffer();
  barrier();
  if (tid == 0u) last_sh = atomicAdd(done[P.done_base + kvh], 1u) == P.n_splits - 1u;
  barrier();
  if (!last_sh) return;
  memoryBarrierBuffer();
  finish_kv_head(kvh);
  if (tid == 0u) done[P.done_base + kvh] = 0u;  // ready for the next layer (after the host's barrier)
}

#endif
