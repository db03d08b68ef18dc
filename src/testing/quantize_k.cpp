// The K-quant and IQ4 encoders, following ggml's reference quantize_row_q*_K_ref
// (the rounding files written without an importance matrix get): per
// sub-block scale (and min) searches, the scales themselves quantised to 4, 6
// or 8 bits against one float16 super-block scale, then every weight rounded
// again against the scale it will be decoded with.
#include "testing/quantize_k.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "format/quant_types.hpp"
#include "testing/quantize.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::model {
namespace {

constexpr float kGroupMaxEps = 1e-15f;  // ggml's GROUP_MAX_EPS: an all-zero group

// Round to nearest, ties to even, for |f| <= 2^22 (ggml's nearest_int): adding
// 1.5 * 2^23 leaves the rounded integer in the low mantissa bits. Far faster
// than std::nearbyint, which the encoders' scale searches call in their loops.
int nearest_int(float f) {
  const float v = f + 12582912.0f;
  int32_t i;
  std::memcpy(&i, &v, 4);
  return (i & 0x007fffff) - 0x00400000;
}

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

// A signed scale for n values and levels -nmax..nmax-1 (stored + nmax in L),
// refined over 18 nearby scales by weighted least squares (weights x^2);
// ggml's make_qx_quants with rmse_type 1 and no importance weights.
float scale_signed(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, int8_t{0});
    return 0.0f;
  }
  const auto fit = [&](float iscale, float* sumlx, float* suml2, bool store) {
    *sumlx = *suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::max(-nmax, std::min(nmax - 1, nearest_int(iscale * x[i])));
      if (store) L[i] = static_cast<int8_t>(l + nmax);
      const float w = x[i] * x[i];
      *sumlx += w * x[i] * static_cast<float>(l);
      *suml2 += w * static_cast<float>(l) * static_cast<float>(l);  // ggml's order: (w l) l
    }
  };
  float sumlx, suml2;
  fit(-static_cast<float>(nmax) / max, &sumlx, &suml2, true);
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    const float iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
    fit(iscale, &sumlx, &suml2, false);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      fit(iscale, &sumlx, &suml2, true);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Q3_K's per-16 scale: levels -nmax..nmax-1, then up to five passes that move
// single weights to a better level (weights x^2); ggml's make_q3_quants.
float scale_q3(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, int8_t{0});
    return 0.0f;
  }
  const float iscale = -static_cast<float>(nmax) / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::max(-nmax, std::min(nmax - 1, nearest_int(iscale * x[i])));
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * static_cast<float>(l);
    suml2 += w * static_cast<float>(l) * static_cast<float>(l);
  }
  for (int pass = 0; pass < 5; ++pass) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * static_cast<float>(L[i]);
      if (slx <= 0) continue;
      float sl2 = suml2 - w * static_cast<float>(L[i]) * static_cast<float>(L[i]);
      const int l = std::max(-nmax, std::min(nmax - 1, nearest_int(x[i] * sl2 / slx)));
      if (l == L[i]) continue;
      slx += w * x[i] * static_cast<float>(l);
      sl2 += w * static_cast<float>(l) * static_cast<float>(l);
      if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
        L[i] = static_cast<int8_t>(l);
        sumlx = slx;
        suml2 = sl2;
        ++changed;
      }
    }
    if (!changed) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// A scale and a min (x ~ scale * L - min, L in 0..nmax, min >= 0) for n values,
// searched over nstep + 1 scales by weighted least squares; ggml's make_qkx2_quants.
float scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float* the_min, float rmin,
                float rdelta, int nstep, bool use_mad) {
  float min = x[0], max = x[0], sum_w = w[0], sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::fill(L, L + n, uint8_t{0});
    *the_min = -min;
    return 0.0f;
  }
  const auto err = [&](float scale, float mn, const uint8_t* q) {
    float e = 0;
    for (int i = 0; i < n; ++i) {
      float diff = scale * static_cast<float>(q[i]) + mn - x[i];
      diff = use_mad ? std::fabs(diff) : diff * diff;
      e += w[i] * diff;
    }
    return e;
  };
  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1 / iscale;
  for (int i = 0; i < n; ++i)
    L[i] = static_cast<uint8_t>(std::max(0, std::min(nmax, nearest_int(iscale * (x[i] - min)))));
  float best = err(scale, min, L);
  uint8_t aux[32];
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::max(0, std::min(nmax, nearest_int(iscale * (x[i] - min))));
      aux[i] = static_cast<uint8_t>(l);
      sum_l += w[i] * static_cast<float>(l);
      sum_l2 += w[i] * static_cast<float>(l) * static_cast<float>(l);
      sum_xl += w[i] * static_cast<float>(l) * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D <= 0) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    const float e = err(this_scale, this_min, aux);
    if (e < best) {
      std::copy(aux, aux + n, L);
      best = e;
      scale = this_scale;
      min = this_min;
    }
  }
  *the_min = -min;
  return scale;
}

// Packs 2-bit levels: byte 32h + l holds weights 128h + l + 32s at bits 2s.
void pack2(const uint8_t* L, uint8_t* qs) {
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l) {
      const uint8_t* p = L + 128 * h + l;
      qs[32 * h + l] = static_cast<uint8_t>(p[0] | (p[32] << 2) | (p[64] << 4) | (p[96] << 6));
    }
}

void q2_k_block(const float* x, uint8_t* b) {  // scales[16], qs[64], d, dmin
  uint8_t L[256];
  float scales[16], mins[16], w[16];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 16; ++j) {
    for (int l = 0; l < 16; ++l) w[l] = std::fabs(x[16 * j + l]);
    scales[j] = scale_min(16, 3, x + 16 * j, w, L + 16 * j, &mins[j], -0.5f, 0.1f, 15, true);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  std::memset(b, 0, 84);
  if (max_scale > 0) {
    const float iscale = 15.0f / max_scale;
    for (int j = 0; j < 16; ++j) b[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
    put16(b + 80, float_to_half(max_scale / 15.0f));
  }
  if (max_min > 0) {
    const float iscale = 15.0f / max_min;
    for (int j = 0; j < 16; ++j) b[j] = static_cast<uint8_t>(b[j] | (nearest_int(iscale * mins[j]) << 4));
    put16(b + 82, float_to_half(max_min / 15.0f));
  }
  const float dd = half_to_float(static_cast<uint16_t>(b[80] | (b[81] << 8)));
  const float dm = half_to_float(static_cast<uint16_t>(b[82] | (b[83] << 8)));
  for (int j = 0; j < 16; ++j) {
    const float d = dd * static_cast<float>(b[j] & 15);
    if (!d) continue;
    const float m = dm * static_cast<float>(b[j] >> 4);
    for (int i = 0; i < 16; ++i)
      L[16 * j + i] = static_cast<uint8_t>(std::max(0, std::min(3, nearest_int((x[16 * j + i] + m) / d))));
  }
  pack2(L, b + 16);
}

void q3_k_block(const float* x, uint8_t* b) {  // hmask[32], qs[64], scales[12], d
  int8_t L[256];
  float scales[16];
  float max_scale = 0, amax = 0;
  for (int j = 0; j < 16; ++j) {
    scales[j] = scale_q3(16, 4, x + 16 * j, L + 16 * j);
    if (std::fabs(scales[j]) > amax) {
      amax = std::fabs(scales[j]);
      max_scale = scales[j];
    }
  }
  std::memset(b, 0, 110);
  uint8_t* sc = b + 96;
  if (max_scale) {
    const float iscale = -32.0f / max_scale;
    for (int j = 0; j < 16; ++j) {
      const int l = std::max(-32, std::min(31, static_cast<int>(static_cast<int8_t>(nearest_int(iscale * scales[j]))))) + 32;
      if (j < 8)
        sc[j] = static_cast<uint8_t>(l & 15);
      else
        sc[j - 8] = static_cast<uint8_t>(sc[j - 8] | ((l & 15) << 4));
      sc[8 + j % 4] = static_cast<uint8_t>(sc[8 + j % 4] | ((l >> 4) << (2 * (j / 4))));
    }
    put16(b + 108, float_to_half(1 / iscale));
  }
  const float dd = half_to_float(static_cast<uint16_t>(b[108] | (b[109] << 8)));
  for (int j = 0; j < 16; ++j) {
    const int s = ((j < 8 ? sc[j] & 15 : sc[j - 8] >> 4) | (((sc[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
    const float d = dd * static_cast<float>(s);
    if (!d) continue;
    for (int i = 0; i < 16; ++i)
      L[16 * j + i] = static_cast<int8_t>(std::max(-4, std::min(3, nearest_int(x[16 * j + i] / d))) + 4);
  }
  uint8_t U[256];  // the low two bits; the third goes to hmask: weight j at bit j / 32 of byte j % 32
  for (int j = 0; j < 256; ++j) {
    U[j] = static_cast<uint8_t>(L[j]);
    if (U[j] > 3) {
      b[j % 32] = static_cast<uint8_t>(b[j % 32] | (1 << (j / 32)));
      U[j] = static_cast<uint8_t>(U[j] - 4);
    }
  }
  pack2(U, b + 32);
}

// Q4_K and Q5_K: eight 32-weight sub-blocks with a scale and a min each,
// quantised to 6 bits against the largest (ggml's rmin/rdelta/nstep per type).
void q45_k_block(const float* x, uint8_t* b, bool five) {
  const int nmax = five ? 31 : 15;
  uint8_t L[256];
  float scales[8], mins[8], w[32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) w[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] = five ? scale_min(32, nmax, x + 32 * j, w, L + 32 * j, &mins[j], -0.5f, 0.1f, 15, false)
                     : scale_min(32, nmax, x + 32 * j, w, L + 32 * j, &mins[j], -1.0f, 0.1f, 20, false);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  std::memset(b, 0, five ? 176 : 144);
  uint8_t* s = b + 4;
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  for (int j = 0; j < 8; ++j) {
    const uint8_t ls = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_scale * scales[j])));
    const uint8_t lm = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_min * mins[j])));
    if (j < 4) {
      s[j] = ls;
      s[j + 4] = lm;
    } else {
      s[j + 4] = static_cast<uint8_t>((ls & 15) | ((lm & 15) << 4));
      s[j - 4] = static_cast<uint8_t>(s[j - 4] | ((ls >> 4) << 6));
      s[j] = static_cast<uint8_t>(s[j] | ((lm >> 4) << 6));
    }
  }
  put16(b, float_to_half(max_scale / 63.0f));
  put16(b + 2, float_to_half(max_min / 63.0f));
  const float dd = half_to_float(static_cast<uint16_t>(b[0] | (b[1] << 8)));
  const float dm = half_to_float(static_cast<uint16_t>(b[2] | (b[3] << 8)));
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    if (j < 4) {
      sc = s[j] & 63;
      m = s[j + 4] & 63;
    } else {
      sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
      m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
    const float d = dd * static_cast<float>(sc);
    if (!d) continue;
    const float dmin = dm * static_cast<float>(m);
    for (int i = 0; i < 32; ++i)
      L[32 * j + i] = static_cast<uint8_t>(std::max(0, std::min(nmax, nearest_int((x[32 * j + i] + dmin) / d))));
  }
  uint8_t* qh = b + 16;
  uint8_t* qs = b + (five ? 48 : 16);
  for (int g = 0; g < 4; ++g)
    for (int l = 0; l < 32; ++l) {
      int lo = L[64 * g + l], hi = L[64 * g + l + 32];
      if (five && lo > 15) {
        lo -= 16;
        qh[l] = static_cast<uint8_t>(qh[l] | (1 << (2 * g)));
      }
      if (five && hi > 15) {
        hi -= 16;
        qh[l] = static_cast<uint8_t>(qh[l] | (2 << (2 * g)));
      }
      qs[32 * g + l] = static_cast<uint8_t>(lo | (hi << 4));
    }
}

void q6_k_block(const float* x, uint8_t* b) {  // ql[128], qh[64], scales[16], d
  int8_t L[256];
  float scales[16];
  float max_scale = 0, max_abs = 0;
  for (int ib = 0; ib < 16; ++ib) {
    scales[ib] = scale_signed(16, 32, x + 16 * ib, L + 16 * ib);
    if (std::fabs(scales[ib]) > max_abs) {
      max_abs = std::fabs(scales[ib]);
      max_scale = scales[ib];
    }
  }
  std::memset(b, 0, 210);
  if (max_abs < kGroupMaxEps) return;  // all zero: d = 0
  const float iscale = -128.0f / max_scale;
  put16(b + 208, float_to_half(1 / iscale));
  auto* sc = reinterpret_cast<int8_t*>(b + 192);
  for (int ib = 0; ib < 16; ++ib) sc[ib] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[ib])));
  const float dd = half_to_float(static_cast<uint16_t>(b[208] | (b[209] << 8)));
  for (int j = 0; j < 16; ++j) {
    const float d = dd * static_cast<float>(sc[j]);
    if (!d) continue;
    for (int i = 0; i < 16; ++i)
      L[16 * j + i] = static_cast<int8_t>(std::max(-32, std::min(31, nearest_int(x[16 * j + i] / d))) + 32);
  }
  for (int n = 0; n < 2; ++n) {
    uint8_t* ql = b + 64 * n;
    uint8_t* qh = b + 128 + 32 * n;
    const int8_t* p = L + 128 * n;
    for (int l = 0; l < 32; ++l) {
      ql[l] = static_cast<uint8_t>((p[l] & 15) | ((p[l + 64] & 15) << 4));
      ql[l + 32] = static_cast<uint8_t>((p[l + 32] & 15) | ((p[l + 96] & 15) << 4));
      qh[l] = static_cast<uint8_t>((p[l] >> 4) | ((p[l + 32] >> 4) << 2) | ((p[l + 64] >> 4) << 4) |
                                   ((p[l + 96] >> 4) << 6));
    }
  }
}

// The index of the IQ4 level nearest x (the upper one on a tie), ggml's best_index_int8.
int best_level(float x) {
  const float x2 = x + x;
  int idx = 0;
  for (int step = 8; step > 0; step >>= 1) {
    const int j = idx + step;
    if (x2 >= static_cast<float>(kIq4Levels[j - 1] + kIq4Levels[j])) idx = j;
  }
  return idx;
}

// IQ4_NL (one 32-weight block: n = 32) and IQ4_XS (n = 256, eight blocks with
// 6-bit scales): ggml's quantize_row_iq4_nl_impl without importance weights
// (weights x^2, 7 tries each side). Writes the codes into L and returns the
// scale of each 32-weight block in scales.
void iq4_scales(int n, const float* x, uint8_t* L, float* scales, float* max_scale) {
  float amax_scale = 0;
  *max_scale = 0;
  for (int ib = 0; ib < n / 32; ++ib) {
    const float* xb = x + 32 * ib;
    float amax = 0, max = 0;
    for (int j = 0; j < 32; ++j)
      if (std::fabs(xb[j]) > amax) {
        amax = std::fabs(xb[j]);
        max = xb[j];
      }
    if (amax < kGroupMaxEps) {
      scales[ib] = 0;
      continue;
    }
    const auto fit = [&](float id, float* sumqx, float* sumq2, bool store) {
      *sumqx = *sumq2 = 0;
      for (int j = 0; j < 32; ++j) {
        const int l = best_level(id * xb[j]);
        if (store) L[32 * ib + j] = static_cast<uint8_t>(l);
        const float q = kIq4Levels[l], w = xb[j] * xb[j];
        *sumqx += w * q * xb[j];
        *sumq2 += w * q * q;
      }
    };
    float sumqx, sumq2;
    fit(1 / (-max / kIq4Levels[0]), &sumqx, &sumq2, true);
    float d = sumqx / sumq2, best = d * sumqx;
    for (int itry = -7; itry <= 7; ++itry) {
      fit((static_cast<float>(itry) + kIq4Levels[0]) / max, &sumqx, &sumq2, false);
      if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
        d = sumqx / sumq2;
        best = d * sumqx;
      }
    }
    scales[ib] = d;
    if (std::fabs(d) > amax_scale) {
      amax_scale = std::fabs(d);
      *max_scale = d;
    }
  }
}

void pack_iq4(const uint8_t* L, uint8_t* qs, int n) {
  for (int i = 0; i < n / 32; ++i)
    for (int j = 0; j < 16; ++j) qs[16 * i + j] = static_cast<uint8_t>(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
}

void iq4_nl_block(const float* x, uint8_t* b) {  // d, qs[16]
  uint8_t L[32] = {};
  float scale, max_scale;
  iq4_scales(32, x, L, &scale, &max_scale);
  put16(b, float_to_half(scale));
  const float id = scale ? 1 / scale : 0;
  for (int j = 0; j < 32; ++j) L[j] = static_cast<uint8_t>(best_level(id * x[j]));
  pack_iq4(L, b + 2, 32);
}

void iq4_xs_block(const float* x, uint8_t* b) {  // d, scales_h, scales_l[4], qs[128]
  uint8_t L[256] = {};
  float scales[8], max_scale;
  iq4_scales(256, x, L, scales, &max_scale);
  std::memset(b, 0, 136);
  const float d = -max_scale / 32, id = d ? 1 / d : 0.0f;
  put16(b, float_to_half(d));
  uint16_t sh = 0;
  for (int ib = 0; ib < 8; ++ib) {
    int l = std::max(-32, std::min(31, nearest_int(id * scales[ib])));
    const float dl = d * static_cast<float>(l), idl = dl ? 1 / dl : 0.0f;
    for (int j = 0; j < 32; ++j) L[32 * ib + j] = static_cast<uint8_t>(best_level(idl * x[32 * ib + j]));
    l += 32;
    b[4 + ib / 2] = static_cast<uint8_t>(b[4 + ib / 2] | ((l & 15) << (4 * (ib % 2))));
    sh = static_cast<uint16_t>(sh | ((l >> 4) << (2 * ib)));
  }
  put16(b + 2, sh);
  pack_iq4(L, b + 8, 256);
}

}  // namespace

void quantize_k_block(GgmlType t, const float* x, uint8_t* out) {
  switch (t) {
    case GgmlType::q2_k: return q2_k_block(x, out);
    case GgmlType::q3_k: return q3_k_block(x, out);
    case GgmlType::q4_k: return q45_k_block(x, out, false);
    case GgmlType::q5_k: return q45_k_block(x, out, true);
    case GgmlType::q6_k: return q6_k_block(x, out);
    case GgmlType::iq4_nl: return iq4_nl_block(x, out);
    case GgmlType::iq4_xs: return iq4_xs_block(x, out);
    default: throw Error(std::string("not a K-quant or IQ4 type: ") + ggml_type_name(t));
  }
}

}  // namespace sinkstream::model
