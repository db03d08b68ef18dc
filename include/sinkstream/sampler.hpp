// Choosing the next token from logits: greedy (temperature 0), or temperature
// with top-k, top-p and min-p truncation, with an optional repetition penalty.
// Seeded and reproducible: the same seed, logits and history give the same
// tokens on any machine. A Sampler is used by one thread at a time.
#pragma once
#include <cstdint>
#include <memory>
#include <span>

#include "sinkstream/export.hpp"

namespace sinkstream {

struct SamplerParams {
  float temperature = 0.8f;     // 0 = greedy (the largest logit, the lowest id on ties)
  uint32_t top_k = 40;          // 0 = off
  float top_p = 0.95f;          // 1 = off
  float min_p = 0.05f;          // 0 = off; keep tokens with p >= min_p * p_max
  float repeat_penalty = 1.0f;  // 1 = off; divides positive logits of recent tokens (CTRL style)
  uint32_t repeat_last_n = 64;  // how many recent tokens the penalty looks at
  uint64_t seed = 42;

  static SamplerParams greedy() { return {0.0f, 0, 1.0f, 0.0f, 1.0f, 64, 0}; }
  // Greedy with no repetition penalty: the pick depends on the logits alone
  // (a stream then decodes several steps per GPU submission, the pick on the GPU).
  bool plain_greedy() const { return temperature == 0.0f && repeat_penalty == 1.0f; }
};

// Throws InvalidArgument naming the first out-of-range setting.
SINKSTREAM_API void validate(const SamplerParams& p);

class SINKSTREAM_API Sampler {
 public:
  explicit Sampler(const SamplerParams& params = {});
  ~Sampler();
  Sampler(const Sampler&);
  Sampler& operator=(const Sampler&);
  Sampler(Sampler&&) noexcept;
  Sampler& operator=(Sampler&&) noexcept;

  // Picks a token (does not record it: call accept()).
  int32_t sample(std::span<const float> logits);
  // Records tokens of the stream (prompt or generated) for the repetition penalty.
  void accept(int32_t token);
  void accept(std::span<const int32_t> tokens);
  // Back to the state of a new Sampler with these params (history cleared, seed restarted).
  void reset();
  const SamplerParams& params() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sinkstream
