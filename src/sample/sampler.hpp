// Choosing the next token from logits: greedy, or temperature with top-k,
// top-p and min-p truncation, with an optional repetition penalty. Seeded and
// reproducible: the same seed, logits and history give the same tokens on any
// machine (the RNG and the arithmetic are fully specified here).
#pragma once
#include <cstdint>
#include <deque>
#include <span>
#include <utility>
#include <vector>

namespace sinkstream::model {

struct SamplerConfig {
  float temperature = 0.8f;    // 0 = greedy
  uint32_t top_k = 40;         // 0 = off
  float top_p = 0.95f;         // 1 = off
  float min_p = 0.05f;         // 0 = off; keep tokens with p >= min_p * p_max
  float repeat_penalty = 1.0f; // 1 = off; divides positive logits of recent tokens (CTRL style)
  uint32_t repeat_last_n = 64; // how many recent tokens the penalty looks at
  uint64_t seed = 42;
};

// Throws InvalidArgument for out-of-range settings.
void validate(const SamplerConfig& c);

// Greedy with no repetition penalty: the pick depends on the logits alone (the
// largest, the lowest id on ties), which Engine::decode_greedy computes on the GPU.
inline bool plain_greedy(const SamplerConfig& c) { return c.temperature == 0.0f && c.repeat_penalty == 1.0f; }

class Sampler {
 public:
  explicit Sampler(const SamplerConfig& cfg);
  const SamplerConfig& config() const { return cfg_; }
  int32_t sample(std::span<const float> logits);
  // The same with the draw given: what sample() does with u = next_uniform()
  // when the temperature is not 0 (greedy draws nothing). The GPU sampler
  // (sample_rows.comp) is handed the draws this way, so a row it leaves to the
  // host is sampled with the same u.
  int32_t sample(std::span<const float> logits, double u);
  double next_uniform();  // [0, 1) from splitmix64
  // Records a token of the stream (prompt or generated) for the repetition penalty.
  void accept(int32_t token);
  // The tokens the penalty applies to, each with how often it is among them,
  // by increasing token (negative ones, which the penalty skips, left out).
  std::vector<std::pair<int32_t, uint32_t>> recent_counts() const;

 private:

  SamplerConfig cfg_;
  uint64_t state_;
  std::deque<int32_t> recent_;
  std::vector<std::pair<float, int32_t>> candidates_;  // scratch
};

}  // namespace sinkstream::model
