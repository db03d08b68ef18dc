#version 450
// [[unroll]] on loops that index register arrays: a rolled loop indexes them at run
// time, which keeps them out of registers (H100 prefill was 1.75x slower so).
#extension GL_EXT_control_flow_attributes : require
// Decode matrix-vector product: out[t][n] (+)= sum_k xin[t][k] * W[n][k] (+ bias[n]) for
// the pc.tokens tokens t of a step (several streams' decode rows): the weights are
// loaded into registers once and dotted with each token's x in turn, so every
// token's sum is computed exactly as a one-token dispatch computes it.
// A workgroup owns ROWS weight rows; every thread holds its slice of x in
// registers (UPT units, unit = one 16-byte load: 8 halfs, 4 floats, or half a
// quantised block plus its scale) and reads the matching units of each row; partial sums meet
// in a subgroupAdd and one small shared-memory step.
// Optional fusions (specialization constants):
//   NORM   xin = rmsnorm(x) * norm_w, from the registers, one barrier
//   SWIGLU a second weight matrix (up): out[n] = silu(W.xin) * (U.xin)
// -DINT_DOT (Q8_0, Q4_0): each unit of xin is quantised to int8 (scale max|x| / 127,
// round to even) and dotted with the weights' quants by the integer dot product
// (OpSDot, VK_KHR_shader_integer_dot_product), 4 pairs per instruction.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#ifdef INT_DOT
#extension GL_EXT_spirv_intrinsics : require
#endif
#define PC_MATVEC
#define WEIGHTS_BINDING 1
#define W_COLS pc.k_cols
#define WEIGHTS_UP_BINDING 5
#define WEIGHTS_UNITS  // the host takes this kernel only when K is a multiple of 8
#include "model_pc.glsl"
#include "weights.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint ROWS = 2;       // weight rows per workgroup
layout(constant_id = 4) const bool NORM = false;   // fused RMSNorm of x
layout(constant_id = 5) const bool SWIGLU = false; // fused up matrix and SwiGLU
layout(constant_id = 6) const uint UPT = 2;        // units per thread: ceil(K / UNIT / WG)
const uint WG = gl_WorkGroupSize.x;

layout(std430, binding = 0) readonly buffer X { vec4 x[]; };          // (token, k / 4)
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };   // (n)
layout(std430, binding = 3) buffer Out { float o[]; };                // (token, n)
layout(std430, binding = 4) readonly buffer NormW { vec4 norm_w[]; }; // (k / 4)
#if defined(W_F16) || defined(W_BF16)
const uint UNIT = 8u;
#elif defined(W_F32)
const uint UNIT = 4u;
#elif defined(W_DEQUANT)
// The block types of weights_blocks.glsl: 16 weights, decoded when loaded.
const uint UNIT = 16u;
#else
// Half a 32-weight block (Q4_0: both halves load the block's 16 bytes, low
// nibbles for the first, high for the second; whole blocks per thread left half
// the threads idle at K = 2048).
const uint UNIT = 16u;
#endif
const uint V = UNIT / 4u;  // vec4s of x per unit


shared float sg_sums[32];
shared float red[2u * ROWS * 32u];  // (gate|up, row, subgroup)

vec4 xr[UPT * V];  // this thread's units of xin

#ifdef INT_DOT
// OpSDot (4450) on 4x8-bit packed vectors (format 0); capabilities DotProduct, DotProductInput4x8BitPacked.
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4450)
int sdot4x8(uint a, uint b, spirv_literal int packed_format);
uvec4 xq[UPT];  // (unit) this thread's units of xin as int8, four to a word
float xs[UPT];  // (unit) their scales

int pack_i8(vec4 v) { return (int(v.x) & 0xff) | (int(v.y) & 0xff) << 8 | (int(v.z) & 0xff) << 16 | int(v.w) << 24; }

void quantize_x() {
  [[unroll]] for (uint j = 0u; j < UPT; ++j) {
    const vec4 a = max(max(abs(xr[j * 4u]), abs(xr[j * 4u + 1u])), max(abs(xr[j * 4u + 2u]), abs(xr[j * 4u + 3u])));
    const float m = max(max(a.x, a.y), max(a.z, a.w));
    const float inv = m > 0.0 ? 127.0 / m : 0.0;
    xs[j] = m / 127.0;
    [[unroll]] for (uint c = 0u; c < 4u; ++c) xq[j][c] = uint(pack_i8(roundEven(xr[j * 4u + c] * inv)));
  }
}

// Unit u (this thread's j-th) of a row, its 16 bytes w and scale d, dotted with xq.
// Q4_0's nibbles are 0..15 as int8: minus 8 times the sum of x's quants.
float unit_dot_int(uvec4 w, float d, uint u, uint j) {
  int s = 0;
#ifdef W_Q8_0
  [[unroll]] for (uint c = 0u; c < 4u; ++c) s += sdot4x8(w[c], xq[j][c], 0);
#else
  [[unroll]] for (uint c = 0u; c < 4u; ++c)
    s += sdot4x8((w[c] >> ((u % 2u) * 4u)) & 0x0f0f0f0fu, xq[j][c], 0) - 8 * sdot4x8(0x01010101u, xq[j][c], 0);
#endif
  return d * xs[j] * float(s);
}
#endif

// This thread's units of its ROWS rows (and of the up matrix), loaded before x so
// that their memory latency overlaps the x load and the RMSNorm reduction.
#ifdef W_DEQUANT
vec4 wv[ROWS * UPT * 4u], uv[ROWS * UPT * 4u];  // (row, unit, 4 weights): decoded weights
#else
uvec4 wr[ROWS * UPT], ur[ROWS * UPT];  // (row, unit)
float wd[ROWS * UPT], ud[ROWS * UPT];  // (row, unit): block scales
#endif

void load_w(uint first) {
  const uint units = pc.k_cols / UNIT;
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
    const uint row = min(first + r, pc.n_rows - 1u) * pc.row_bytes;  // past the end: unused
    [[unroll]] for (uint j = 0u; j < UPT; ++j) {
      const uint u = min(gl_LocalInvocationID.x + j * WG, units - 1u);  // likewise
#ifdef W_DEQUANT
      // One scale per unit (weights_blocks.glsl), decoded as dequant4() does.
      const vec2 s = blk_scale(false, row, u * UNIT), su = SWIGLU ? blk_scale(true, row, u * UNIT) : vec2(0.0);
      [[unroll]] for (uint c = 0u; c < 4u; ++c) {
        wv[(r * UPT + j) * 4u + c] = s.x * blk_quants(false, row, u * UNIT + c * 4u) - s.y;
        if (SWIGLU) uv[(r * UPT + j) * 4u + c] = su.x * blk_quants(true, row, u * UNIT + c * 4u) - su.y;
      }
#else
      wr[r * UPT + j] = fetch_unit(false, row, u);
      wd[r * UPT + j] = fetch_scale(false, row, u);
      if (!SWIGLU) continue;
      ur[r * UPT + j] = fetch_unit(true, row, u);
      ud[r * UPT + j] = fetch_scale(true, row, u);
#endif
    }
  }
}

// Unit u (this thread's j-th) of a row: its 16 bytes w and scale d, dotted with x.
float unit_dot(uvec4 w, float d, uint u, uint j) {
#if defined(W_F16) || defined(W_BF16)
  return dot(halves_to_vec4(w.x, w.y), xr[j * 2u]) + dot(halves_to_vec4(w.z, w.w), xr[j * 2u + 1u]);
#elif defined(W_F32)
  return dot(uintBitsToFloat(w), xr[j]);
#elif !defined(W_DEQUANT)
  return d * (dot(unit_quants(w, u, 0u), xr[j * 4u]) + dot(unit_quants(w, u, 1u), xr[j * 4u + 1u]) +
              dot(unit_quants(w, u, 2u), xr[j * 4u + 2u]) + dot(unit_quants(w, u, 3u), xr[j * 4u + 3u]));
#else
  return 0.0;  // not used: the block types decode when loading (unit_dot_dq)
#endif
}

#ifdef W_DEQUANT
// Decoded unit i (row, unit) of the gate or up matrix, dotted with this thread's j-th unit of x.
float unit_dot_dq(bool up, uint i, uint j) {
  float s = 0.0;
  [[unroll]] for (uint c = 0u; c < 4u; ++c) s += dot(up ? uv[i * 4u + c] : wv[i * 4u + c], xr[j * 4u + c]);
  return s;
}
#endif

void load_x(uint x_offset) {
  const uint units = pc.k_cols / UNIT;
  [[unroll]] for (uint j = 0u; j < UPT; ++j) {
    const uint u = gl_LocalInvocationID.x + j * WG;
    [[unroll]] for (uint v = 0u; v < V; ++v) xr[j * V + v] = u < units ? x[x_offset / 4u + u * V + v] : vec4(0.0);
  }
  if (!NORM) return;
  float ss = 0.0;
  [[unroll]] for (uint i = 0u; i < UPT * V; ++i) ss += dot(xr[i], xr[i]);
  ss = subgroupAdd(ss);
  if (subgroupElect()) sg_sums[gl_SubgroupID] = ss;
  barrier();
  float total = 0.0;
  for (uint s = 0u; s < gl_NumSubgroups; ++s) total += sg_sums[s];
  const float scale = inversesqrt(total / float(pc.k_cols) + pc.eps);
  [[unroll]] for (uint j = 0u; j < UPT; ++j) {
    const uint u = gl_LocalInvocationID.x + j * WG;
    [[unroll]] for (uint v = 0u; v < V; ++v) xr[j * V + v] *= u < units ? scale * norm_w[u * V + v] : vec4(0.0);
  }
}

// Token t's dots with the ROWS rows in registers, summed into out row t.
void token(uint first, uint t) {
  load_x(pc.x_offset + t * pc.k_cols);
#ifdef INT_DOT
  quantize_x();
#endif
  const uint units = pc.k_cols / UNIT;
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
    float acc = 0.0, acc_up = 0.0;  // rows past the end: harmless duplicate work, not written
    [[unroll]] for (uint j = 0u; j < UPT; ++j) {
      const uint u = gl_LocalInvocationID.x + j * WG;
      if (u >= units) break;
#ifdef W_DEQUANT
      acc += unit_dot_dq(false, r * UPT + j, j);
      if (SWIGLU) acc_up += unit_dot_dq(true, r * UPT + j, j);
#elif defined(INT_DOT)
      acc += unit_dot_int(wr[r * UPT + j], wd[r * UPT + j], u, j);
      if (SWIGLU) acc_up += unit_dot_int(ur[r * UPT + j], ud[r * UPT + j], u, j);
#else
      acc += unit_dot(wr[r * UPT + j], wd[r * UPT + j], u, j);
      if (SWIGLU) acc_up += unit_dot(ur[r * UPT + j], ud[r * UPT + j], u, j);
#endif
    }
    acc = subgroupAdd(acc);
    if (SWIGLU) acc_up = subgroupAdd(acc_up);
    if (subgroupElect()) {
      red[r * 32u + gl_SubgroupID] = acc;
      red[(ROWS + r) * 32u + gl_SubgroupID] = acc_up;
    }
  }
  barrier();
  const uint r = gl_LocalInvocationID.x, n = first + r;
  if (r < ROWS && n < pc.n_rows) {
    float v = pc.has_bias != 0u ? bias[n] : 0.0, up = 0.0;
    for (uint s = 0u; s < gl_NumSubgroups; ++s) {
      v += red[r * 32u + s];
      up += red[(ROWS + r) * 32u + s];
    }
    if (SWIGLU) v = v / (1.0 + exp(-v)) * up;
    const uint at = pc.out_offset + t * pc.n_rows + n;
    o[at] = pc.accumulate != 0u ? o[at] + v : v;
  }
  barrier();  // red[] and sg_sums[] are the next token's
}

void main() {
  const uint first = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * ROWS;
  load_w(first);
  for (uint t = 0u; t < pc.tokens; ++t) token(first, t);
}
