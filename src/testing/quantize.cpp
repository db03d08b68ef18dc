#include "testing/quantize.hpp"

#include <algorithm>
#include <cmath>
#include <cfloat>
#include <cstring>
#include <thread>

#include "format/quant_types.hpp"
#include "testing/quantize_k.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::model {

uint16_t float_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 64u);  // keep NaN a NaN
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

namespace {

void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(v >> 8));
}

// ggml's quantize_row_q8_0_ref: d = amax / 127, q = round(x / d).
void q8_0_block(const float* x, std::vector<uint8_t>& out) {
  float amax = 0;
  for (int i = 0; i < 32; ++i) amax = std::max(amax, std::abs(x[i]));
  const float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
  put16(out, float_to_half(d));
  for (int i = 0; i < 32; ++i) out.push_back(static_cast<uint8_t>(static_cast<int8_t>(std::round(x[i] * id))));
}

// ggml's quantize_row_q4_0_ref: d = max / -8 (the value of largest magnitude,
// signed), q = min(15, (int)(x / d + 8.5)); element j and j + 16 share byte j.
void q4_0_block(const float* x, std::vector<uint8_t>& out) {
  float amax = 0, max = 0;
  for (int i = 0; i < 32; ++i)
    if (std::abs(x[i]) > amax) {
      amax = std::abs(x[i]);
      max = x[i];
    }
  const float d = max / -8.0f, id = d ? 1.0f / d : 0.0f;
  put16(out, float_to_half(d));
  for (int j = 0; j < 16; ++j) {
    const auto q = [&](float v) { return static_cast<uint8_t>(std::min(15, static_cast<int>(v * id + 8.5f))); };
    out.push_back(static_cast<uint8_t>(q(x[j]) | (q(x[j + 16]) << 4)));
  }
}

// The 5-bit (or 4-bit) levels q(x[j]) of a 32-weight block: (five only) the
// fifth bits as a 32-bit word, bit j for weight j; then byte j holds weight
// j's low 4 bits and weight j + 16's in its high nibble.
template <typename Level>
void put_nibbles(const float* x, std::vector<uint8_t>& out, Level q, bool five) {
  uint8_t l[32];
  uint32_t qh = 0;
  for (int j = 0; j < 32; ++j) {
    l[j] = q(x[j]);
    qh |= uint32_t{(l[j] >> 4) & 1u} << j;
  }
  if (five)
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(qh >> (8 * i)));
  for (int j = 0; j < 16; ++j) out.push_back(static_cast<uint8_t>((l[j] & 15) | ((l[j + 16] & 15) << 4)));
}

// ggml's quantize_row_q4_1_ref / q5_1_ref: d = (max - min) / (2^bits - 1), m =
// min, q = (int)((x - min) / d + 0.5) (clamped to 15 for Q4_1 only, as there).
// Q5_1 keeps the fifth bits in a 32-bit word (bit j for weight j).
void q45_1_block(const float* x, std::vector<uint8_t>& out, bool five) {
  float min = FLT_MAX, max = -FLT_MAX;
  for (int i = 0; i < 32; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
  }
  const float d = (max - min) / (five ? 31.0f : 15.0f), id = d ? 1.0f / d : 0.0f;
  put16(out, float_to_half(d));
  put16(out, float_to_half(min));
  const auto q = [&](float v) {
    const int l = static_cast<int>(static_cast<int8_t>((v - min) * id + 0.5f));
    return five ? static_cast<uint8_t>(l) : static_cast<uint8_t>(std::min(15, l));
  };
  put_nibbles(x, out, q, five);
}

// ggml's quantize_row_q5_0_ref: Q4_0's rule with 32 levels: d = max / -16,
// q = min(31, (int)(x / d + 16.5)).
void q5_0_block(const float* x, std::vector<uint8_t>& out) {
  float amax = 0, max = 0;
  for (int i = 0; i < 32; ++i)
    if (std::abs(x[i]) > amax) {
      amax = std::abs(x[i]);
      max = x[i];
    }
  const float d = max / -16.0f, id = d ? 1.0f / d : 0.0f;
  put16(out, float_to_half(d));
  put_nibbles(x, out, [&](float v) { return static_cast<uint8_t>(std::min(31, static_cast<int>(static_cast<int8_t>(v * id + 16.5f)))); }, true);
}

// ggml's quantize_row_mxfp4_ref: the shared exponent e = floor(log2(amax)) - 2
// + 127 (the OCP MX rule: amax / 2^(e - 127) in [4, 8), so the largest values
// clip to E2M1's 6), 0 for an all-zero block; each value the nearest of the 16
// levels times 2^(e - 128), the first on a tie (code 0, not 8, for zero).
// Where ggml's float-to-uint8 cast is undefined (amax under 2^-125, or
// infinite) e is clamped to 0 or 254.
void mxfp4_block(const float* x, std::vector<uint8_t>& out) {
  float amax = 0;
  for (int i = 0; i < 32; ++i)
    if (amax < std::abs(x[i])) amax = std::abs(x[i]);
  const float l = amax > 0 ? std::floor(std::log2(amax)) - 2 + 127 : 0;  // log2f, as ggml
  const auto e = static_cast<uint8_t>(l <= 0 ? 0 : l >= 254 ? 254 : l);
  const float d = mxfp4_scale(e);
  const auto code = [&](float v) {
    int best = 0;
    float best_err = std::abs(static_cast<float>(kMxfp4Values[0]) * d - v);
    for (int i = 1; i < 16; ++i) {
      const float err = std::abs(static_cast<float>(kMxfp4Values[i]) * d - v);
      if (err < best_err) {
        best = i;
        best_err = err;
      }
    }
    return best;
  };
  out.push_back(e);
  for (int j = 0; j < 16; ++j) out.push_back(static_cast<uint8_t>(code(x[j]) | (code(x[j + 16]) << 4)));
}

// The searched encoders (K-quants, IQ4) take microseconds per block, ~1-4 M
// weights/s on one core: a 1B-parameter file would take many minutes. Blocks
// are independent, so they spread over the cores (same bytes in any order).
template <typename Fn>
void for_blocks(size_t blocks, Fn encode) {
  const size_t threads = std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), blocks / 256 + 1);
  std::vector<std::thread> pool;
  for (size_t i = 0; i < threads; ++i)
    pool.emplace_back([&, i] {
      for (size_t b = i * blocks / threads; b < (i + 1) * blocks / threads; ++b) encode(b);
    });
  for (auto& th : pool) th.join();
}

}  // namespace

std::vector<uint8_t> quantize(std::span<const float> x, GgmlType t) {
  std::vector<uint8_t> out;
  switch (t) {
    case GgmlType::f32:
      out.resize(x.size() * 4);
      std::memcpy(out.data(), x.data(), out.size());
      return out;
    case GgmlType::f16:
      for (float v : x) put16(out, float_to_half(v));
      return out;
    case GgmlType::bf16:
      for (float v : x) put16(out, float_to_bf16(v));
      return out;
    case GgmlType::q8_0:
    case GgmlType::q4_0:
      if (x.size() % 32) throw InvalidArgument("Q8_0/Q4_0 need a multiple of 32 values");
      for (size_t b = 0; b < x.size(); b += 32) (t == GgmlType::q8_0 ? q8_0_block : q4_0_block)(x.data() + b, out);
      return out;
    case GgmlType::q4_1:
    case GgmlType::q5_0:
    case GgmlType::q5_1:
    case GgmlType::mxfp4:
      if (x.size() % 32) throw InvalidArgument(std::string(ggml_type_name(t)) + " needs a multiple of 32 values");
      for (size_t b = 0; b < x.size(); b += 32) {
        if (t == GgmlType::mxfp4)
          mxfp4_block(x.data() + b, out);
        else if (t == GgmlType::q5_0)
          q5_0_block(x.data() + b, out);
        else
          q45_1_block(x.data() + b, out, t == GgmlType::q5_1);
      }
      return out;
    case GgmlType::q2_k:
    case GgmlType::q3_k:
    case GgmlType::q4_k:
    case GgmlType::q5_k:
    case GgmlType::q6_k:
    case GgmlType::iq4_nl:
    case GgmlType::iq4_xs: {
      const uint32_t n = block_weights(t), bytes = block_bytes(t);
      if (x.size() % n)
        throw InvalidArgument(std::string(ggml_type_name(t)) + " needs a multiple of " + std::to_string(n) + " values");
      out.resize(x.size() / n * bytes);
      for_blocks(x.size() / n, [&](size_t b) { quantize_k_block(t, x.data() + b * n, out.data() + b * bytes); });
      return out;
    }
    default:
      throw InvalidArgument(std::string("cannot write tensors of type ") + ggml_type_name(t));
  }
}

}  // namespace sinkstream::model
