// Sampling many logits rows on the GPU in one dispatch (sample_rows.comp):
// each row with its own settings, repetition-penalty history and draw, so a
// step of sampled streams needs no logits read back. The CPU reference is
// Sampler (sampler.cpp): given the same draw u, a row gets the token
// Sampler::sample(logits, u) picks, up to float rounding where two
// candidates' cumulative probabilities meet the draw within it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "sample/sampler.hpp"
#include "vk/commands.hpp"
#include "vk/context.hpp"

namespace sinkstream::model {

// One row to sample. Mirrored by shaders/include/sample_rows.glsl.
struct SampleRow {
  uint32_t logit_row;
  uint32_t slot;
  float temperature;
  uint32_t top_k;
  float top_p;
  float min_p;
  float repeat_penalty;
  uint32_t n_recent;
  float u;
  uint32_t pad[3];
};
static_assert(sizeof(SampleRow) == 48);
static_assert(offsetof(SampleRow, n_recent) == 28);
static_assert(offsetof(SampleRow, u) == 32);

struct SampleRowsPC {
  uint32_t vocab;
  uint32_t max_recent;
};
static_assert(sizeof(SampleRowsPC) == 8);

class GpuSampler {
 public:
  // What picks[slot] holds when the kernel did not pick: the row is the
  // host's (its nucleus outgrew the candidates the kernel sorts), or a
  // logit was NaN or Inf (the host's Sampler then says which).
  static constexpr int32_t kFallback = -1;
  static constexpr int32_t kNonFinite = -2;
  static constexpr uint32_t kMaxRecent = 64;   // distinct penalised tokens a row takes
  static constexpr uint32_t kMaxTopK = 1024;   // candidates the kernel sorts

  GpuSampler(vk::Context& ctx, uint32_t vocab, uint32_t max_rows);
  // logits: (row, vocab) floats; picks: (slot) int32, where the tokens go.
  void bind(const vk::GpuBuffer& logits, const vk::GpuBuffer& picks);

  // Whether the kernel takes a stream with these settings and this history
  // (the host samples it otherwise).
  static bool takes(const SamplerConfig& cfg, size_t distinct_recent);
  void clear() { n_rows_ = 0; }
  // Adds logits row `logit_row`, its token to picks[slot], drawn with u.
  void add(const SamplerConfig& cfg, std::span<const std::pair<int32_t, uint32_t>> recent, double u,
           uint32_t logit_row, uint32_t slot);
  // Counts a row whose settings add() writes later, after clear(): a step
  // recorded while the previous one runs (whose rows the buffers still hold).
  void reserve_row();
  uint32_t rows() const { return n_rows_; }
  // A barrier, then one dispatch for every row added since clear().
  void record(vk::CommandBuffer& cmd) const;

 private:
  vk::Context* ctx_;
  uint32_t vocab_, max_rows_, n_rows_ = 0;
  const vk::Kernel* kernel_;
  vk::GpuBuffer rows_;    // (row) SampleRow, host-written
  vk::GpuBuffer recent_;  // (row, kMaxRecent) (token, count), host-written
  vk::DescriptorPool pool_;
  vk::BindingSet set_;
};

}  // namespace sinkstream::model
