#version 450
// [[unroll]] on loops that index register arrays: a rolled loop indexes them at run
// time, which keeps them out of registers (H100 prefill was 1.75x slower so).
#extension GL_EXT_control_flow_attributes : require
// The chunk (prefill) product on cooperative matrices (VK_NV_cooperative_matrix):
// out[m][n] (+)= sum_k x[m][k] * W[n][k] (+ bias[n]), with the bindings and push
// constants of matmul.comp. A workgroup of (BM / (16 TM)) x WN subgroups (32
// wide) owns BM tokens x BN weight rows. Each k step stages x and the weights in shared
// memory as float16 while the next step's global loads are already in flight;
// each subgroup accumulates a 16 TM x BN/WN block of the tile in float32.
// Staging, not the tensor cores, bounds this kernel on the H100 (dropping the lo
// products gained only 9%), hence: float16 weights are copied to shared memory as
// they are, and quantised weights, whose dequantisation and split is the costly
// part, take 128-token tiles for the wide matrices so each staged tile serves
// twice the tokens (the engine's coop_tile() has the measurements).
// Precision: float16 operands alone put 3e-3 errors on the test models' logits
// (the portable kernels are held to 1e-3). So x is split into a float16 head and
// the float16 of its remainder (x ~ hi + lo to about 22 bits), and so are the
// weights where float16 does not hold them exactly (F32, and the d * q products
// of Q8_0 / Q4_0): the product is hi*hi + lo*hi (+ hi*lo), each on the tensor cores.
// The engine uses it only where k_cols % 32 == 0 (k_cols / k_splits too) and the
// device has the shape (16x16x16, f16 x f16 + f32) with 32-wide subgroups.
#extension GL_GOOGLE_include_directive : require
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define PC_MATMUL
#define WEIGHTS_BINDING 1
#define W_COLS pc.k_cols
// 16-byte weight units (weights.glsl): F16 rows are k_cols * 2 bytes, a multiple of
// 64 where the engine uses this kernel; Q8_0 / Q4_0 rows are padded to 16 bytes.
#define WEIGHTS_UNITS
#ifdef COOP_GLU
#define WEIGHTS_UP_BINDING 4
#endif
#include "model_pc.glsl"
#include "weights.glsl"

#ifndef COOP_BM
#define COOP_BM 64  // tokens per workgroup: 16 TM per subgroup row
#endif
#ifndef COOP_TM
// 16-token fragments per subgroup. 2 is the measured best on the H200 (F16 pp512,
// docs/performance.md, 2026-12-04): 4 (64 x 64 per subgroup) needs 249-255
// registers and lost 23-45% of pp512; 1 (114 registers, twice the subgroups) took
// 15-36% longer per product.
#define COOP_TM 2
#endif
#ifndef COOP_BN
#define COOP_BN 128  // weight rows per workgroup: 128, or 64 for matrices too narrow to fill the GPU
#endif
#ifndef COOP_WN
#define COOP_WN 2  // subgroups side by side along the rows
#endif
#ifndef COOP_BK
// k per staging step; the quantised staging assumes 32 (one block). 64 for F16
// (half the barriers per product, 222 registers, 40 KiB shared) lost 21% of
// pp512 on the H200 (docs/performance.md, 2026-12-04, eleventh session).
#define COOP_BK 32
#endif
#define COOP_THREADS (32 * (COOP_BM / (16 * COOP_TM)) * COOP_WN)
layout(local_size_x = COOP_THREADS) in;
const uint BM = COOP_BM, BN = COOP_BN, BK = COOP_BK, WN = COOP_WN, TM = COOP_TM, T = COOP_THREADS;
const uint NSG = T / 32u;
const uint RN = BN / WN;     // rows per subgroup
const uint NF = RN / 16u;    // 16-row fragments per subgroup
const uint KG = BK / 8u;     // groups of 8 along k
const uint XGR = BM * KG / T;  // groups of 8 x values each thread fetches per step
const uint WGR = BN * KG / T;  // groups of 8 weights each thread fetches per step
// A shared row is BK halves = KG uvec4, padded by one against bank conflicts
// (keeps every fragment 16-byte aligned). The engine's coop_shared_bytes()
// mirrors these sizes.
const uint PITCH = KG + 1u;

#ifdef COOP_GLU
// gate and up in one product, out = silu(x W^T) * (x U^T) (SwiGLU; no bias, no
// residual): tile row r is gate row n0 + r for the first BN / 2 and up row
// n0 + r - BN / 2 for the rest, so with WN = 2 subgroup column 0 accumulates gate
// and column 1 up for the same outputs.
const uint OUT_N = BN / 2u;  // outputs per workgroup
bool row_is_up(uint r) { return r >= OUT_N; }
uint row_n(uint n0, uint r) { return n0 + r % OUT_N; }
#else
const uint OUT_N = BN;
bool row_is_up(uint r) { return false; }
uint row_n(uint n0, uint r) { return n0 + r; }
#endif

layout(std430, binding = 0) readonly buffer X { vec4 x[]; };        // (token, k / 4), strided
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };  // (n)
layout(std430, binding = 3) buffer Out { float o[]; };               // (token, n), strided

#if defined(W_F16) || defined(W_BF16)
#define SPLIT_W 0  // float16 holds these weights exactly (BF16: within its exponent range)
#else
#define SPLIT_W 1
#endif

shared uvec4 xs[2u * BM * PITCH];  // (hi|lo, token, k / 8) of this step, 8 halves each
shared uvec4 ws[(1u + SPLIT_W) * BN * PITCH];  // (hi|lo, row, k / 8) of this step
shared float cs[NSG * 256u];   // (subgroup, 16 x 16): one accumulator on its way out

// This thread's share of the next step: XGR groups of 8 x values, WGR of 8 weights.
vec4 xr[2u * XGR];
#if defined(W_F16)
uvec4 wr[WGR];  // float16 weights go to shared memory as they are, one unit (8 halves) per load
#elif defined(W_Q8_0) || defined(W_Q4_0)
// Quantised weights travel raw, in units of 16 weights of one row (a k step is
// one 32-weight block, so two units): one 16-byte load and one scale per unit,
// dequantised and split only when staged.
#define W_QUANT
#if COOP_BK != 32
#error "quantised weights stage one 32-weight block per k step"
#endif
const uint QU = BN * 2u / T;  // units per thread
uvec4 wqu[QU];                // Q8_0: the unit's 16 quants; Q4_0: the block's 16 bytes
float wd[QU];                 // the block's scale
#else
vec4 wr[2u * WGR];
#endif

void fetch(uint m0, uint n0, uint k0) {
  const uint tid = gl_LocalInvocationID.x;
  [[unroll]] for (uint i = 0u; i < XGR; ++i) {
    const uint g = tid + i * T, m = m0 + g / KG, k = k0 + (g % KG) * 8u;
    const uint at = (pc.x_offset + m * pc.x_stride + k) / 4u;
    xr[2u * i] = m < pc.m_rows ? x[at] : vec4(0.0);
    xr[2u * i + 1u] = m < pc.m_rows ? x[at + 1u] : vec4(0.0);
  }
#ifdef W_QUANT
  [[unroll]] for (uint i = 0u; i < QU; ++i) {
    const uint u = tid + i * T, r = u / 2u, n = row_n(n0, r), row = n * pc.row_bytes;
    const uint unit = k0 / 16u + u % 2u;
    wqu[i] = n < pc.n_rows ? fetch_unit(row_is_up(r), row, unit) : uvec4(0u);
    wd[i] = n < pc.n_rows ? fetch_scale(row_is_up(r), row, unit) : 0.0;
  }
#else
  [[unroll]] for (uint i = 0u; i < WGR; ++i) {
    const uint g = tid + i * T, r = g / KG, n = row_n(n0, r), k = k0 + (g % KG) * 8u;
    const bool up = row_is_up(r);
#ifdef W_F16
    wr[i] = n < pc.n_rows ? fetch_unit(up, n * pc.row_bytes, k / 8u) : uvec4(0u);
#else
    wr[2u * i] = n < pc.n_rows ? load_w4_of(up, n * pc.row_bytes, k) : vec4(0.0);
    wr[2u * i + 1u] = n < pc.n_rows ? load_w4_of(up, n * pc.row_bytes, k + 4u) : vec4(0.0);
#endif
  }
#endif
}

uvec4 pack8(vec4 a, vec4 b) {
  return uvec4(packHalf2x16(a.xy), packHalf2x16(a.zw), packHalf2x16(b.xy), packHalf2x16(b.zw));
}

#include "split16.glsl"

// Eight values as their float16 head at hi and the float16 of the rest at lo.
void put_split(inout uvec4 hi, inout uvec4 lo, vec4 a, vec4 b) {
  const vec4 ha = head16(a), hb = head16(b);
  hi = pack8(ha, hb);
  lo = pack8(a - ha, b - hb);
}

void stage() {
  const uint tid = gl_LocalInvocationID.x;
  [[unroll]] for (uint i = 0u; i < XGR; ++i) {
    const uint g = tid + i * T, at = (g / KG) * PITCH + g % KG;
    put_split(xs[at], xs[BM * PITCH + at], xr[2u * i], xr[2u * i + 1u]);
  }
#ifdef W_QUANT
  [[unroll]] for (uint i = 0u; i < QU; ++i) {
    const uint u = tid + i * T, at = (u / 2u) * PITCH + (u % 2u) * 2u;
    vec4 w[4];  // the unit is k0 / 16 + u % 2, and k0 / 16 is even
    [[unroll]] for (uint c = 0u; c < 4u; ++c) w[c] = wd[i] * unit_quants(wqu[i], u % 2u, c);
    put_split(ws[at], ws[BN * PITCH + at], w[0], w[1]);
    put_split(ws[at + 1u], ws[BN * PITCH + at + 1u], w[2], w[3]);
  }
#else
  [[unroll]] for (uint i = 0u; i < WGR; ++i) {
    const uint g = tid + i * T, at = (g / KG) * PITCH + g % KG;
#if defined(W_F16)
    ws[at] = wr[i];
#elif SPLIT_W
    put_split(ws[at], ws[BN * PITCH + at], wr[2u * i], wr[2u * i + 1u]);
#else
    ws[at] = pack8(wr[2u * i], wr[2u * i + 1u]);
#endif
  }
#endif
}

void main() {
  // Rows may need more workgroups than one grid dimension allows (large vocabularies).
  const uint n0 = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * OUT_N;
  // z walks (token block, split): with k_splits > 1 each workgroup sums one
  // contiguous share of K and writes it to its own plane of out (no bias, no
  // residual), which matmul_reduce.comp adds up.
  const uint splits = max(pc.k_splits, 1u), split = gl_WorkGroupID.z % splits;
  const uint m0 = gl_WorkGroupID.z / splits * BM;
  const uint k_len = pc.k_cols / splits, k_begin = split * k_len, k_end = k_begin + k_len;
  if (n0 >= pc.n_rows) return;  // uniform per workgroup
  const uint sg = gl_SubgroupID, wm = sg / WN, wn = sg % WN;

  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[TM * NF];  // (TM token blocks, NF row blocks)
  [[unroll]] for (uint f = 0u; f < TM * NF; ++f) acc[f] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);

  fetch(m0, n0, k_begin);
  for (uint k0 = k_begin; k0 < k_end; k0 += BK) {
    stage();
    barrier();
    if (k0 + BK < k_end) fetch(m0, n0, k0 + BK);
    [[unroll]] for (uint kk = 0u; kk < BK / 8u; kk += 2u) {
      fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> a[TM], al[TM], b[NF];
      [[unroll]] for (uint i = 0u; i < TM; ++i) {
        const uint at = (wm * 16u * TM + i * 16u) * PITCH + kk;
        coopMatLoadNV(a[i], xs, at, PITCH, false);
        coopMatLoadNV(al[i], xs, BM * PITCH + at, PITCH, false);
      }
      // W is stored (row, k): a column-major K x N operand.
      [[unroll]] for (uint j = 0u; j < NF; ++j) coopMatLoadNV(b[j], ws, (wn * RN + j * 16u) * PITCH + kk, PITCH, true);
      [[unroll]] for (uint i = 0u; i < TM; ++i)
        [[unroll]] for (uint j = 0u; j < NF; ++j)
          acc[i * NF + j] = coopMatMulAddNV(a[i], b[j], coopMatMulAddNV(al[i], b[j], acc[i * NF + j]));
#if SPLIT_W
      [[unroll]] for (uint j = 0u; j < NF; ++j)
        coopMatLoadNV(b[j], ws, BN * PITCH + (wn * RN + j * 16u) * PITCH + kk, PITCH, true);
      [[unroll]] for (uint i = 0u; i < TM; ++i)
        [[unroll]] for (uint j = 0u; j < NF; ++j) acc[i * NF + j] = coopMatMulAddNV(a[i], b[j], acc[i * NF + j]);
#endif
    }
    barrier();
  }

#ifdef COOP_GLU
  // The gate and up accumulators of the same outputs meet in shared memory; each
  // subgroup of the pair writes half of silu(gate) * up (as swiglu.comp computes it).
  const uint lane = gl_SubgroupInvocationID, pair = sg - wn;
  [[unroll]] for (uint f = 0u; f < TM * NF; ++f) {
    coopMatStoreNV(acc[f], cs, sg * 256u, 16u, false);
    barrier();
    const uint mb = m0 + wm * 16u * TM + (f / NF) * 16u, nb = n0 + (f % NF) * 16u;
    for (uint e = wn * 128u + lane; e < wn * 128u + 128u; e += gl_SubgroupSize) {
      const uint m = mb + e / 16u, n = nb + e % 16u;
      if (m < pc.m_rows && n < pc.n_rows) {
        const float g = cs[pair * 256u + e];
        o[pc.out_offset + m * pc.out_stride + n] = g / (1.0 + exp(-g)) * cs[(pair + 1u) * 256u + e];
      }
    }
    barrier();
  }
#else
  // Each accumulator goes through shared memory so the store can check bounds
  // and add the bias or the residual.
  const uint lane = gl_SubgroupInvocationID;
  [[unroll]] for (uint f = 0u; f < TM * NF; ++f) {
    coopMatStoreNV(acc[f], cs, sg * 256u, 16u, false);
    subgroupMemoryBarrierShared();
    subgroupBarrier();
    const uint mb = m0 + wm * 16u * TM + (f / NF) * 16u, nb = n0 + wn * RN + (f % NF) * 16u;
    for (uint e = lane; e < 256u; e += gl_SubgroupSize) {
      const uint m = mb + e / 16u, n = nb + e % 16u;
      if (m < pc.m_rows && n < pc.n_rows) {
        float s = cs[sg * 256u + e];
        if (pc.has_bias != 0u) s += bias[n];
        const uint at = pc.out_offset + (split * pc.m_rows + m) * pc.out_stride + n;
        o[at] = pc.accumulate != 0u ? o[at] + s : s;
      }
    }
    subgroupBarrier();
  }
#endif
}
