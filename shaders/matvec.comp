#version 450
// Decode matrix-vector product, one token: out[n] (+)= sum_k xin[k] * W[n][k] (+ bias[n]).
// Each subgroup owns RS weight rows; lanes stride over the row in units read
// with 16-byte loads (8 halfs, 4 floats) or one quantised block, and meet in
// one subgroupAdd: no shared-memory reduction, no barrier on the hot path.
// Optional fusions (specialization constants):
//   NORM   xin = rmsnorm(x) * norm_w, staged once per workgroup in shared memory
//   SWIGLU a second weight matrix (up): out[n] = silu(W.xin) * (U.xin)
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#define PC_MATVEC
#define WEIGHTS_BINDING 1
#define WEIGHTS_UP_BINDING 5
#include "model_pc.glsl"
#include "weights.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint RS = 2;         // weight rows per subgroup
layout(constant_id = 4) const bool NORM = false;   // fused RMSNorm of x
layout(constant_id = 5) const bool SWIGLU = false; // fused up matrix and SwiGLU
layout(constant_id = 6) const uint MAX_K4 = 2048;  // shared x capacity, in vec4 (NORM only)
layout(constant_id = 7) const uint ROWS = 8;       // rows per workgroup: any subgroup size covers them

layout(std430, binding = 0) readonly buffer X { vec4 x[]; };          // (k / 4)
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };   // (n)
layout(std430, binding = 3) buffer Out { float o[]; };                // (n)
layout(std430, binding = 4) readonly buffer NormW { vec4 norm_w[]; }; // (k / 4)
// 16-byte views of the weights for the unquantised types (rows are 16-byte aligned:
// the host takes this kernel only when K is a multiple of 8).
layout(std430, binding = 1) readonly buffer Weights4 { uvec4 wq4[]; };
layout(std430, binding = 5) readonly buffer WeightsUp4 { uvec4 uq4[]; };

shared vec4 xs[NORM ? MAX_K4 : 1];
shared float sg_sums[32];

vec4 xin(uint i) { return NORM ? xs[i] : x[pc.x_offset / 4u + i]; }

// One unit of a row dotted with xin: F16/BF16 units are 8 weights (one 16-byte
// load), F32 4, Q8_0/Q4_0 one 32-weight block.
#if defined(W_F16) || defined(W_BF16)
const uint UNIT = 8u;
#elif defined(W_F32)
const uint UNIT = 4u;
#else
const uint UNIT = 32u;
#endif

float unit_dot(bool up, uint row, uint u) {
#if defined(W_F16) || defined(W_BF16) || defined(W_F32)
  const uint i = (row + u * UNIT * (UNIT == 4u ? 4u : 2u)) / 16u;
  const uvec4 w = up ? uq4[i] : wq4[i];
#endif
#if defined(W_F16)
  return dot(vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y)), xin(2u * u)) +
         dot(vec4(unpackHalf2x16(w.z), unpackHalf2x16(w.w)), xin(2u * u + 1u));
#elif defined(W_BF16)
  const vec4 a = vec4(uintBitsToFloat(w.x << 16u), uintBitsToFloat(w.x & 0xffff0000u), uintBitsToFloat(w.y << 16u),
                      uintBitsToFloat(w.y & 0xffff0000u));
  const vec4 b = vec4(uintBitsToFloat(w.z << 16u), uintBitsToFloat(w.z & 0xffff0000u), uintBitsToFloat(w.w << 16u),
                      uintBitsToFloat(w.w & 0xffff0000u));
  return dot(a, xin(2u * u)) + dot(b, xin(2u * u + 1u));
#elif defined(W_F32)
  return dot(uintBitsToFloat(w), xin(u));
#else
  float s = 0.0;
  for (uint j = 0u; j < 8u; ++j) s += dot(load_w4_of(up, row, u * 32u + j * 4u), xin(u * 8u + j));
  return s;
#endif
}

void stage_normed_x() {
  const uint k4 = pc.k_cols / 4u;
  float ss = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < k4; i += gl_WorkGroupSize.x) {
    const vec4 v = x[pc.x_offset / 4u + i];
    xs[i] = v;
    ss += dot(v, v);
  }
  ss = subgroupAdd(ss);
  if (subgroupElect()) sg_sums[gl_SubgroupID] = ss;
  barrier();
  float total = 0.0;
  for (uint s = 0u; s < gl_NumSubgroups; ++s) total += sg_sums[s];
  const float scale = inversesqrt(total / float(pc.k_cols) + pc.eps);
  for (uint i = gl_LocalInvocationID.x; i < k4; i += gl_WorkGroupSize.x) xs[i] *= scale * norm_w[i];
  barrier();
}

void main() {
  if (NORM) stage_normed_x();
  const uint first = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * ROWS;
  const uint end = min(first + ROWS, pc.n_rows);
  const uint units = pc.k_cols / UNIT;
  for (uint n0 = first + gl_SubgroupID * RS; n0 < end; n0 += gl_NumSubgroups * RS) {
    float acc[RS], acc_up[RS];
    for (uint r = 0u; r < RS; ++r) acc[r] = acc_up[r] = 0.0;
    for (uint u = gl_SubgroupInvocationID; u < units; u += gl_SubgroupSize)
      for (uint r = 0u; r < RS; ++r) {
        if (n0 + r >= end) break;
        acc[r] += unit_dot(false, (n0 + r) * pc.row_bytes, u);
        if (SWIGLU) acc_up[r] += unit_dot(true, (n0 + r) * pc.row_bytes, u);
      }
    for (uint r = 0u; r < RS; ++r) {
      const float s = subgroupAdd(acc[r]);
      const float up = SWIGLU ? subgroupAdd(acc_up[r]) : 0.0;
      const uint n = n0 + r;
      if (!subgroupElect() || n >= end) continue;
      float v = s + (pc.has_bias != 0u ? bias[n] : 0.0);
      if (SWIGLU) v = v / (1.0 + exp(-v)) * up;
      const uint at = pc.out_offset + n;
      o[at] = pc.accumulate != 0u ? o[at] + v : v;
    }
  }
}
