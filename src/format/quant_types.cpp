#include "format/quant_types.hpp"

#include <cmath>
#include <cstring>
#include <string>

#include "sinkstream/error.hpp"

namespace sinkstream::model {

const int8_t kIq4Levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
const int8_t kMxfp4Values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

float mxfp4_scale(uint8_t e) {
  // The bit pattern, not ldexp: 2^-128 and 2^-127 are float32 subnormals.
  const uint32_t bits = e < 2 ? 0x00200000u << e : uint32_t{e - 1u} << 23;
  float d;
  std::memcpy(&d, &bits, 4);
  return d;
}

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504: infinity
  if (abs < 0x38800000u) {  // subnormal half (or zero): value / 2^-24, rounded to nearest even
    float a;
    std::memcpy(&a, &abs, 4);
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(a * 16777216.0f)));
  }
  const uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);  // nearest even on the 13 dropped bits
  return static_cast<uint16_t>(sign | ((rounded - 0x38000000u) >> 13));
}

float half_to_float(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 31, mant = h & 1023;
  float v;
  if (exp == 0)
    v = std::ldexp(static_cast<float>(mant), -24);
  else if (exp == 31)
    v = mant ? NAN : INFINITY;
  else
    v = std::ldexp(static_cast<float>(mant + 1024), static_cast<int>(exp) - 25);
  return sign ? -v : v;
}

namespace {

uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t u32(const uint8_t* p) { return uint32_t{u16(p)} | (uint32_t{u16(p + 2)} << 16); }
float f16(const uint8_t* p) { return half_to_float(u16(p)); }

// Each decoder reads one block at b and writes its weights to y. The
// arithmetic is ggml's, in its order and types (float products of a float
// scale and small integers), so the results are the same floats.

void q4_0(const uint8_t* b, float* y) {  // d, 16 bytes: j low nibble, j + 16 high
  const float d = f16(b);
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>((b[2 + j] & 15) - 8) * d;
    y[j + 16] = static_cast<float>((b[2 + j] >> 4) - 8) * d;
  }
}

void q4_1(const uint8_t* b, float* y) {  // d, m, 16 bytes
  const float d = f16(b), m = f16(b + 2);
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>(b[4 + j] & 15) * d + m;
    y[j + 16] = static_cast<float>(b[4 + j] >> 4) * d + m;
  }
}

// Q5_0 / Q5_1: bit j of the 32-bit qh is the fifth bit of weight j.
void q5(const uint8_t* b, float* y, bool with_min) {
  const float d = f16(b), m = with_min ? f16(b + 2) : 0.0f;
  const uint8_t* p = b + (with_min ? 4 : 2);
  const uint32_t qh = u32(p);
  const uint8_t* qs = p + 4;
  for (int j = 0; j < 16; ++j) {
    const int lo = (qs[j] & 15) | static_cast<int>(((qh >> j) & 1) << 4);
    const int hi = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1) << 4);
    if (with_min) {
      y[j] = static_cast<float>(lo) * d + m;
      y[j + 16] = static_cast<float>(hi) * d + m;
    } else {
      y[j] = static_cast<float>(lo - 16) * d;
      y[j + 16] = static_cast<float>(hi - 16) * d;
    }
  }
}

void q8_0(const uint8_t* b, float* y) {
  const float d = f16(b);
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(static_cast<int8_t>(b[2 + j])) * d;
}

// Q4_K / Q5_K: eight 6-bit scales and eight 6-bit mins in 12 bytes (ggml's
// get_scale_min_k4): j < 4 in the low 6 bits of bytes j and j + 4; j >= 4 in
// byte j + 4's nibbles plus the top 2 bits of bytes j - 4 and j.
void scale_min_k4(const uint8_t* s, int j, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Q4_K (144 bytes): d, dmin, scales[12], qs[128]; 64-weight groups take 32
// bytes, low nibbles for the first 32 weights, high for the next.
// Q5_K (176 bytes): the same plus qh[32] before qs: bit 2g (2g + 1) of qh[l] is
// the fifth bit of weight l (l + 32) of group g.
void qk_45(const uint8_t* b, float* y, bool five) {
  const float d = f16(b), dmin = f16(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* qs = b + (five ? 48 : 16);
  for (int g = 0; g < 4; ++g) {
    for (int h = 0; h < 2; ++h) {
      int sc, m;
      scale_min_k4(scales, 2 * g + h, &sc, &m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      for (int l = 0; l < 32; ++l) {
        int q = h ? qs[32 * g + l] >> 4 : qs[32 * g + l] & 15;
        if (five && (qh[l] >> (2 * g + h)) & 1) q += 16;
        *y++ = d1 * static_cast<float>(q) - m1;
      }
    }
  }
}

// Q6_K (210 bytes): ql[128], qh[64], int8 scales[16], d. Per 128-weight half n:
// weight 32c + l (c = 0..3, l < 32) has low nibble ql[64n + l + 32 (c & 1)]
// (high nibble for c >= 2), top bits (qh[32n + l] >> 2c) & 3, scale 8n + 2c + l / 16.
void q6_k(const uint8_t* b, float* y) {
  const float d = f16(b + 208);
  const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
  for (int n = 0; n < 2; ++n) {
    const uint8_t* ql = b + 64 * n;
    const uint8_t* qh = b + 128 + 32 * n;
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) {
        const uint8_t lo = ql[l + 32 * (c & 1)];
        const int q = ((c >= 2 ? lo >> 4 : lo & 15) | (((qh[l] >> (2 * c)) & 3) << 4)) - 32;
        y[128 * n + 32 * c + l] = d * static_cast<float>(sc[8 * n + 2 * c + l / 16]) * static_cast<float>(q);
      }
  }
}

// Q3_K's sixteen 6-bit scales (stored + 32): low nibbles in bytes 0..7 (scale
// s < 8 the low nibble of byte s, s >= 8 the high nibble of byte s - 8), top two
// bits in bytes 8..11 (bits 2 (s / 4) of byte 8 + s % 4).
int q3_scale(const uint8_t* s, int i) {
  const int lo = i < 8 ? s[i] & 15 : s[i - 8] >> 4;
  return (lo | (((s[8 + i % 4] >> (2 * (i / 4))) & 3) << 4)) - 32;
}

// Q2_K (84 bytes): scales[16] (low nibble scale, high nibble min), qs[64], d, dmin.
// Q3_K (110 bytes): hmask[32], qs[64], scales[12], d.
// Both: weight 128n + 32j + l has 2 bits (qs[32n + l] >> 2j) & 3 and scale
// 8n + 2j + l / 16; Q3_K subtracts 4 unless bit 4n + j of hmask[l] is set.
void q23_k(const uint8_t* b, float* y, bool three) {
  const uint8_t* qs = b + (three ? 32 : 16);
  const float d = f16(b + (three ? 108 : 80)), dmin = three ? 0.0f : f16(b + 82);
  for (int n = 0; n < 2; ++n)
    for (int j = 0; j < 4; ++j)
      for (int half = 0; half < 2; ++half) {
        const int is = 8 * n + 2 * j + half;
        float dl, ml = 0;
        if (three) {
          dl = d * static_cast<float>(q3_scale(b + 96, is));
        } else {
          dl = d * static_cast<float>(b[is] & 15);
          ml = dmin * static_cast<float>(b[is] >> 4);
        }
        for (int l = 16 * half; l < 16 * half + 16; ++l) {
          int q = (qs[32 * n + l] >> (2 * j)) & 3;
          if (three) {
            q -= (b[l] >> (4 * n + j)) & 1 ? 0 : 4;
            *y++ = dl * static_cast<float>(q);
          } else {
            *y++ = dl * static_cast<float>(q) - ml;
          }
        }
      }
}

void iq4_nl(const uint8_t* b, float* y) {  // d, 16 bytes of level codes
  const float d = f16(b);
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>(kIq4Levels[b[2 + j] & 15]);
    y[j + 16] = d * static_cast<float>(kIq4Levels[b[2 + j] >> 4]);
  }
}

// IQ4_XS (136 bytes): d, scales_h (u16), scales_l[4], qs[128]; eight 32-weight
// blocks, each with a 6-bit scale (stored + 32) and IQ4_NL's code layout.
void iq4_xs(const uint8_t* b, float* y) {
  const float d = f16(b);
  const uint16_t sh = u16(b + 2);
  for (int ib = 0; ib < 8; ++ib) {
    const int ls = ((b[4 + ib / 2] >> (4 * (ib % 2))) & 15) | (((sh >> (2 * ib)) & 3) << 4);
    const float dl = d * static_cast<float>(ls - 32);
    const uint8_t* qs = b + 8 + 16 * ib;
    for (int j = 0; j < 16; ++j) {
      y[32 * ib + j] = dl * static_cast<float>(kIq4Levels[qs[j] & 15]);
      y[32 * ib + j + 16] = dl * static_cast<float>(kIq4Levels[qs[j] >> 4]);
    }
  }
}

void mxfp4(const uint8_t* b, float* y) {  // e, 16 bytes of codes: j low nibble, j + 16 high
  const float d = mxfp4_scale(b[0]);
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>(kMxfp4Values[b[1 + j] & 15]) * d;
    y[j + 16] = static_cast<float>(kMxfp4Values[b[1 + j] >> 4]) * d;
  }
}

void decode_block(GgmlType t, const uint8_t* b, float* y) {
  switch (t) {
    case GgmlType::f32: std::memcpy(y, b, 4); return;
    case GgmlType::f16: *y = f16(b); return;
    case GgmlType::bf16: {
      const uint32_t bits = uint32_t{u16(b)} << 16;
      std::memcpy(y, &bits, 4);
      return;
    }
    case GgmlType::q4_0: return q4_0(b, y);
    case GgmlType::q4_1: return q4_1(b, y);
    case GgmlType::q5_0: return q5(b, y, false);
    case GgmlType::q5_1: return q5(b, y, true);
    case GgmlType::q8_0: return q8_0(b, y);
    case GgmlType::q2_k: return q23_k(b, y, false);
    case GgmlType::q3_k: return q23_k(b, y, true);
    case GgmlType::q4_k: return qk_45(b, y, false);
    case GgmlType::q5_k: return qk_45(b, y, true);
    case GgmlType::q6_k: return q6_k(b, y);
    case GgmlType::iq4_nl: return iq4_nl(b, y);
    case GgmlType::iq4_xs: return iq4_xs(b, y);
    case GgmlType::mxfp4: return mxfp4(b, y);
    default: throw Error(std::string("cannot decode weights of type ") + ggml_type_name(t));
  }
}

}  // namespace

bool can_dequantize(GgmlType t) {
  switch (t) {
    case GgmlType::f32: case GgmlType::f16: case GgmlType::bf16: case GgmlType::q4_0:
    case GgmlType::q4_1: case GgmlType::q5_0: case GgmlType::q5_1: case GgmlType::q8_0:
    case GgmlType::q2_k: case GgmlType::q3_k: case GgmlType::q4_k: case GgmlType::q5_k:
    case GgmlType::q6_k: case GgmlType::iq4_nl: case GgmlType::iq4_xs: case GgmlType::mxfp4:
      return true;
    default:
      return false;
  }
}

uint32_t block_weights(GgmlType t) {
  switch (t) {
    case GgmlType::f32: case GgmlType::f16: case GgmlType::bf16: return 1;
    case GgmlType::q2_k: case GgmlType::q3_k: case GgmlType::q4_k: case GgmlType::q5_k:
    case GgmlType::q6_k: case GgmlType::iq4_xs: return kQK_K;
    default:
      if (!can_dequantize(t)) throw Error(std::string("no block layout for type ") + ggml_type_name(t));
      return 32;
  }
}

uint32_t block_bytes(GgmlType t) {
  return static_cast<uint32_t>(ggml_type_bytes(t, block_weights(t)));
}

void dequantize(GgmlType t, std::span<const uint8_t> in, std::span<float> out) {
  const uint32_t n = block_weights(t), bytes = block_bytes(t);
  if (out.size() % n != 0 || in.size() != out.size() / n * bytes)
    throw Error(std::string("dequantize: ") + std::to_string(out.size()) + " " + ggml_type_name(t) +
                " weights are not the " + std::to_string(in.size()) + " bytes given");
  for (size_t b = 0; b < out.size() / n; ++b) decode_block(t, in.data() + b * bytes, out.data() + b * n);
}

}  // namespace sinkstream::model
