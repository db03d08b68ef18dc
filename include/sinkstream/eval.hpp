// Streaming perplexity under the cache policies of the StreamingLLM paper,
// each predicting token t from exactly what the policy keeps of the tokens
// before it, with equal cache budgets (sinks + window slots):
//   sinks      the first `sinks` tokens pinned + the most recent, positions within the cache
//   window     the sinks + window most recent tokens, no pinned slots
//   dense      everything, absolute positions (memory grows with the text)
//   recompute  the last sinks + window tokens re-encoded for every token (the
//              paper's quadratic baseline); with recompute_from_bos the
//              re-encoded sequence starts with the stream's BOS.
// Each evaluation runs on its own cache on the Model's device (one thread at a time per Model).
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "sinkstream/config.hpp"
#include "sinkstream/export.hpp"
#include "sinkstream/model.hpp"

namespace sinkstream {

enum class CachePolicy { sinks, window, dense, recompute };
SINKSTREAM_API const char* policy_name(CachePolicy p);
// "sinks", "window", "dense", "recompute"; throws InvalidArgument otherwise.
SINKSTREAM_API CachePolicy parse_policy(const std::string& name);

struct PerplexityOptions {
  CachePolicy policy = CachePolicy::sinks;
  uint32_t sinks = 4;
  uint32_t window = 0;  // 0: the model's training context minus the sinks
  KvType kv_type = KvType::f16;
  uint32_t chunk = 64;              // tokens per GPU step (sinks, window, dense)
  uint32_t segment = 1024;          // tokens per point of the perplexity curve
  bool recompute_from_bos = false;  // ids[0] is BOS: each re-encoding starts with it
};

struct SINKSTREAM_API PerplexityResult {
  std::string policy;
  uint32_t sinks = 0, window = 0;  // what the policy kept
  uint64_t tokens = 0;             // predicted tokens (every id after the first)
  bool interrupted = false;        // stopped by progress() before the end
  double nll_sum = 0;
  std::vector<double> nll;          // per predicted token
  std::vector<double> segment_ppl;  // per `segment` predicted tokens
  double seconds = 0;
  uint64_t device_bytes = 0;

  double ppl() const;
};

// `progress(done)` gets the number of predicted tokens so far; false stops the
// evaluation there (the result covers what was done).
SINKSTREAM_API PerplexityResult evaluate_perplexity(const Model& model, std::span<const int32_t> ids,
                                                    const PerplexityOptions& options,
                                                    const std::function<bool(uint64_t)>& progress = {});

}  // namespace sinkstream
