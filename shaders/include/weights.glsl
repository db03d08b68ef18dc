// Reading four consecutive weights of any supported type, dequantised to float.
// The weight buffer is raw 32-bit words (binding WEIGHTS_BINDING). Select the type
// with -DW_F32, W_F16, W_BF16, W_Q8_0, W_Q4_0, or one of the block types of
// weights_blocks.glsl (W_Q4_1 ... W_IQ4_XS, W_MXFP4, which define W_DEQUANT).
// Q8_0 and Q4_0 are not in the file's layout on the GPU: the host re-packs each
// row as its quants (Q8_0: one byte per weight; Q4_0: 16 bytes per 32-weight
// block, nibbles as in the file), then the block scales (float16), then padding
// to 16 bytes, so quant words load aligned (the file's 34- and 18-byte blocks
// put them at 2-byte offsets). The includer defines W_COLS (weights per row).
#ifndef WEIGHTS_GLSL
#define WEIGHTS_GLSL

layout(std430, binding = WEIGHTS_BINDING) readonly buffer Weights { uint wq[]; };
#ifdef WEIGHTS_UP_BINDING
// A second matrix of the same type and shape (the fused gate/up product).
layout(std430, binding = WEIGHTS_UP_BINDING) readonly buffer WeightsUp { uint uq[]; };
uint w_word(bool up, uint i) { return up ? uq[i] : wq[i]; }
#else
uint w_word(bool up, uint i) { return wq[i]; }
#endif

// 32 bits starting at an even byte offset.
uint w_u32(bool up, uint byte_off) {
  const uint i = byte_off >> 2u;
  return (byte_off & 2u) == 0u ? w_word(up, i) : (w_word(up, i) >> 16u) | (w_word(up, i + 1u) << 16u);
}

uint w_u16(bool up, uint byte_off) { return (w_word(up, byte_off >> 2u) >> ((byte_off & 2u) * 8u)) & 0xffffu; }

#include "weights_blocks.glsl"

#if defined(W_F16)
// Four 16-bit weights packed in two words, as floats.
vec4 halves_to_vec4(uint a, uint b) { return vec4(unpackHalf2x16(a), unpackHalf2x16(b)); }
#elif defined(W_BF16)
vec4 halves_to_vec4(uint a, uint b) {
  return vec4(uintBitsToFloat(a << 16u), uintBitsToFloat(a & 0xffff0000u), uintBitsToFloat(b << 16u),
              uintBitsToFloat(b & 0xffff0000u));
}
#endif

// Four int8 quants packed in a word, as floats.
vec4 q8_to_vec4(uint q) {
  return vec4(float(int(q << 24u) >> 24), float(int(q << 16u) >> 24), float(int(q << 8u) >> 24), float(int(q) >> 24));
}

// The low nibbles of a word's four bytes, as floats minus Q4_0's offset of 8.
vec4 q4_to_vec4(uint q) {
  q &= 0x0f0f0f0fu;
  return vec4(float(q & 0xffu), float((q >> 8u) & 0xffu), float((q >> 16u) & 0xffu), float(q >> 24u)) - 8.0;
}

// The float16 scale of the block of 16-weight unit u (two units per 32-weight
// block) of the row starting at byte `row`; 1 for float types. Re-packed rows
// hold their quants first (W_COLS bytes for Q8_0, W_COLS / 2 for Q4_0), then the
// scales.
float fetch_scale(bool up, uint row, uint u) {
#if defined(W_Q8_0)
  return unpackHalf2x16(w_u16(up, row + W_COLS + (u / 2u) * 2u)).x;
#elif defined(W_Q4_0)
  return unpackHalf2x16(w_u16(up, row + W_COLS / 2u + (u / 2u) * 2u)).x;
#else
  return 1.0;
#endif
}

// Weights k..k+3 (k a multiple of 4) of the row starting at byte `row` (of the
// up matrix when `up`).
vec4 load_w4_of(bool up, uint row, uint k) {
#if defined(W_F32)
  const uint o = row + k * 4u;
  return vec4(uintBitsToFloat(w_u32(up, o)), uintBitsToFloat(w_u32(up, o + 4u)), uintBitsToFloat(w_u32(up, o + 8u)),
              uintBitsToFloat(w_u32(up, o + 12u)));
#elif defined(W_F16) || defined(W_BF16)
  const uint o = row + k * 2u;
  return halves_to_vec4(w_u32(up, o), w_u32(up, o + 4u));
#elif defined(W_Q8_0)
  // row: W_COLS int8 quants, then a float16 scale per 32-weight block
  const float d = fetch_scale(up, row, k >> 4u);
  return d * q8_to_vec4(w_word(up, (row + k) >> 2u));
#elif defined(W_DEQUANT)
  return dequant4(up, row, k);
#elif defined(W_Q4_0)
  // row: 16 bytes per block (element j < 16 is the low nibble of byte j, j >= 16
  // the high nibble of byte j - 16), then a float16 scale per block
  const float d = fetch_scale(up, row, k >> 4u);
  const uint j = k & 31u;
  const uint q = w_word(up, (row + (k >> 5u) * 16u + (j & 15u)) >> 2u);
  return d * q4_to_vec4(j < 16u ? q : q >> 4u);
#else
#error "define one of W_F32, W_F16, W_BF16, W_Q8_0, W_Q4_0 or a type of weights_blocks.glsl"
#endif
}

vec4 load_w4(uint row, uint k) { return load_w4_of(false, row, k); }

#ifdef WEIGHTS_UNITS
// Weights in 16-byte units, for kernels that load whole units (the includer
// defines WEIGHTS_UNITS and uses it only where rows are 16-byte aligned: F16 / BF16
// rows of a multiple of 8 weights, F32 of 4, and the padded Q8_0 / Q4_0 rows).
// A unit is 8 halves, 4 floats, or half a quantised block: Q4_0's two halves of a
// block both load its 16 bytes, low nibbles for the first, high for the second.
layout(std430, binding = WEIGHTS_BINDING) readonly buffer Weights4 { uvec4 wq4[]; };
#ifdef WEIGHTS_UP_BINDING
layout(std430, binding = WEIGHTS_UP_BINDING) readonly buffer WeightsUp4 { uvec4 uq4[]; };
uvec4 w_unit_at(bool up, uint i) { return up ? uq4[i] : wq4[i]; }
#else
uvec4 w_unit_at(bool up, uint i) { return wq4[i]; }
#endif

// The 16 bytes of unit u of the row starting at byte `row`.
uvec4 fetch_unit(bool up, uint row, uint u) {
#if defined(W_Q4_0)
  return w_unit_at(up, (row + (u / 2u) * 16u) / 16u);
#else
  return w_unit_at(up, (row + u * 16u) / 16u);
#endif
}

#if defined(W_Q8_0) || defined(W_Q4_0)
// Quants 4c..4c+3 of unit u, whose 16 bytes are w, as floats (the scale not applied).
vec4 unit_quants(uvec4 w, uint u, uint c) {
#if defined(W_Q8_0)
  return q8_to_vec4(w[c]);
#else
  return q4_to_vec4(w[c] >> ((u % 2u) * 4u));
#endif
}
#endif
#endif  // WEIGHTS_UNITS

#endif
