#include "model/quantize.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "sinkstream/error.hpp"

namespace sinkstream::model {

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
    default:
      throw InvalidArgument(std::string("cannot write tensors of type ") + ggml_type_name(t));
  }
}

}  // namespace sinkstream::model
