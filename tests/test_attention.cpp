// GPU attention (kv_append + attn_split + attn_reduce) against the paper-literal
// CPU reference in src/ref. Tolerances: f32 KV 2e-4 absolute on outputs of
// magnitude <= 1; f16 KV 4e-3 (K/V rounded to half precision on the GPU only).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "gpu_fixture.hpp"
#include "kv/kv_cache.hpp"
#include "ref/attention_ref.hpp"
#include "sinkstream/error.hpp"
#include "sinkstream/stream.hpp"

namespace sinkstream::test {
namespace {

struct Case {
  StreamConfig cfg;
  uint32_t tokens = 100;
  std::vector<uint32_t> chunks = {1};  // chunk sizes, cycled
  uint64_t start = 0;
  float q_gain = 3.0f;  // sharpens attention so position errors show up
};

double tolerance(KvType t) { return t == KvType::f16 ? 4e-3 : 2e-4; }

// Streams `c.tokens` random tokens through both implementations and returns the
// largest absolute difference seen over every output.
double max_error(const Case& c) {
  const StreamConfig& cfg = c.cfg;
  AttentionStream gpu_stream(gpu(), cfg, c.start);
  ref::ReferenceStream reference(cfg);
  if (cfg.learned_sinks) {
    const auto logits = random_floats(uint64_t{cfg.layers} * cfg.heads, 99, -1.0f, 3.0f);
    gpu_stream.set_sink_logits(logits);
    reference.set_sink_logits(logits);
  }
  double worst = 0.0;
  uint32_t seed = 1, done = 0;
  for (size_t step = 0; done < c.tokens; ++step) {
    const uint32_t n = std::min(c.chunks[step % c.chunks.size()], c.tokens - done);
    const uint64_t q_n = uint64_t{cfg.layers} * n * cfg.heads * cfg.head_dim;
    const uint64_t kv_n = uint64_t{cfg.layers} * n * cfg.kv_heads * cfg.head_dim;
    auto q = random_floats(q_n, seed++, -c.q_gain, c.q_gain);
    auto k = random_floats(kv_n, seed++);
    auto v = random_floats(kv_n, seed++);
    std::vector<float> out(q_n);
    gpu_stream.step(q, k, v, n, out);
    const auto expect = reference.step(q, k, v, n);
    for (size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::abs(out[i] - expect[i]));
    done += n;
  }
  const auto counters = gpu_stream.counters();
  CHECK(counters.tokens_seen == c.tokens);
  CHECK(counters.slots_used == std::min<uint64_t>(c.tokens, cfg.sinks + std::min<uint64_t>(cfg.window, c.tokens)));
  return worst;
}

StreamConfig shape(uint32_t heads, uint32_t kv_heads, uint32_t head_dim, uint32_t sinks, uint32_t window,
                   KvType kv = KvType::f32) {
  StreamConfig cfg;
  cfg.layers = 1;
  cfg.heads = heads;
  cfg.kv_heads = kv_heads;
  cfg.head_dim = head_dim;
  cfg.sinks = sinks;
  cfg.window = window;
  cfg.kv_type = kv;
  cfg.max_chunk = 32;
  return cfg;
}

void expect_match(const Case& c, const std::string& label) {
  ValidationScope validation;
  const double err = max_error(c);
  INFO(label << ": max |gpu - reference| = " << err);
  CHECK(err <= tolerance(c.cfg.kv_type));
}

}  // namespace

TEST_SUITE("attention") {
  TEST_CASE("decode matches the reference over sinks, windows and wrap-around") {
    for (uint32_t sinks : {0u, 1u, 4u})
      for (uint32_t window : {1u, 7u, 64u}) {
        Case c{shape(4, 2, 8, sinks, window), 3 * window + sinks + 20};
        expect_match(c, "sinks " + std::to_string(sinks) + " window " + std::to_string(window));
      }
  }

  TEST_CASE("head dims and GQA ratios") {
    for (uint32_t hd : {4u, 8u, 64u, 128u, 256u})
      for (uint32_t group : {1u, 4u, 8u}) {
        Case c{shape(group * 2, 2, hd, 4, 37), 90, {1, 5}};
        expect_match(c, "head_dim " + std::to_string(hd) + " group " + std::to_string(group));
      }
  }

  TEST_CASE("window 1000 wraps several times with chunked appends") {
    Case c{shape(2, 1, 8, 4, 1000), 3300, {32, 1, 17, 32, 3}};
    expect_match(c, "window 1000");
  }

  TEST_CASE("chunks larger than the window and chunks that fill the sinks") {
    for (uint32_t window : {1u, 7u, 20u}) {
      Case c{shape(4, 2, 16, 4, window), 150, {2, 31, 9, 32}};
      expect_match(c, "window " + std::to_string(window));
    }
  }

  TEST_CASE("a stream starting at position 1e9 keeps exact positions") {
    for (uint32_t sinks : {0u, 4u}) {
      Case c{shape(4, 1, 64, sinks, 50), 200, {1, 13}, 1000000000ull};
      expect_match(c, "start 1e9, sinks " + std::to_string(sinks));
    }
    Case far{shape(4, 1, 64, 4, 50), 120, {1, 7}, (1ull << 40) + 12345};
    expect_match(far, "start 2^40");
  }

  TEST_CASE("f16 KV storage") {
    for (uint32_t group : {1u, 4u}) {
      Case c{shape(group * 2, 2, 128, 4, 64, KvType::f16), 200, {1, 9}};
      expect_match(c, "f16 group " + std::to_string(group));
    }
  }

  TEST_CASE("decode with fewer lanes per key (SINKSTREAM_DECODE_LANES) matches the reference") {
    for (const KvType kv : {KvType::f32, KvType::f16})
      for (const char* lanes : {"1", "2", "4"}) {
        ScopedEnv env("SINKSTREAM_DECODE_LANES", lanes);
        const StreamConfig cfg = shape(8, 2, 64, 4, 40, kv);
        const kv::DecodeShape s = kv::decode_shape(gpu().context().info(), cfg);
        if (!s.ok) {
          MESSAGE("no subgroup shuffles: one-token steps take attn_split");
          break;
        }
        const uint32_t units = 64 / 4 / (kv == KvType::f32 ? 1 : 2);  // 16-byte units of a row
        INFO("kv " << std::string(kv_type_name(kv)) << ", at most " << std::string(lanes) << " lanes: " << s.lanes);
        // As few lanes as asked, but never more than 4 units a lane.
        CHECK(s.lanes == std::max<uint32_t>(std::atoi(lanes), units / 4));
        expect_match(Case{cfg, 100, {1}}, std::string("lanes ") + lanes);
      }
  }

  TEST_CASE("chunk attention on cooperative matrices equals the portable kernel (f16 KV)") {
    // Both read the same float16 K/V, so they differ only by summation order and
    // the split float16 operands: a much tighter bound than against the reference.
    if (!gpu().context().info().coopmat_prefill)
      MESSAGE("no cooperative matrices here: both streams take the portable kernel");
    struct Shape {
      uint32_t group, head_dim;
      uint64_t start;
    };
    for (const Shape sh : {Shape{4, 64, 0}, Shape{1, 128, 0}, Shape{8, 64, 1000000000ull}, Shape{2, 32, 0},
                          Shape{2, 16, 0}}) {
      ValidationScope validation;
      StreamConfig cfg = shape(sh.group * 2, 2, sh.head_dim, 4, 50, KvType::f16);
      cfg.learned_sinks = sh.group == 8;
      ScopedEnv coopmat("SINKSTREAM_COOPMAT", nullptr);
      AttentionStream coop(gpu(), cfg, sh.start);
      coopmat.set("0");
      AttentionStream portable(gpu(), cfg, sh.start);
      if (cfg.learned_sinks) {
        const auto logits = random_floats(cfg.heads, 7, -1.0f, 3.0f);
        coop.set_sink_logits(logits);
        portable.set_sink_logits(logits);
      }
      double worst = 0.0;
      uint32_t seed = 1;
      for (uint32_t n : {32u, 7u, 32u, 1u, 32u, 32u, 19u}) {  // through the sinks and past the ring's wrap
        const auto q = random_floats(uint64_t{n} * cfg.heads * cfg.head_dim, seed++, -3.0f, 3.0f);
        const auto k = random_floats(uint64_t{n} * cfg.kv_heads * cfg.head_dim, seed++);
        const auto v = random_floats(uint64_t{n} * cfg.kv_heads * cfg.head_dim, seed++);
        std::vector<float> a(q.size()), b(q.size());
        coop.step(q, k, v, n, a);
        portable.step(q, k, v, n, b);
        for (size_t i = 0; i < a.size(); ++i) worst = std::max<double>(worst, std::abs(a[i] - b[i]));
      }
      INFO("group " << sh.group << " head_dim " << sh.head_dim << ": max |coop - portable| = " << worst);
      CHECK(worst <= 2e-5);
    }
  }

  TEST_CASE("learned sink logits") {
    StreamConfig cfg = shape(8, 2, 32, 0, 40);
    cfg.learned_sinks = true;
    cfg.layers = 2;
    expect_match({cfg, 130, {1, 6}}, "learned sinks, no pinned tokens");
    cfg.sinks = 2;
    expect_match({cfg, 130, {1, 6}}, "learned sinks with pinned tokens");
  }

  TEST_CASE("RoPE styles, partial rotary dims and frequency factors") {
    StreamConfig cfg = shape(4, 2, 32, 4, 24);
    cfg.rope.style = RopeStyle::neox;
    cfg.rope.theta = 1000000.0;
    expect_match({cfg, 100, {1, 8}}, "neox");
    cfg.rope.rotary_dims = 16;
    expect_match({cfg, 100, {1, 8}}, "neox, partial rotary");
    cfg.rope.style = RopeStyle::adjacent;
    cfg.rope.freq_factors.assign(8, 1.0f);
    for (size_t i = 0; i < 8; ++i) cfg.rope.freq_factors[i] = 1.0f + static_cast<float>(i);
    expect_match({cfg, 100, {1, 8}}, "adjacent, partial rotary, freq factors");
  }

  TEST_CASE("several layers in one step") {
    StreamConfig cfg = shape(4, 4, 16, 2, 10);
    cfg.layers = 3;
    expect_match({cfg, 60, {1, 4, 11}}, "3 layers");
  }

  TEST_CASE("dense: while the stream fits, sinks + window equals full attention") {
    // The reference with a window larger than the stream is plain causal
    // attention with absolute positions; the ring stream must agree with it.
    ValidationScope validation;
    StreamConfig ring = shape(4, 2, 32, 4, 60), dense = shape(4, 2, 32, 0, 1000);
    AttentionStream a(gpu(), ring), b(gpu(), dense);
    double worst = 0;
    for (uint32_t t = 0; t < 64; t += 8) {
      const auto q = random_floats(8 * 4 * 32, t + 1, -3, 3), k = random_floats(8 * 2 * 32, t + 2),
                 v = random_floats(8 * 2 * 32, t + 3);
      std::vector<float> oa(q.size()), ob(q.size());
      a.step(q, k, v, 8, oa);
      b.step(q, k, v, 8, ob);
      for (size_t i = 0; i < oa.size(); ++i) worst = std::max<double>(worst, std::abs(oa[i] - ob[i]));
    }
    CHECK(worst <= 1e-5);
  }

  TEST_CASE("chunked prefill gives the token-by-token result") {
    ValidationScope validation;
    StreamConfig cfg = shape(8, 2, 64, 4, 30);
    AttentionStream chunked(gpu(), cfg), single(gpu(), cfg);
    const uint32_t n = 32;
    double worst = 0;
    for (uint32_t round = 0; round < 4; ++round) {
      const auto q = random_floats(n * 8 * 64, 10 * round + 1, -3, 3), k = random_floats(n * 2 * 64, 10 * round + 2),
                 v = random_floats(n * 2 * 64, 10 * round + 3);
      std::vector<float> oc(q.size());
      chunked.step(q, k, v, n, oc);
      for (uint32_t i = 0; i < n; ++i) {
        std::vector<float> os(8 * 64);
        single.step(std::span(q).subspan(i * 512, 512), std::span(k).subspan(i * 128, 128),
                    std::span(v).subspan(i * 128, 128), 1, os);
        for (size_t j = 0; j < os.size(); ++j) worst = std::max<double>(worst, std::abs(os[j] - oc[i * 512 + j]));
      }
    }
    CHECK(worst <= 1e-5);
  }

  TEST_CASE("bad input is rejected with a clear error") {
    ValidationScope validation;
    StreamConfig cfg = shape(2, 1, 8, 1, 4);
    AttentionStream s(gpu(), cfg);
    std::vector<float> q(16, 0.5f), k(8, 0.5f), v(8, 0.5f), out(16);
    k[3] = std::nanf("");
    CHECK_THROWS_AS(s.step(q, k, v, 1, out), InvalidArgument);
    k[3] = INFINITY;
    CHECK_THROWS_AS(s.step(q, k, v, 1, out), InvalidArgument);
    k[3] = 0.5f;
    CHECK_THROWS_AS(s.step(q, k, v, 2, out), InvalidArgument);   // sizes say 1 token
    CHECK_THROWS_AS(s.step(q, k, v, 0, out), InvalidArgument);
    CHECK_NOTHROW(s.step(q, k, v, 1, out));
    CHECK(s.counters().tokens_seen == 1);  // the rejected steps left no trace

    StreamConfig bad = cfg;
    bad.head_dim = 10;
    CHECK_THROWS_AS(AttentionStream(gpu(), bad), InvalidArgument);
    bad = cfg;
    bad.heads = 3;
    bad.kv_heads = 2;
    CHECK_THROWS_AS(AttentionStream(gpu(), bad), InvalidArgument);
    bad = cfg;
    bad.window = 0;
    CHECK_THROWS_AS(AttentionStream(gpu(), bad), InvalidArgument);
  }
}

}  // namespace sinkstream::test
