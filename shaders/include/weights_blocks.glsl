// ggml's block types read in the file's own layout (no re-packing at upload):
// dequant4() decodes weights k..k+3 (k a multiple of 4) of the row starting at
// byte `row`, bit for bit as src/format/quant_types.cpp (and ggml's
// dequantize_row_*). Every product of a scale and a quant below is exact in
// float32 (at most 24 significant bits: float16 11, sub-block scale <= 8, quant
// <= 7), so the one rounding of the types with a min (d q - m) is the same
// whether or not the compiler fuses it. MXFP4's products (a power of two times
// a level of at most 12) are exact too, but for scales 2^-128 and 2^-127 (e < 2),
// float32 subnormals, which a GPU may flush to zero.
// Included by weights.glsl after w_word / w_u16 / w_u32.
#if defined(W_Q4_1) || defined(W_Q5_0) || defined(W_Q5_1) || defined(W_Q2_K) || defined(W_Q3_K) || \
    defined(W_Q4_K) || defined(W_Q5_K) || defined(W_Q6_K) || defined(W_IQ4_NL) || defined(W_IQ4_XS) || \
    defined(W_MXFP4)
#define W_DEQUANT
#if defined(W_Q4_1)
const uint BLK_BYTES = 20u;
#elif defined(W_Q5_0)
const uint BLK_BYTES = 22u;
#elif defined(W_Q5_1)
const uint BLK_BYTES = 24u;
#elif defined(W_IQ4_NL)
const uint BLK_BYTES = 18u;
#elif defined(W_Q4_K)
const uint BLK_BYTES = 144u;
#elif defined(W_Q5_K)
const uint BLK_BYTES = 176u;
#endif

uint w_u8(bool up, uint off) { return (w_word(up, off >> 2u) >> ((off & 3u) * 8u)) & 0xffu; }
float w_f16(bool up, uint off) { return unpackHalf2x16(w_u16(up, off)).x; }
vec4 bytes4(uint q) { return vec4(float(q & 0xffu), float((q >> 8u) & 0xffu), float((q >> 16u) & 0xffu), float(q >> 24u)); }
// Four 4-bit codes (the low nibbles of q's bytes, or the high ones when `high`).
uint nibbles(uint q, bool high) { return (high ? q >> 4u : q) & 0x0f0f0f0fu; }

#if defined(W_IQ4_NL) || defined(W_IQ4_XS)
const float IQ4_LEVELS[16] = float[](-127.0, -104.0, -83.0, -65.0, -49.0, -35.0, -22.0, -10.0, 1.0, 13.0, 25.0, 38.0,
                                     53.0, 69.0, 89.0, 113.0);
vec4 iq4_levels(uint q) {
  return vec4(IQ4_LEVELS[q & 15u], IQ4_LEVELS[(q >> 8u) & 15u], IQ4_LEVELS[(q >> 16u) & 15u], IQ4_LEVELS[q >> 24u]);
}
#endif

#if defined(W_MXFP4)
// ggml's kvalues_mxfp4: the E2M1 values doubled (the scale, 2^(e - 128), is halved).
const float MXFP4_VALUES[16] = float[](0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 0.0, -1.0, -2.0, -3.0, -4.0, -6.0,
                                       -8.0, -12.0);
vec4 mxfp4_values(uint q) {
  return vec4(MXFP4_VALUES[q & 15u], MXFP4_VALUES[(q >> 8u) & 15u], MXFP4_VALUES[(q >> 16u) & 15u],
              MXFP4_VALUES[q >> 24u]);
}
// 32 bits at any byte offset: 17-byte blocks put the codes at odd ones too. The
// weight buffers hold at least 4 bytes past their last row (upload_tensor).
uint w_u32_any(bool up, uint off) {
  const uint i = off >> 2u, s = (off & 3u) * 8u;
  return s == 0u ? w_word(up, i) : (w_word(up, i) >> s) | (w_word(up, i + 1u) << (32u - s));
}
#endif

#if defined(W_Q4_K) || defined(W_Q5_K)
// Scale and min j of the 12 packed bytes at s (ggml's get_scale_min_k4).
uvec2 scale_min_k4(bool up, uint s, uint j) {
  if (j < 4u) return uvec2(w_u8(up, s + j) & 63u, w_u8(up, s + j + 4u) & 63u);
  const uint b = w_u8(up, s + j + 4u);
  return uvec2((b & 15u) | ((w_u8(up, s + j - 4u) >> 6u) << 4u), (b >> 4u) | ((w_u8(up, s + j) >> 6u) << 4u));
}
#endif

#if defined(W_Q5_0) || defined(W_Q5_1)
// Bits j..j+3 of the 32-bit fifth-bit word qh, as bit 4 of four bytes.
uint fifth_bits(uint qh, uint j) {
  const uint h = (qh >> j) & 15u;
  return ((h & 1u) | ((h & 2u) << 7u) | ((h & 4u) << 14u) | ((h & 8u) << 21u)) << 4u;
}
#endif

// Each type in two parts, for weights k..k+3 of the row at byte `row`: the
// scale and negated offset of the 16 (or 32) weights around k (d * sub-block
// scale, and dmin * sub-block min or -m; 0 where the type has none), and the
// four quants as the integers the scale multiplies (offsets and IQ4 levels
// applied). A 16-weight unit at a multiple of 16 has one scale.
vec2 blk_scale(bool up, uint row, uint k) {
#if defined(W_Q4_1) || defined(W_Q5_1)  // d, m first: q * d + m
  const vec2 dm = unpackHalf2x16(w_word(up, (row + (k >> 5u) * BLK_BYTES) >> 2u));
  return vec2(dm.x, -dm.y);
#elif defined(W_Q5_0) || defined(W_IQ4_NL)
  return vec2(w_f16(up, row + (k >> 5u) * BLK_BYTES), 0.0);
#elif defined(W_IQ4_XS)  // d, scales_h (16 bits), scales_l[4]: 6-bit scales + 32 per 32 weights
  const uint b = row + (k >> 8u) * 136u, ib = (k & 255u) >> 5u;
  const uint ls = ((w_u8(up, b + 4u + ib / 2u) >> (4u * (ib & 1u))) & 15u) | (((w_u16(up, b + 2u) >> (2u * ib)) & 3u) << 4u);
  return vec2(w_f16(up, b) * float(int(ls) - 32), 0.0);
#elif defined(W_Q2_K)  // scales[16] at 0 (scale | min << 4), d and dmin at 80
  const uint b = row + (k >> 8u) * 84u, sc = w_u8(up, b + ((k & 255u) >> 4u));
  const vec2 dm = unpackHalf2x16(w_word(up, (b + 80u) >> 2u));
  return vec2(dm.x * float(sc & 15u), dm.y * float(sc >> 4u));
#elif defined(W_Q3_K)  // 16 6-bit scales + 32 in 12 bytes at 96 (see q3_scale in quant_types.cpp), d at 108
  const uint b = row + (k >> 8u) * 110u, s = (k & 255u) >> 4u;
  const uint lo = s < 8u ? w_u8(up, b + 96u + s) & 15u : w_u8(up, b + 96u + s - 8u) >> 4u;
  const uint sc = lo | (((w_u8(up, b + 104u + (s & 3u)) >> (2u * (s / 4u))) & 3u) << 4u);
  return vec2(w_f16(up, b + 108u) * float(int(sc) - 32), 0.0);
#elif defined(W_Q4_K) || defined(W_Q5_K)  // d, dmin, 8 6-bit scales and mins in 12 bytes
  const uint b = row + (k >> 8u) * BLK_BYTES;
  const vec2 dm = unpackHalf2x16(w_word(up, b >> 2u));
  const uvec2 sm = scale_min_k4(up, b + 4u, (k & 255u) >> 5u);
  return vec2(dm.x * float(sm.x), dm.y * float(sm.y));
#elif defined(W_Q6_K)  // int8 scales[16] at 192, d at 208; sub-block (k & 255) / 16 = 8n + 2c + l / 16
  const uint b = row + (k >> 8u) * 210u;
  const int sc = int(w_u8(up, b + 192u + ((k & 255u) >> 4u)) << 24u) >> 24;
  return vec2(w_f16(up, b + 208u) * float(sc), 0.0);
#elif defined(W_MXFP4)  // E8M0 exponent e first: 2^(e - 128), bit for bit as mxfp4_scale() on the CPU
  const uint e = w_u8(up, row + (k >> 5u) * 17u);
  return vec2(uintBitsToFloat(e < 2u ? 0x00200000u << e : (e - 1u) << 23u), 0.0);
#endif
}

vec4 blk_quants(bool up, uint row, uint k) {
#if defined(W_Q4_1)  // d, m, 16 bytes (weight j low nibble, j + 16 high)
  const uint b = row + (k >> 5u) * 20u, j = k & 31u;
  return bytes4(nibbles(w_word(up, (b + 4u + (j & 15u)) >> 2u), j >= 16u));
#elif defined(W_Q5_0)  // d, qh (32 bits), 16 bytes
  const uint b = row + (k >> 5u) * 22u, j = k & 31u;
  return bytes4(nibbles(w_u32(up, b + 6u + (j & 15u)), j >= 16u) | fifth_bits(w_u32(up, b + 2u), j)) - 16.0;
#elif defined(W_Q5_1)  // d, m, qh, 16 bytes
  const uint b = row + (k >> 5u) * 24u, j = k & 31u;
  return bytes4(nibbles(w_word(up, (b + 8u + (j & 15u)) >> 2u), j >= 16u) | fifth_bits(w_word(up, (b + 4u) >> 2u), j));
#elif defined(W_IQ4_NL)  // d, 16 bytes of level codes
  const uint b = row + (k >> 5u) * 18u, j = k & 31u;
  return iq4_levels(nibbles(w_u32(up, b + 2u + (j & 15u)), j >= 16u));
#elif defined(W_MXFP4)  // e, 16 bytes of E2M1 codes (weight j low nibble, j + 16 high)
  const uint b = row + (k >> 5u) * 17u, j = k & 31u;
  return mxfp4_values(nibbles(w_u32_any(up, b + 1u + (j & 15u)), j >= 16u));
#elif defined(W_IQ4_XS)  // qs[128] at 8: 16 bytes per 32 weights
  const uint b = row + (k >> 8u) * 136u, i = k & 255u, j = i & 31u;
  return iq4_levels(nibbles(w_word(up, (b + 8u + 16u * (i >> 5u) + (j & 15u)) >> 2u), j >= 16u));
#elif defined(W_Q2_K) || defined(W_Q3_K)
  // Weight 128n + 32j + l: 2 bits (qs[32n + l] >> 2j) & 3; Q3_K subtracts 4
  // unless bit 4n + j of hmask[l] (at 0) is set. qs at 16 (Q2_K) or 32 (Q3_K).
  const uint i = k & 255u, n = i >> 7u, j = (i >> 5u) & 3u, l = i & 31u;
#if defined(W_Q2_K)
  const uint b = row + (k >> 8u) * 84u;
  return bytes4((w_word(up, (b + 16u + 32u * n + l) >> 2u) >> (2u * j)) & 0x03030303u);
#else
  const uint b = row + (k >> 8u) * 110u;
  const uint q = (w_u32(up, b + 32u + 32u * n + l) >> (2u * j)) & 0x03030303u;
  const uint h = (w_u32(up, b + l) >> (4u * n + j)) & 0x01010101u;
  return bytes4(q | (h << 2u)) - 4.0;
#endif
#elif defined(W_Q4_K) || defined(W_Q5_K)
  // qs (at 16, or 48 after Q5_K's qh[32]): group g = i / 64 takes 32 bytes, low
  // nibbles for its first 32 weights; Q5_K's fifth bit: bit 2g + h of qh[l].
  const uint i = k & 255u, g = i >> 6u, h = (i >> 5u) & 1u, l = i & 31u, b = row + (k >> 8u) * BLK_BYTES;
  uint q = nibbles(w_word(up, (b + BLK_BYTES - 128u + 32u * g + l) >> 2u), h != 0u);
#if defined(W_Q5_K)
  q |= ((w_word(up, (b + 16u + l) >> 2u) >> (2u * g + h)) & 0x01010101u) << 4u;
#endif
  return bytes4(q);
#elif defined(W_Q6_K)
  // ql[128], qh[64]. In half n = i / 128, quarter c of 32 weights: low bits from
  // ql[64n + l + 32 (c & 1)] (high nibbles for c >= 2), top two from qh[32n + l] >> 2c.
  const uint b = row + (k >> 8u) * 210u, i = k & 255u, n = i >> 7u, c = (i >> 5u) & 3u, l = i & 31u;
  const uint lo = nibbles(w_u32(up, b + 64u * n + l + 32u * (c & 1u)), c >= 2u);
  const uint hi = (w_u32(up, b + 128u + 32u * n + l) >> (2u * c)) & 0x03030303u;
  return bytes4(lo | (hi << 4u)) - 32.0;
#endif
}

// The decoded weights: one exact product and (with a min) one rounding, as on the CPU.
vec4 dequant4(bool up, uint row, uint k) {
  const vec2 s = blk_scale(up, row, k);
  return s.x * blk_quants(up, row, k) - s.y;
}
#endif
