// The GPU sampler (sample_rows.comp) against the CPU sampler (src/sample):
// every row of one dispatch, each with its own settings, penalty history and
// draw, must pick the token Sampler::sample(logits, u) picks with the same u,
// or leave the row to the host exactly where the kernel cannot take it.
// Error: wrong picks.
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "check/families.hpp"
#include "check/harness.hpp"
#include "sample/gpu_sampler.hpp"
#include "sample/sampler.hpp"

namespace sinkstream::check {
namespace {

using model::GpuSampler;
using model::SamplerConfig;

struct Row {
  SamplerConfig cfg;
  std::vector<float> logits;    // (vocab)
  std::vector<int32_t> recent;  // tokens the penalty looks at
  int32_t code = 0;             // 0: the CPU sampler's token; else the pick the kernel must report
};

std::vector<float> normal_logits(uint32_t vocab, uint32_t seed, float scale, float levels = 0) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(vocab);
  for (float& x : v) x = levels > 0 ? std::round(d(rng) * levels) / levels : d(rng);
  return v;
}

std::vector<Row> rows_for(uint32_t vocab, uint32_t seed) {
  const std::vector<int32_t> recent{3, 1, 3, 0, static_cast<int32_t>(vocab) - 1, -1};
  std::vector<Row> rows = {
      {{0.0f, 0, 1.0f, 0.0f, 1.5f, 64, 1}, normal_logits(vocab, seed, 1), recent},  // greedy, penalty
      {{0.8f, 40, 0.95f, 0.05f, 1.0f, 64, 2}, normal_logits(vocab, seed + 1, 2)},   // the CLI's defaults
      {{1.0f, 40, 1.0f, 0.0f, 1.0f, 64, 3}, normal_logits(vocab, seed + 2, 1, 2)},  // ties at the cut
      {{0.7f, 0, 1.0f, 0.2f, 1.0f, 64, 4}, normal_logits(vocab, seed + 3, 4)},      // min-p, no top-k
      {{1.2f, 100, 0.8f, 0.0f, 1.3f, 64, 5}, normal_logits(vocab, seed + 4, 1.5f), recent},
      {{1.0f, 0, 0.9f, 0.0f, 1.0f, 64, 6}, normal_logits(vocab, seed + 5, 12)},     // peaked, no top-k
      {{1.0f, 50, 0.9f, 0.0f, 1.0f, 64, 7}, normal_logits(vocab, seed + 6, 3e4f)},  // huge logits
  };
  // A flat row without top-k: the nucleus outgrows the candidates the kernel sorts.
  rows.push_back({{1.0f, 0, 0.9999f, 0.0f, 1.0f, 64, 8}, normal_logits(vocab, seed + 7, 0.01f), {},
                  vocab > GpuSampler::kMaxTopK ? GpuSampler::kFallback : 0});
  auto bad = normal_logits(vocab, seed + 8, 1);
  bad[vocab / 2] = std::numeric_limits<float>::quiet_NaN();
  rows.push_back({{0.8f, 40, 0.95f, 0.05f, 1.0f, 64, 9}, bad, {}, GpuSampler::kNonFinite});
  return rows;
}

// Wrong picks among the rows, all sampled in one dispatch.
uint32_t wrong_picks(vk::Context& ctx, uint32_t vocab, const std::vector<Row>& rows) {
  const auto n = static_cast<uint32_t>(rows.size());
  std::vector<float> all;  // (row, vocab)
  for (const Row& r : rows) all.insert(all.end(), r.logits.begin(), r.logits.end());
  const auto logits = device_buffer(ctx, all, "logits");
  const auto picks = zero_buffer(ctx, uint64_t{n} * 4, "picks");  // (row) int32
  GpuSampler gs(ctx, vocab, n);
  gs.bind(logits, picks);
  std::vector<double> u;
  model::Sampler draws({1.0f, 0, 1.0f, 0.0f, 1.0f, 64, vocab});
  for (uint32_t i = 0; i < n; ++i) {
    model::Sampler s(rows[i].cfg);
    for (int32_t t : rows[i].recent) s.accept(t);
    u.push_back(draws.next_uniform());
    gs.add(rows[i].cfg, s.recent_counts(), u[i], i, i);
  }
  vk::CommandBuffer cmd(ctx);
  cmd.begin();
  gs.record(cmd);
  cmd.host_read_barrier();
  cmd.end();
  cmd.submit_and_wait();
  const auto got = read<int32_t>(ctx, picks, n);
  uint32_t wrong = 0;
  for (uint32_t i = 0; i < n; ++i) {
    int32_t want = rows[i].code;
    if (want == 0) {
      model::Sampler s(rows[i].cfg);
      for (int32_t t : rows[i].recent) s.accept(t);
      want = s.sample(rows[i].logits, u[i]);
    }
    wrong += got[i] != want;
  }
  return wrong;
}

}  // namespace

void check_sample_rows(vk::Context& ctx, std::string_view, const CheckOptions& o, VariantResult& r) {
  r.tolerance = 0;
  std::vector<uint32_t> vocabs = {1, 7, 1024, 1031};
  if (!o.quick) vocabs.push_back(50001);
  for (uint32_t i = 0; i < vocabs.size(); ++i) {
    const auto rows = rows_for(vocabs[i], 100 + 10 * i);
    r.max_error = std::max<double>(r.max_error, wrong_picks(ctx, vocabs[i], rows));
    r.cases += static_cast<uint32_t>(rows.size());
  }
}

}  // namespace sinkstream::check
