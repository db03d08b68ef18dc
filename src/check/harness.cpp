#include "check/harness.hpp"

#include <chrono>
#include <cstring>
#include <random>

#include "format/quant_types.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::check {
namespace {

// Byte offsets of the float16 scales (d, dmin) in one block of each type; the
// other bytes are quants, sub-block scales and masks, valid whatever their bits.
std::vector<uint32_t> f16_fields(model::GgmlType t) {
  using model::GgmlType;
  switch (t) {
    case GgmlType::q4_1:
    case GgmlType::q5_1:
    case GgmlType::q4_k:
    case GgmlType::q5_k:
      return {0, 2};
    case GgmlType::q2_k:
      return {80, 82};
    case GgmlType::q3_k:
      return {108};
    case GgmlType::q6_k:
      return {208};
    default:  // q4_0, q5_0, q8_0, iq4_nl, iq4_xs
      return {0};
  }
}

// A random float16 of magnitude in [2^lo, 2^(hi+1)), either sign unless `positive`.
uint16_t random_half(std::mt19937& rng, int lo, int hi, bool positive) {
  const auto e = static_cast<uint32_t>(std::uniform_int_distribution<int>(lo, hi)(rng) + 15);
  const uint32_t mant = rng() & 0x3ff, sign = positive ? 0 : (rng() & 1) << 15;
  return static_cast<uint16_t>(sign | e << 10 | mant);
}

}  // namespace

vk::GpuBuffer device_buffer(vk::Context& ctx, const void* data, uint64_t bytes, const char* what) {
  vk::GpuBuffer b = ctx.create_buffer(std::max<uint64_t>((bytes + 15) / 16 * 16, 16),
                                      vk::MemoryUse::device, what);
  if (bytes) ctx.upload(b, data, bytes);
  return b;
}

vk::GpuBuffer zero_buffer(vk::Context& ctx, uint64_t bytes, const char* what) {
  const std::vector<uint8_t> zeros(std::max<uint64_t>((bytes + 15) / 16 * 16, 16), 0);
  return device_buffer(ctx, zeros.data(), zeros.size(), what);
}

std::vector<float> random_floats(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> x(n);
  for (float& f : x) f = dist(rng);
  return x;
}

std::vector<uint8_t> random_weights(model::GgmlType t, uint64_t rows, uint64_t cols,
                                    uint32_t seed) {
  using model::GgmlType;
  std::mt19937 rng(seed);
  const uint64_t bytes = model::ggml_type_bytes(t, cols) * rows;
  std::vector<uint8_t> out(bytes);
  if (t == GgmlType::f32) {
    const auto f = random_floats(rows * cols, seed);
    std::memcpy(out.data(), f.data(), bytes);
    return out;
  }
  if (t == GgmlType::f16 || t == GgmlType::bf16) {
    for (uint64_t i = 0; i < rows * cols; ++i) {
      uint16_t h = random_half(rng, -3, 0, false);  // magnitudes 1/8 .. 2
      if (t == GgmlType::bf16)  // the same range in bfloat16: 8 exponent bits, 7 of mantissa
        h = static_cast<uint16_t>((h & 0x8000) | ((((h >> 10) & 31) - 15 + 127) << 7) |
                                  ((h >> 3) & 0x7f));
      std::memcpy(out.data() + 2 * i, &h, 2);
    }
    return out;
  }
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  const uint32_t block = model::block_bytes(t);
  if (t == GgmlType::mxfp4) {  // an E8M0 exponent byte, not a float16: scales 2^-8 .. 2^-6 as below
    for (uint64_t at = 0; at < bytes; at += block) out[at] = static_cast<uint8_t>(120 + rng() % 3);
    return out;
  }
  const auto fields = f16_fields(t);
  for (uint64_t at = 0; at < bytes; at += block)
    for (uint32_t off : fields) {
      // Scales of 1/256 .. 1/32: products of K of thousands stay well inside float range.
      const uint16_t h = random_half(rng, -8, -6, true);
      std::memcpy(out.data() + at + off, &h, 2);
    }
  return out;
}

model::GgmlType weight_type(std::string_view v) {
  using model::GgmlType;
  for (GgmlType t :
       {GgmlType::f32, GgmlType::f16, GgmlType::bf16, GgmlType::q8_0, GgmlType::q4_0,
        GgmlType::q4_1, GgmlType::q5_0, GgmlType::q5_1, GgmlType::q2_k, GgmlType::q3_k,
        GgmlType::q4_k, GgmlType::q5_k, GgmlType::q6_k, GgmlType::iq4_nl, GgmlType::iq4_xs,
        GgmlType::mxfp4}) {
    std::string name = model::ggml_type_name(t);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == v) return t;
  }
  throw Error("internal error: no weight type '" + std::string(v) + "'");
}

std::string shader_name(std::string_view kernel, std::string_view variant) {
  return variant.empty() ? std::string(kernel) : std::string(kernel) + "_" + std::string(variant);
}

VariantResult run_variant(vk::Context& ctx, const KernelCheck& k, std::string_view variant,
                          const CheckOptions& o) {
  VariantResult r;
  r.kernel = k.kernel;
  r.variant = variant;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    k.run(ctx, variant, o, r);
    r.pass = r.cases > 0 && r.max_error <= r.tolerance;
  } catch (const NotApplicable& e) {
    r.applicable = false;
    r.note = e.what();
    r.pass = true;
  } catch (const std::exception& e) {
    r.note = e.what();
    r.pass = false;
  }
  r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace sinkstream::check
