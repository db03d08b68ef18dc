#include "eval/perplexity.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "sinkstream/error.hpp"

namespace sinkstream::model {

const char* policy_name(CachePolicy p) {
  switch (p) {
    case CachePolicy::sinks:
      return "sinks";
    case CachePolicy::window:
      return "window";
    case CachePolicy::dense:
      return "dense";
    case CachePolicy::recompute:
      return "recompute";
  }
  return "?";
}

CachePolicy parse_policy(const std::string& name) {
  for (auto p :
       {CachePolicy::sinks, CachePolicy::window, CachePolicy::dense, CachePolicy::recompute})
    if (name == policy_name(p)) return p;
  throw InvalidArgument("unknown policy '" + name + "' (sinks, window, dense, recompute)");
}

double PerplexityResult::ppl() const {
  return tokens ? std::exp(nll_sum / static_cast<double>(tokens)) : 0.0;
}

double token_nll(std::span<const float> logits, int32_t target) {
  double m = -INFINITY;
  for (float l : logits) m = std::max<double>(m, l);
  double sum = 0;
  for (float l : logits) sum += std::exp(l - m);
  return std::log(sum) + m - logits[static_cast<size_t>(target)];
}

namespace {

EngineConfig engine_for(const PerplexityConfig& c, uint32_t window, uint64_t n_tokens) {
  EngineConfig e;
  e.kv_type = c.kv_type;
  e.max_chunk = c.chunk;
  switch (c.policy) {
    case CachePolicy::sinks:
      e.sinks = c.sinks;
      e.window = window;
      break;
    case CachePolicy::window:
    case CachePolicy::recompute:
      e.sinks = 0;
      e.window = c.sinks + window;  // the same budget, no pinned slots
      break;
    case CachePolicy::dense:
      e.sinks = 0;
      e.window = static_cast<uint32_t>(std::min<uint64_t>(n_tokens, 1u << 24));
      break;
  }
  return e;
}

// sinks, window, dense: one pass, chunk by chunk, every token's logits kept.
void stream_pass(Engine& engine, std::span<const int32_t> ids, uint32_t chunk, PerplexityResult& r,
                 const std::function<bool(uint64_t)>& progress) {
  const uint32_t vocab = engine.hparams().vocab;
  for (size_t at = 0; at + 1 < ids.size(); at += chunk) {
    const size_t m = std::min<size_t>(chunk, ids.size() - 1 - at);  // the last id is only predicted
    const auto logits = engine.feed(ids.subspan(at, m), true);
    for (size_t i = 0; i < m; ++i)
      r.nll.push_back(token_nll(logits.subspan(i * vocab, vocab), ids[at + i + 1]));
    if (progress && !progress(r.nll.size())) return;
  }
}

// The paper's baseline: a fresh cache for every prediction, holding the last
// `budget` tokens re-encoded at positions 0..budget-1 (the first of them the
// stream's BOS when `from_bos`).
void recompute_pass(Engine& engine, std::span<const int32_t> ids, uint32_t budget, bool from_bos,
                    PerplexityResult& r, const std::function<bool(uint64_t)>& progress) {
  for (size_t t = 1; t < ids.size(); ++t) {
    engine.reset();
    std::span<const float> logits;
    if (t <= budget) {
      logits = engine.feed(ids.subspan(0, t));
    } else if (from_bos) {
      engine.feed(ids.subspan(0, 1));
      logits = engine.feed(ids.subspan(t - budget + 1, budget - 1));
    } else {
      logits = engine.feed(ids.subspan(t - budget, budget));
    }
    r.nll.push_back(token_nll(logits, ids[t]));
    if (progress && (t % 16 == 0 || t + 1 == ids.size()) && !progress(r.nll.size())) return;
  }
}

}  // namespace

PerplexityResult evaluate_perplexity(Gpu& gpu, const ModelFile& model, std::span<const int32_t> ids,
                                     const PerplexityConfig& cfg,
                                     const std::function<bool(uint64_t)>& progress) {
  if (ids.size() < 2) throw InvalidArgument("perplexity needs at least two tokens");
  if (cfg.segment == 0 || cfg.chunk == 0)
    throw InvalidArgument("segment and chunk must be positive");
  for (int32_t id : ids)
    if (id < 0 || static_cast<uint32_t>(id) >= model.hp.vocab)
      throw InvalidArgument("token id " + std::to_string(id) + " is outside the vocabulary");
  const uint32_t context = model.hp.context ? model.hp.context : 2048;
  const uint32_t window = cfg.window ? cfg.window : (context > cfg.sinks ? context - cfg.sinks : 1);
  Engine engine(gpu, model, engine_for(cfg, window, ids.size()));

  PerplexityResult r;
  r.policy = policy_name(cfg.policy);
  r.sinks = engine.cache_config().sinks;
  r.window = engine.cache_config().window;
  r.nll.reserve(ids.size() - 1);
  const auto t0 = std::chrono::steady_clock::now();
  if (cfg.policy == CachePolicy::recompute)
    recompute_pass(engine, ids, cfg.sinks + window, cfg.recompute_from_bos, r, progress);
  else
    stream_pass(engine, ids, cfg.chunk, r, progress);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.tokens = r.nll.size();
  r.interrupted = r.tokens + 1 < ids.size();
  for (size_t i = 0; i < r.nll.size(); i += cfg.segment) {
    const size_t end = std::min(r.nll.size(), i + cfg.segment);
    double s = 0;
    for (size_t j = i; j < end; ++j) s += r.nll[j];
    r.nll_sum += s;
    r.segment_ppl.push_back(std::exp(s / static_cast<double>(end - i)));
  }
  r.device_bytes = engine.counters().device_bytes;
  return r;
}

}  // namespace sinkstream::model
