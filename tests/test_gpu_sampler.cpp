// sample_rows.comp against its CPU reference, Sampler::sample(logits, u):
// every row of a dispatch, each with its own settings, history and draw, must
// pick the token the reference picks, or say why it could not.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gpu_fixture.hpp"
#include "sample/gpu_sampler.hpp"
#include "sample/sampler.hpp"

namespace sinkstream::test {
namespace {

using model::GpuSampler;
using model::Sampler;
using model::SamplerConfig;

struct Case {
  std::string what;
  SamplerConfig cfg;
  std::vector<float> logits;   // (vocab)
  std::vector<int32_t> recent; // tokens the penalty looks at
  int32_t expect_code = 0;     // 0: the reference's token; else GpuSampler::kFallback / kNonFinite
};

SamplerConfig config(float t, uint32_t k, float p, float min_p, float penalty = 1.0f, uint64_t seed = 1) {
  return {t, k, p, min_p, penalty, 64, seed};
}

// Logits of scale `scale` (peaked when large); `levels` > 0 rounds them to
// that many steps per unit, so many tokens tie.
std::vector<float> logits(uint32_t vocab, uint32_t seed, float scale, float levels = 0) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(vocab);
  for (float& x : v) x = levels > 0 ? std::round(d(rng) * levels) / levels : d(rng);
  return v;
}

// Runs every case as one row of one dispatch; returns the picks.
std::vector<int32_t> run_gpu(const std::vector<Case>& cases, uint32_t vocab, const std::vector<double>& u) {
  auto& ctx = gpu().context();
  const auto rows = static_cast<uint32_t>(cases.size());
  auto logit_buf = ctx.create_buffer(uint64_t{rows} * vocab * 4, vk::MemoryUse::upload, "test logits");
  auto picks = ctx.create_buffer(uint64_t{rows} * 2 * 4, vk::MemoryUse::readback, "test picks");
  GpuSampler gs(ctx, vocab, rows);
  gs.bind(logit_buf, picks);
  for (uint32_t r = 0; r < rows; ++r) {
    ctx.upload(logit_buf, cases[r].logits.data(), uint64_t{vocab} * 4, uint64_t{r} * vocab * 4);
    Sampler s(cases[r].cfg);
    for (int32_t t : cases[r].recent) s.accept(t);
    const auto recent = s.recent_counts();
    REQUIRE(GpuSampler::takes(cases[r].cfg, recent.size()));
    gs.add(cases[r].cfg, recent, u[r], r, 2 * r + 1);  // slots apart from rows: the kernel must use both
  }
  vk::CommandBuffer cmd(ctx);
  cmd.begin();
  gs.record(cmd);
  cmd.host_read_barrier();
  cmd.end();
  cmd.submit_and_wait();
  std::vector<int32_t> all(2 * rows), out(rows);
  ctx.download(picks, all.data(), all.size() * 4);
  for (uint32_t r = 0; r < rows; ++r) out[r] = all[2 * r + 1];
  return out;
}

void check_cases(const std::vector<Case>& cases, uint32_t vocab) {
  std::vector<double> u;
  Sampler draws(config(1, 0, 1, 0, 1, vocab));
  for (size_t i = 0; i < cases.size(); ++i) u.push_back(draws.next_uniform());
  const auto picks = run_gpu(cases, vocab, u);
  for (size_t r = 0; r < cases.size(); ++r) {
    CAPTURE(vocab);
    CAPTURE(cases[r].what);
    if (cases[r].expect_code != 0) {
      CHECK(picks[r] == cases[r].expect_code);
      continue;
    }
    Sampler s(cases[r].cfg);
    for (int32_t t : cases[r].recent) s.accept(t);
    CHECK(picks[r] == s.sample(cases[r].logits, u[r]));
  }
}

std::vector<Case> cases_for(uint32_t vocab, uint32_t seed) {
  const std::vector<int32_t> recent{3, 1, 3, 0, 5, 3, int32_t(vocab) - 1, int32_t(vocab) + 7, -1};
  std::vector<Case> c;
  for (uint32_t i = 0; i < 4; ++i) {
    const uint32_t s = seed * 16 + i;
    c.push_back({"greedy", config(0, 40, 0.95f, 0.05f), logits(vocab, s, 3)});
    c.push_back({"greedy, penalty", config(0, 0, 1, 0, 1.7f), logits(vocab, s, 1), recent});
    c.push_back({"defaults", config(0.8f, 40, 0.95f, 0.05f), logits(vocab, s, 2)});
    c.push_back({"top-k 1", config(1.0f, 1, 1, 0), logits(vocab, s, 2)});
    c.push_back({"ties at the top-k cut", config(1.0f, 40, 1, 0), logits(vocab, s, 1, 2)});
    c.push_back({"min-p", config(0.7f, 0, 1, 0.2f), logits(vocab, s, 4)});
    c.push_back({"penalty, top-p", config(1.2f, 100, 0.8f, 0, 1.3f), logits(vocab, s, 1.5f), recent});
    c.push_back({"top-k 1024", config(2.0f, 1024, 1, 0), logits(vocab, s, 1)});
    c.push_back({"huge logits", config(1.0f, 50, 0.9f, 0), logits(vocab, s, 3e4f)});
    c.push_back({"top-k off, peaked", config(1.0f, 0, 0.9f, 0), logits(vocab, s, 12)});
  }
  // No top-k over a flat row: the nucleus holds most of the vocabulary.
  c.push_back({"top-k off, flat", config(1.0f, 0, 0.9999f, 0), logits(vocab, seed, 0.01f),
               {}, vocab > GpuSampler::kMaxTopK ? GpuSampler::kFallback : 0});
  auto nan = logits(vocab, seed, 1);
  nan[vocab / 2] = std::numeric_limits<float>::quiet_NaN();
  c.push_back({"NaN", config(0.8f, 40, 0.95f, 0.05f), nan, {}, GpuSampler::kNonFinite});
  auto inf = logits(vocab, seed, 1);
  inf[vocab - 1] = -std::numeric_limits<float>::infinity();
  c.push_back({"-Inf, greedy", config(0, 0, 1, 0), inf, {}, GpuSampler::kNonFinite});
  return c;
}

}  // namespace

TEST_SUITE("gpu_sampler") {
  TEST_CASE("every row of a dispatch picks the CPU sampler's token with the same draw") {
    ValidationScope validation;
    const uint32_t vocabs[] = {1, 7, 300, 1024, 1031, 32000};
    for (uint32_t i = 0; i < std::size(vocabs); ++i) check_cases(cases_for(vocabs[i], i + 1), vocabs[i]);
  }

  TEST_CASE("settings the kernel does not take are left to the host") {
    CHECK(GpuSampler::takes(config(1, 1024, 1, 0), 0));
    CHECK_FALSE(GpuSampler::takes(config(1, 1025, 1, 0), 0));
    CHECK(GpuSampler::takes(config(1, 40, 1, 0, 1.1f), 64));
    CHECK_FALSE(GpuSampler::takes(config(1, 40, 1, 0, 1.1f), 65));
    CHECK(GpuSampler::takes(config(1, 40, 1, 0, 1.0f), 500));  // no penalty: the history is not read
  }

  TEST_CASE("the draws: the same seed gives the same sequence, and sample() is sample(u) with the next one") {
    const auto row = logits(500, 9, 1);
    Sampler a(config(0.9f, 0, 0.97f, 0, 1, 77)), b(config(0.9f, 0, 0.97f, 0, 1, 77));
    for (int i = 0; i < 50; ++i) CHECK(a.sample(row) == b.sample(row, b.next_uniform()));
    Sampler g(config(0, 0, 1, 0, 1, 77)), h(config(0, 0, 1, 0, 1, 77));
    g.sample(row);  // greedy draws nothing
    CHECK(g.next_uniform() == h.next_uniform());
  }
}

}  // namespace sinkstream::test
