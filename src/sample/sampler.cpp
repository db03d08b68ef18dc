#include "sample/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "sinkstream/error.hpp"

namespace sinkstream::model {

void validate(const SamplerConfig& c) {
  if (!(c.temperature >= 0.0f && c.temperature <= 100.0f)) throw InvalidArgument("temperature must be in 0..100");
  if (!(c.top_p > 0.0f && c.top_p <= 1.0f)) throw InvalidArgument("top-p must be in (0, 1]");
  if (!(c.min_p >= 0.0f && c.min_p < 1.0f)) throw InvalidArgument("min-p must be in [0, 1)");
  if (!(c.repeat_penalty > 0.0f && c.repeat_penalty <= 10.0f))
    throw InvalidArgument("repeat penalty must be in (0, 10]");
}

Sampler::Sampler(const SamplerConfig& cfg) : cfg_(cfg), state_(cfg.seed) { validate(cfg_); }

double Sampler::next_uniform() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

void Sampler::accept(int32_t token) {
  if (cfg_.repeat_last_n == 0) return;
  recent_.push_back(token);
  if (recent_.size() > cfg_.repeat_last_n) recent_.pop_front();
}

std::vector<std::pair<int32_t, uint32_t>> Sampler::recent_counts() const {
  std::vector<int32_t> sorted(recent_.begin(), recent_.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::pair<int32_t, uint32_t>> out;
  for (int32_t t : sorted) {
    if (t < 0) continue;
    if (!out.empty() && out.back().first == t)
      ++out.back().second;
    else
      out.emplace_back(t, 1u);
  }
  return out;
}

int32_t Sampler::sample(std::span<const float> logits) {
  return sample(logits, cfg_.temperature == 0.0f ? 0.0 : next_uniform());
}

int32_t Sampler::sample(std::span<const float> logits, double u) {
  if (logits.empty()) throw InvalidArgument("no logits to sample from");
  candidates_.clear();
  for (size_t i = 0; i < logits.size(); ++i) {
    if (!std::isfinite(logits[i])) throw Error("the model produced a non-finite logit for token " + std::to_string(i));
    candidates_.emplace_back(logits[i], static_cast<int32_t>(i));
  }
  if (cfg_.repeat_penalty != 1.0f)
    for (int32_t t : recent_) {
      if (t < 0 || static_cast<size_t>(t) >= candidates_.size()) continue;
      float& l = candidates_[t].first;
      l = l > 0 ? l / cfg_.repeat_penalty : l * cfg_.repeat_penalty;
    }
  // Highest logit first; ties broken by the lower id so results never depend on sort stability.
  const auto better = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  if (cfg_.temperature == 0.0f) return std::min_element(candidates_.begin(), candidates_.end(), better)->second;

  size_t keep = candidates_.size();
  if (cfg_.top_k > 0 && cfg_.top_k < keep) keep = cfg_.top_k;
  std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<long>(keep), candidates_.end(), better);
  candidates_.resize(keep);

  // Softmax at the temperature, in double for reproducibility across compilers.
  std::vector<double> p(keep);
  const double top = candidates_[0].first;
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) sum += p[i] = std::exp((candidates_[i].first - top) / cfg_.temperature);
  for (double& x : p) x /= sum;
  size_t n = 0;
  double cum = 0;
  while (n < keep && (n == 0 || (cum < cfg_.top_p && p[n] >= cfg_.min_p * p[0]))) cum += p[n++];
  double r = u * cum;
  for (size_t i = 0; i < n; ++i) {
    if (r < p[i]) return candidates_[i].second;
    r -= p[i];
  }
  return candidates_[n - 1].second;
}

}  // namespace sinkstream::model
