// Streaming perplexity under the cache policies of the StreamingLLM paper,
// each predicting token t from exactly what the policy keeps of the tokens
// before it, with equal cache budgets (S + W slots):
//   sinks      S pinned first tokens + the W most recent, positions within the cache
//   window     the S + W most recent tokens, no pinned slots
//   dense      everything, absolute positions (memory grows with the text)
//   recompute  the last S + W tokens re-encoded from scratch for every token
//              (the paper's quadratic baseline). With recompute_from_bos, the
//              re-encoded sequence starts as the model was trained to see one:
//              the stream's BOS, then the S + W - 1 most recent tokens.
// Chunked evaluation is used for sinks, window and dense: the engine attends a
// chunk exactly as it would the same tokens one at a time.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/engine.hpp"

namespace sinkstream::model {

enum class CachePolicy { sinks, window, dense, recompute };
const char* policy_name(CachePolicy p);
CachePolicy parse_policy(const std::string& name);  // throws InvalidArgument

struct PerplexityConfig {
  CachePolicy policy = CachePolicy::sinks;
  uint32_t sinks = 4;
  uint32_t window = 0;  // 0: the model's training context minus the sinks
  KvType kv_type = KvType::f16;
  uint32_t chunk = 64;              // tokens per engine step (sinks, window, dense)
  uint32_t segment = 1024;          // tokens per point of the perplexity curve
  bool recompute_from_bos = false;  // ids[0] is BOS: each re-encoding starts with it
};

struct PerplexityResult {
  std::string policy;
  uint32_t sinks = 0, window = 0;  // what the policy kept (window = S + W for `window`)
  uint64_t tokens = 0;             // predicted tokens (every id after the first)
  bool interrupted = false;        // stopped by progress() before the end
  double nll_sum = 0;
  std::vector<double> nll;          // per predicted token
  std::vector<double> segment_ppl;  // per `segment` predicted tokens
  double seconds = 0;
  uint64_t device_bytes = 0;

  double ppl() const;
};

// `progress(done)` is called with the number of predicted tokens so far; when it
// returns false the evaluation stops there (the result covers what was done).
PerplexityResult evaluate_perplexity(Gpu& gpu, const ModelFile& model, std::span<const int32_t> ids,
                                     const PerplexityConfig& cfg,
                                     const std::function<bool(uint64_t)>& progress = {});

// -log softmax(logits)[target], in double.
double token_nll(std::span<const float> logits, int32_t target);

}  // namespace sinkstream::model
