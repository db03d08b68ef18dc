// ggml's block types: the CPU decoder on hand-made blocks whose values are
// worked out by hand from ggml's layouts, extreme scales, the encoders' round
// trip, and the GPU decoder (weights_blocks.glsl through embed.comp and
// matvec.comp) against
// the CPU one, bit for bit, over random blocks.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gpu_fixture.hpp"
#include <filesystem>
#include <fstream>
#include <iterator>

#include "engine/forward_layer.hpp"
#include "format/model_file.hpp"
#include "testing/synthetic.hpp"
#include "format/quant_types.hpp"
#include "testing/quantize.hpp"
#include "vk/commands.hpp"
#include "vk/context.hpp"

namespace sinkstream::test {
namespace {

using model::GgmlType;

// The block types the GPU decodes in the file's layout, with the byte offsets
// of their float16 scale fields (d, and dmin / m where there is one; MXFP4 has
// none: its scale is the E8M0 exponent byte at 0).
struct BlockType {
  GgmlType type;
  std::vector<uint32_t> halves;
};
const BlockType kBlockTypes[] = {
    {GgmlType::q4_1, {0, 2}},   {GgmlType::q5_0, {0}},      {GgmlType::q5_1, {0, 2}}, {GgmlType::q2_k, {80, 82}},
    {GgmlType::q3_k, {108}},    {GgmlType::q4_k, {0, 2}},   {GgmlType::q5_k, {0, 2}}, {GgmlType::q6_k, {208}},
    {GgmlType::iq4_nl, {0}},    {GgmlType::iq4_xs, {0}},    {GgmlType::mxfp4, {}},
};

void put16(std::vector<uint8_t>& b, uint32_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v);
  b[at + 1] = static_cast<uint8_t>(v >> 8);
}

std::vector<float> decode(GgmlType t, const std::vector<uint8_t>& block) {
  std::vector<float> out(model::block_weights(t));
  model::dequantize(t, block, out);
  return out;
}

// One block of t, zero but for the bytes set by the caller.
std::vector<uint8_t> blank(GgmlType t) { return std::vector<uint8_t>(model::block_bytes(t), 0); }

// Runs one kernel over the weight matrix `data` (rows of row_bytes) and returns `out_floats` results.
struct WeightKernelRun {
  vk::Context& ctx;
  vk::GpuBuffer weights;
  explicit WeightKernelRun(const std::vector<uint8_t>& data)
      : ctx(gpu().context()), weights(ctx.create_buffer(data.size() + 8, vk::MemoryUse::device, "test weights")) {
    ctx.upload(weights, data.data(), data.size());
  }
};

// embed.comp: rows `ids` of the matrix, decoded.
std::vector<float> gpu_embed(GgmlType t, const std::vector<uint8_t>& data, const std::vector<uint32_t>& id,
                             uint32_t dim, uint32_t row_bytes) {
  WeightKernelRun w(data);
  auto& ctx = w.ctx;
  const auto rows = static_cast<uint32_t>(id.size());
  auto ids = ctx.create_buffer(rows * 4, vk::MemoryUse::upload, "test ids");
  ctx.upload(ids, id.data(), rows * 4);
  auto out = ctx.create_buffer(uint64_t{rows} * dim * 4, vk::MemoryUse::readback, "test out");
  const auto& kernel = ctx.kernel({std::string("embed_") + model::weight_variant(t), 3, sizeof(model::EmbedPC),
                                   {model::kElementwiseGroup, 1, 1}, {}});
  auto pool = ctx.create_descriptor_pool(1, 3);
  const vk::GpuBuffer* bufs[] = {&ids, &w.weights, &out};
  const auto set = ctx.bind(pool.get(), kernel, bufs);
  vk::CommandBuffer cmd(ctx);
  cmd.begin();
  cmd.dispatch(set, model::EmbedPC{rows, dim, row_bytes, 1.0f},
               {vk::ceil_div(rows * dim / 4, model::kElementwiseGroup), 1, 1});
  cmd.host_read_barrier();
  cmd.end();
  cmd.submit_and_wait();
  std::vector<float> got(uint64_t{rows} * dim);
  ctx.download(out, got.data(), got.size() * 4);
  return got;
}

// matvec.comp (the fused decode product, no fusions) against every unit vector
// e_k: result (k, n) is weight (n, k), the sum of one product and zeros. Each
// dispatch takes `tokens` of the vectors (the scheduler's several decode rows).
std::vector<float> gpu_matvec_columns(GgmlType t, const std::vector<uint8_t>& data, uint32_t rows, uint32_t cols,
                                      uint32_t row_bytes, uint32_t tokens) {
  WeightKernelRun w(data);
  auto& ctx = w.ctx;
  std::vector<float> eye(uint64_t{cols} * cols, 0.0f);
  for (uint32_t k = 0; k < cols; ++k) eye[uint64_t{k} * cols + k] = 1.0f;
  auto x = ctx.create_buffer(eye.size() * 4, vk::MemoryUse::device, "test unit vectors");
  ctx.upload(x, eye.data(), eye.size() * 4);
  auto dummy = ctx.create_buffer(64, vk::MemoryUse::device, "test placeholder");
  auto out = ctx.create_buffer(uint64_t{cols} * rows * 4, vk::MemoryUse::readback, "test out");
  const uint32_t group = 128, units = cols / 16, rows_per_group = 2;
  const auto& kernel = ctx.kernel({std::string("matvec_") + model::weight_variant(t), 6, sizeof(model::MatvecPC),
                                   {group, 1, 1}, {{3, rows_per_group}, {4, 0}, {5, 0}, {6, vk::ceil_div(units, group)}}});
  auto pool = ctx.create_descriptor_pool(1, 6);
  const vk::GpuBuffer* bufs[] = {&x, &w.weights, &dummy, &out, &dummy, &dummy};
  const auto set = ctx.bind(pool.get(), kernel, bufs);
  vk::CommandBuffer cmd(ctx);
  cmd.begin();
  for (uint32_t k = 0; k < cols; k += tokens)
    cmd.dispatch(set, model::MatvecPC{rows, cols, row_bytes, k * cols, k * rows, 0, 0, 1e-5f, std::min(tokens, cols - k)},
                 {vk::ceil_div(rows, rows_per_group), 1, 1});
  cmd.host_read_barrier();
  cmd.end();
  cmd.submit_and_wait();
  std::vector<float> got(uint64_t{cols} * rows);
  ctx.download(out, got.data(), got.size() * 4);
  return got;
}

// Counts the places where got(i) differs from want(i) (NaN equal to NaN).
template <typename Got, typename Want>
size_t mismatches(size_t n, Got got, Want want, size_t* first) {
  size_t bad = 0;
  for (size_t i = 0; i < n; ++i) {
    const float g = got(i), w = want(i);
    if (!(g == w) && !(std::isnan(g) && std::isnan(w)) && bad++ == 0) *first = i;
  }
  return bad;
}

constexpr uint16_t kHalfMax = 0x7bff, kHalfTiny = 0x0001, kHalfNeg2 = 0xc000;  // 65504, 2^-24, -2

}  // namespace

TEST_SUITE("quant_types") {
  TEST_CASE("block sizes are ggml's") {
    const std::pair<GgmlType, uint32_t> sizes[] = {
        {GgmlType::q4_1, 20}, {GgmlType::q5_0, 22}, {GgmlType::q5_1, 24},  {GgmlType::q2_k, 84},
        {GgmlType::q3_k, 110}, {GgmlType::q4_k, 144}, {GgmlType::q5_k, 176}, {GgmlType::q6_k, 210},
        {GgmlType::iq4_nl, 18}, {GgmlType::iq4_xs, 136}, {GgmlType::mxfp4, 17}};
    for (auto [t, bytes] : sizes) {
      INFO(model::ggml_type_name(t));
      CHECK(model::block_bytes(t) == bytes);
      const uint32_t n = model::block_weights(t);
      CHECK(n == (bytes >= 84 ? 256u : 32u));
      CHECK(model::ggml_type_bytes(t, 4 * n) == 4 * bytes);
      CHECK_THROWS(model::ggml_type_bytes(t, n + 16));
    }
  }

  TEST_CASE("Q4_K and Q5_K: 6-bit packed scales and mins, worked by hand") {
    for (bool five : {false, true}) {
      const GgmlType t = five ? GgmlType::q5_k : GgmlType::q4_k;
      auto b = blank(t);
      put16(b, 0, 0x4000);  // d = 2
      put16(b, 2, 0x3800);  // dmin = 0.5
      // scales: sc0 = 3 (top bits 3 feed sc4), sc1 = 5, m0 = 2 (top bits 1 feed m4), m1 = 4;
      // byte 8 = sc4 low 1 | m4 low 2 -> sc4 = 1 + 48 = 49, m4 = 2 + 16 = 18;
      // byte 11 = sc7 low 7 | m7 low 8 -> sc7 = 7, m7 = 8.
      const uint8_t scales[12] = {0xc3, 0x05, 0x07, 0x09, 0x42, 0x04, 0x06, 0x08, 0x21, 0x43, 0x65, 0x87};
      std::memcpy(b.data() + 4, scales, 12);
      const uint32_t qs = five ? 48 : 16;
      for (uint32_t i = 0; i < 128; ++i) b[qs + i] = 0x5a;  // low nibble 10, high 5
      if (five) {
        for (uint32_t l = 0; l < 32; ++l) b[16 + l] = 0x01;  // fifth bit of group 0's first half
        b[16 + 3] |= 0x80;                                    // and of weight 3 of group 3's second half
      }
      const auto y = decode(t, b);
      CHECK(y[0] == (five ? 2.0f * 3 * 26 - 1 : 2.0f * 3 * 10 - 1));  // 155 / 59
      CHECK(y[32] == 2.0f * 5 * 5 - 0.5f * 4);                         // 48
      CHECK(y[128] == 2.0f * 49 * 10 - 0.5f * 18);                     // 971
      CHECK(y[255] == 2.0f * 7 * 5 - 0.5f * 8);                        // 66
      CHECK(y[227] == (five ? 2.0f * 7 * 21 - 4 : 2.0f * 7 * 5 - 4));   // 290 / 66
    }
  }

  TEST_CASE("Q6_K: signed 8-bit scales, 4 + 2 bit quants, worked by hand") {
    auto b = blank(GgmlType::q6_k);
    for (uint32_t i = 0; i < 128; ++i) b[i] = 0x21;        // ql: low 1, high 2
    for (uint32_t i = 0; i < 64; ++i) b[128 + i] = 0xe4;   // qh: quarters 0, 1, 2, 3 get 0, 1, 2, 3
    const int8_t sc[16] = {-3, 2, 4, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 127};
    std::memcpy(b.data() + 192, sc, 16);
    put16(b, 208, 0x3800);  // d = 0.5
    const auto y = decode(GgmlType::q6_k, b);
    CHECK(y[0] == 46.5f);     // 0.5 * -3 * (1 - 32)
    CHECK(y[16] == -31.0f);   // 0.5 * 2 * -31
    CHECK(y[32] == -30.0f);   // 0.5 * 4 * (1 + 16 - 32)
    CHECK(y[64] == 5.0f);     // 0.5 * 5 * (2 + 32 - 32)
    CHECK(y[255] == 1143.0f); // 0.5 * 127 * (2 + 48 - 32)
  }

  TEST_CASE("Q3_K and Q2_K: 2-bit quants, high-bit mask, packed scales, worked by hand") {
    auto b = blank(GgmlType::q3_k);
    for (uint32_t l = 1; l < 32; ++l) b[l] = 0xff;        // hmask: weight 0 of each 32 lacks its high bit
    for (uint32_t i = 0; i < 64; ++i) b[32 + i] = 0xe4;   // qs: shifts 0, 2, 4, 6 give 0, 1, 2, 3
    b[96] = 0xf1;   // scale 0 low nibble 1, scale 8 low nibble 15
    b[104] = 0x32;  // scale 0 top bits 2 (-> 33), scale 8 top bits 3 (-> 63)
    put16(b, 108, 0x3c00);  // d = 1
    auto y = decode(GgmlType::q3_k, b);
    CHECK(y[0] == -4.0f);     // scale 33 - 32 = 1, q 0 - 4
    CHECK(y[33] == -32.0f);   // scale 0 - 32, q 1
    CHECK(y[128] == -124.0f); // scale 63 - 32 = 31, q 0 - 4
    CHECK(y[255] == -96.0f);  // scale -32, q 3

    auto c = blank(GgmlType::q2_k);
    c[0] = 0x37;   // scale 7, min 3
    c[6] = 0x12;   // scale 2, min 1
    c[15] = 0xf1;  // scale 1, min 15
    for (uint32_t i = 0; i < 64; ++i) c[16 + i] = 0xe4;
    put16(c, 80, 0x3800);  // d = 0.5
    put16(c, 82, 0x4000);  // dmin = 2
    y = decode(GgmlType::q2_k, c);
    CHECK(y[0] == -6.0f);     // 0.5 * 7 * 0 - 2 * 3
    CHECK(y[96] == 1.0f);     // 0.5 * 2 * 3 - 2 * 1
    CHECK(y[255] == -28.5f);  // 0.5 * 1 * 3 - 2 * 15
  }

  TEST_CASE("Q4_1, Q5_0, Q5_1, IQ4_NL and IQ4_XS, worked by hand") {
    auto b = blank(GgmlType::q4_1);
    put16(b, 0, 0x3400);  // d = 0.25
    put16(b, 2, 0xbc00);  // m = -1
    b[4] = 0xf3;
    auto y = decode(GgmlType::q4_1, b);
    CHECK((y[0] == -0.25f && y[16] == 2.75f && y[1] == -1.0f));

    for (bool with_min : {false, true}) {
      const GgmlType t = with_min ? GgmlType::q5_1 : GgmlType::q5_0;
      auto q = blank(t);
      put16(q, 0, 0x3800);  // d = 0.5
      if (with_min) put16(q, 2, 0x3c00);  // m = 1
      const uint32_t qh = with_min ? 4 : 2;
      q[qh] = 0x01;       // fifth bit of weight 0
      q[qh + 2] = 0x01;   // and of weight 16
      q[qh + 4] = 0xf3;
      y = decode(t, q);
      if (with_min)
        CHECK((y[0] == 10.5f && y[16] == 16.5f && y[1] == 1.0f));
      else
        CHECK((y[0] == 1.5f && y[16] == 7.5f && y[1] == -8.0f));
    }

    auto n = blank(GgmlType::iq4_nl);
    put16(n, 0, 0x4000);  // d = 2
    n[2] = 0xf0;
    n[3] = 0x98;
    y = decode(GgmlType::iq4_nl, n);
    CHECK((y[0] == -254.0f && y[16] == 226.0f && y[1] == 2.0f && y[17] == 26.0f));

    auto x = blank(GgmlType::iq4_xs);
    put16(x, 0, 0x3800);  // d = 0.5
    put16(x, 2, 0x000e);  // scales_h: block 0 top bits 2, block 1 top bits 3
    x[4] = 0x21;          // scales_l: block 0 low 1 (-> 33), block 1 low 2 (-> 50)
    x[8] = 0xf0;
    x[8 + 16] = 0x08;
    x[8 + 127] = 0x9f;
    y = decode(GgmlType::iq4_xs, x);
    CHECK(y[0] == -63.5f);    // 0.5 * 1 * -127
    CHECK(y[16] == 56.5f);    // 0.5 * 1 * 113
    CHECK(y[32] == 9.0f);     // 0.5 * 18 * 1
    CHECK(y[48] == -1143.0f); // 0.5 * 18 * -127
    CHECK(y[239] == -1808.0f);// 0.5 * -32 * 113
    CHECK(y[255] == -208.0f); // 0.5 * -32 * 13
  }

  TEST_CASE("MXFP4: E8M0 exponent, doubled E2M1 levels in both nibbles, worked by hand") {
    CHECK(model::mxfp4_scale(128) == 1.0f);  // 2^(e - 128): half of E8M0's 2^(e - 127)
    CHECK(model::mxfp4_scale(125) == 0.125f);
    std::vector<uint8_t> b(2 * 17, 0);  // two blocks: the second starts at an odd byte
    b[0] = 130;                         // d = 4
    b[1] = 0x9f;                        // weight 0: code 15 (-12), weight 16: code 9 (-1)
    b[2] = 0x07;                        // weight 1: code 7 (12), weight 17: code 0
    b[3] = 0x53;                        // weight 2: code 3, weight 18: code 5 (6)
    b[16] = 0x8a;                       // weight 15: code 10 (-2), weight 31: code 8 (zero)
    b[17] = 125;                        // d = 1/8
    b[17 + 1 + 3] = 0xc4;               // weight 32 + 3: code 4, weight 32 + 19: code 12 (-4)
    std::vector<float> y(64);
    model::dequantize(GgmlType::mxfp4, b, y);
    CHECK((y[0] == -48.0f && y[16] == -4.0f && y[1] == 48.0f && y[17] == 0.0f));
    CHECK((y[2] == 12.0f && y[18] == 24.0f && y[15] == -8.0f && y[3] == 0.0f));
    CHECK((y[31] == 0.0f && !std::signbit(y[31])));  // code 8 is ggml's 0, not -0
    CHECK((y[35] == 0.5f && y[51] == -0.5f && y[32] == 0.0f));
  }

  TEST_CASE("MXFP4 extreme exponents: subnormal scales (e < 2), overflow, e = 255 as 2^127") {
    auto b = blank(GgmlType::mxfp4);
    b[1] = 0x97;  // weight 0: 12, weight 16: -1
    b[2] = 0x0f;  // weight 1: -12
    b[3] = 0x21;  // weight 2: 1, weight 18: 2
    const auto at = [&](uint8_t e) {
      b[0] = e;
      return decode(GgmlType::mxfp4, b);
    };
    auto y = at(0);  // 2^-128
    CHECK((y[0] == std::ldexp(3.0f, -126) && y[16] == -std::ldexp(1.0f, -128) && y[2] == std::ldexp(1.0f, -128)));
    y = at(1);  // 2^-127
    CHECK((y[0] == std::ldexp(3.0f, -125) && y[16] == -std::ldexp(1.0f, -127)));
    y = at(254);  // 2^126: levels of 4 and more overflow
    CHECK((y[2] == std::ldexp(1.0f, 126) && y[18] == std::ldexp(1.0f, 127)));
    CHECK((y[0] == std::numeric_limits<float>::infinity() && y[1] == -std::numeric_limits<float>::infinity()));
    y = at(255);  // E8M0's NaN, decoded as ggml does: 2^127, not NaN
    CHECK((y[2] == std::ldexp(1.0f, 127) && y[16] == -std::ldexp(1.0f, 127) && std::isinf(y[18])));
    CHECK(y[3] == 0.0f);
  }

  TEST_CASE("MXFP4 encoder: ggml's exponent floor(log2(amax)) + 125, the nearest level, the first on a tie") {
    // amax 1.9 -> e = 125, d = 1/8: levels 0, 1/8, ... 1.5.
    std::vector<float> x(32, 0.0f);
    x[0] = 1.0f;      // 8 d: code 6
    x[16] = -1.9f;    // past -12 d: clips to code 15
    x[1] = 0.3125f;   // 2.5 d, between codes 2 and 3: 2
    x[2] = -0.3125f;  // between codes 10 and 11: 10
    x[3] = 0.625f;    // 5 d, between 4 and 6: code 4
    x[4] = 1.25f;     // 10 d, between 8 and 12: code 6
    x[5] = 0.07f;     // 0.56 d: code 1
    x[21] = 0.06f;    // 0.48 d: code 0
    auto q = model::quantize(x, GgmlType::mxfp4);
    REQUIRE(q.size() == 17);
    const uint8_t want[17] = {125, 0xf6, 0x02, 0x0a, 0x04, 0x06, 0x01};
    for (int i = 0; i < 17; ++i) CHECK_MESSAGE(q[i] == want[i], "byte " << i);
    // Where amax sits just under a power of two the exponent drops by one.
    x.assign(32, 0.0f);
    x[7] = -0.99f;
    CHECK(model::quantize(x, GgmlType::mxfp4)[0] == 124);
    x[7] = std::ldexp(1.0f, -10);
    CHECK(model::quantize(x, GgmlType::mxfp4)[0] == 115);
    // An all-zero block: e = 0 and code 0 everywhere.
    for (uint8_t v : model::quantize(std::vector<float>(32, 0.0f), GgmlType::mxfp4)) CHECK(v == 0);
    // Exact levels (the largest setting the exponent) come back exactly.
    for (int j = 0; j < 32; ++j) x[j] = std::ldexp(static_cast<float>(model::kMxfp4Values[(j + 7) % 16]), -5);
    std::vector<float> y(32);
    model::dequantize(GgmlType::mxfp4, model::quantize(x, GgmlType::mxfp4), y);
    CHECK(y == x);
  }

  TEST_CASE("MXFP4 encoder on random rows: ggml's exponent, and every weight the nearest of its block's levels") {
    const auto x = random_floats(64 * 32, 5);
    std::vector<float> scaled(x.size());
    for (size_t i = 0; i < x.size(); ++i) scaled[i] = std::ldexp(x[i], static_cast<int>(i / 32 % 9) - 4);
    const auto q = model::quantize(scaled, GgmlType::mxfp4);
    REQUIRE(q.size() == model::ggml_type_bytes(GgmlType::mxfp4, scaled.size()));
    std::vector<float> y(scaled.size());
    model::dequantize(GgmlType::mxfp4, q, y);
    size_t far = 0, wrong_e = 0;
    for (size_t b = 0; b < scaled.size() / 32; ++b) {
      float amax = 0;
      for (int j = 0; j < 32; ++j) amax = std::max(amax, std::abs(scaled[b * 32 + j]));
      int ex = 0;
      std::frexp(amax, &ex);  // amax = m 2^ex, m in [0.5, 1): floor(log2(amax)) = ex - 1
      if (q[b * 17] != ex - 1 + 125) ++wrong_e;
      const float d = model::mxfp4_scale(q[b * 17]);
      for (int j = 0; j < 32; ++j) {
        const float v = scaled[b * 32 + j], err = std::abs(y[b * 32 + j] - v);
        for (int8_t level : model::kMxfp4Values)
          if (std::abs(static_cast<float>(level) * d - v) < err) ++far;
      }
    }
    CHECK(wrong_e == 0);
    CHECK(far == 0);
  }

  TEST_CASE("extreme scales: float16 max, subnormal, zero, negative") {
    // Q4_K: d = 65504, dmin = 2^-24, every scale and min 63, every quant 15:
    // 65504 * 63 * 15 - 63 * 2^-24 rounds to 61901280 (a float exactly).
    auto b = blank(GgmlType::q4_k);
    put16(b, 0, kHalfMax);
    put16(b, 2, kHalfTiny);
    for (uint32_t i = 0; i < 12; ++i) b[4 + i] = 0xff;
    for (uint32_t i = 0; i < 128; ++i) b[16 + i] = 0xff;
    for (float v : decode(GgmlType::q4_k, b)) CHECK(v == 61901280.0f);
    // d = 2^-24 exactly, quants 15 and scales 63: 945 * 2^-24.
    put16(b, 0, kHalfTiny);
    put16(b, 2, 0);
    for (float v : decode(GgmlType::q4_k, b)) CHECK(v == std::ldexp(945.0f, -24));
    // Zero scale: every weight 0, whatever the quants.
    put16(b, 0, 0);
    for (float v : decode(GgmlType::q4_k, b)) CHECK(v == 0.0f);
    // Q6_K, d = -2, scale -128, quant 63 - 32: -2 * -128 * 31 = 7936.
    auto c = blank(GgmlType::q6_k);
    for (uint32_t i = 0; i < 192; ++i) c[i] = 0xff;
    for (uint32_t i = 0; i < 16; ++i) c[192 + i] = 0x80;
    put16(c, 208, kHalfNeg2);
    for (float v : decode(GgmlType::q6_k, c)) CHECK(v == 7936.0f);
    // Q6_K at d = 65504, scale -128, quant -32: 268,304,384 (11 + 7 + 5 bits: exact).
    for (uint32_t i = 0; i < 192; ++i) c[i] = 0;
    put16(c, 208, kHalfMax);
    for (float v : decode(GgmlType::q6_k, c)) CHECK(v == 65504.0f * 128 * 32);
  }

  TEST_CASE("encoders round-trip within their quantisation step") {
    // Uniform [-1, 1] rows. step: the spacing of the type's levels over the
    // range [-1, 1] (2 / (levels - 1); IQ4: its widest gap, 24 of 240). Every
    // error is within a step (the K-quants' fitted scales and mins may clamp
    // the extremes), within half a step (+2% for the float16 scale) for the
    // min/max types Q4_1 and Q5_1, which round to nearest; the RMS within that
    // of uniform rounding, step / sqrt(12).
    const auto x = random_floats(16 * 256, 7);
    struct Bound {
      GgmlType type;
      double step, max_steps;
    };
    const Bound bounds[] = {{GgmlType::q4_1, 2.0 / 15, 0.51}, {GgmlType::q5_0, 2.0 / 31, 1},
                            {GgmlType::q5_1, 2.0 / 31, 0.51}, {GgmlType::q2_k, 2.0 / 3, 1},
                            {GgmlType::q3_k, 2.0 / 7, 1},     {GgmlType::q4_k, 2.0 / 15, 1},
                            {GgmlType::q5_k, 2.0 / 31, 1},    {GgmlType::q6_k, 2.0 / 63, 1},
                            {GgmlType::iq4_nl, 0.2, 1},       {GgmlType::iq4_xs, 0.2, 1}};
    for (auto [t, step, max_steps] : bounds) {
      const auto bytes = model::quantize(x, t);
      REQUIRE(bytes.size() == model::ggml_type_bytes(t, x.size()));
      std::vector<float> y(x.size());
      model::dequantize(t, bytes, y);
      double worst = 0, ss = 0;
      for (size_t i = 0; i < x.size(); ++i) {
        const double e = std::abs(static_cast<double>(y[i]) - x[i]);
        worst = std::max(worst, e);
        ss += e * e;
      }
      const double rms = std::sqrt(ss / static_cast<double>(x.size()));
      INFO(std::string(model::ggml_type_name(t)) << ": max error " << worst << ", rms " << rms << ", step " << step);
      CHECK(worst <= max_steps * step);
      CHECK(rms <= step / std::sqrt(12.0));
      CHECK(rms > 0);
    }
  }

  TEST_CASE("encoders: an all-zero input decodes to zeros") {
    const std::vector<float> zero(512, 0.0f);
    for (const auto& bt : kBlockTypes) {
      std::vector<float> y(zero.size(), 1.0f);
      model::dequantize(bt.type, model::quantize(zero, bt.type), y);
      for (float v : y) CHECK(v == 0.0f);
    }
  }

  TEST_CASE("a tensor of a type the kernels do not read is refused at load, naming it and its type") {
    // A synthetic F32 model with blk.0.attn_q.weight's type field rewritten: to
    // I32 (same size, known to the reader, no kernel), then to 16 (IQ2_XXS,
    // whose layout the reader does not know).
    const std::string path = temp_path("unsupported.gguf");
    model::write_synthetic_gguf(path, model::SyntheticSpec{});
    std::vector<char> bytes;
    {
      std::ifstream in(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    const std::string name = "blk.0.attn_q.weight";
    const size_t at = std::string(bytes.begin(), bytes.end()).find(name);
    REQUIRE(at != std::string::npos);
    const size_t type_at = at + name.size() + 4 + 2 * 8;  // n_dims, two dims, then the type
    uint32_t type = 0;
    std::memcpy(&type, bytes.data() + type_at, 4);
    REQUIRE(type == static_cast<uint32_t>(GgmlType::f32));
    for (uint32_t bad : {26u, 16u}) {
      std::memcpy(bytes.data() + type_at, &bad, 4);
      std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      INFO("type " << bad);
      CHECK_THROWS_WITH(model::load_model(path),
                        doctest::Contains(bad == 26 ? "tensor 'blk.0.attn_q.weight' has type I32"
                                                    : "tensor 'blk.0.attn_q.weight' has unknown type 16"));
    }
    std::filesystem::remove(path);
  }

  TEST_CASE("GPU decoding (embed and the decode matvec) equals the CPU decoder bit for bit, random blocks and extreme scales") {
    ValidationScope validation;
    std::mt19937 rng(11);
    for (const auto& bt : kBlockTypes) {
      const uint32_t per_block = model::block_bytes(bt.type), n = model::block_weights(bt.type);
      const uint32_t blocks = 2, rows = 24, dim = blocks * n, row_bytes = blocks * per_block;
      std::vector<uint8_t> data(uint64_t{rows} * row_bytes);
      for (auto& v : data) v = static_cast<uint8_t>(rng());
      // Scale fields: random normal halves, then the extremes in their own rows.
      const uint16_t extremes[] = {kHalfMax, kHalfTiny, 0, kHalfNeg2, 0x8001 /* -2^-24 */, 0x0400 /* 2^-14 */};
      // MXFP4's exponents: 2 .. 252, where every product is a normal float (e < 2
      // gives subnormals, which GPUs may flush; from 253 levels overflow, and an
      // infinity times the unit vectors' zeros is NaN), the extremes first.
      const uint8_t exponents[] = {2, 252, 127, 128};
      if (bt.type == GgmlType::mxfp4)
        for (uint32_t r = 0; r < rows; ++r)
          for (uint32_t b = 0; b < blocks; ++b)
            data[r * row_bytes + b * per_block] =
                r < std::size(exponents) ? exponents[(r + b) % std::size(exponents)] : static_cast<uint8_t>(2 + rng() % 251);
      for (uint32_t r = 0; r < rows; ++r)
        for (uint32_t b = 0; b < blocks; ++b)
          for (size_t h = 0; h < bt.halves.size(); ++h) {
            uint16_t v = static_cast<uint16_t>((rng() & 0x83ffu) | ((1 + rng() % 30) << 10));
            if (r < std::size(extremes)) v = extremes[(r + h + b) % std::size(extremes)];
            std::memcpy(data.data() + r * row_bytes + b * per_block + bt.halves[h], &v, 2);
          }
      std::vector<float> want(uint64_t{rows} * dim);
      model::dequantize(bt.type, data, want);
      std::vector<uint32_t> id(rows);
      for (uint32_t r = 0; r < rows; ++r) id[r] = rows - 1 - r;  // every row, reversed
      const auto emb = gpu_embed(bt.type, data, id, dim, row_bytes);
      size_t first = 0;
      const size_t bad_embed = mismatches(
          emb.size(), [&](size_t i) { return emb[i]; },
          [&](size_t i) { return want[uint64_t{id[i / dim]} * dim + i % dim]; }, &first);
      INFO(std::string(model::ggml_type_name(bt.type)) << " embed: " << bad_embed << " mismatches, first at " << first);
      CHECK(bad_embed == 0);
      for (uint32_t tokens : {1u, 3u}) {
        const auto mv = gpu_matvec_columns(bt.type, data, rows, dim, row_bytes, tokens);
        const size_t bad_matvec = mismatches(
            mv.size(), [&](size_t i) { return mv[i]; }, [&](size_t i) { return want[(i % rows) * dim + i / rows]; },
            &first);
        INFO("matvec, " << tokens << " tokens a dispatch: " << bad_matvec << " mismatches, first at " << first);
        CHECK(bad_matvec == 0);
      }
    }
  }
}

}  // namespace sinkstream::test
