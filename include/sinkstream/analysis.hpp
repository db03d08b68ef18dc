// Does a model have attention sinks, and how many? (`sinkstream sinks`) Runs
// a text through the model with dense attention (no sinks, no window) and
// measures, per layer and head, the mean attention alpha(j) that later queries
// give to each of the first positions j: Gu et al., "When Attention Sink
// Emerges in Language Models" (ICLR 2025).
//
// Thread safety: the analysis runs on its own cache on the Model's device (one
// thread at a time per Model); a SinkReport is a plain value.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "sinkstream/export.hpp"
#include "sinkstream/model.hpp"

namespace sinkstream {

struct SINKSTREAM_API SinkReport {
  uint32_t layers = 0, heads = 0, first = 0;
  uint64_t queries = 0;        // query positions averaged over
  double threshold = 0.3;
  std::vector<double> alpha;   // (layer, head, position): mean attention on that position
  // (layer) 1: a sliding-window layer (gemma3), which never sees the first
  // tokens once its window has passed them: its alpha is 0 and head_ratio()
  // leaves it out. Empty: none.
  std::vector<uint8_t> sliding;

  double at(uint32_t layer, uint32_t head, uint32_t position) const {
    return alpha[(uint64_t{layer} * heads + head) * first + position];
  }
  // Fraction of heads (all layers but the first, as Gu et al. count, and but the
  // sliding-window ones) with alpha(position) > threshold.
  double head_ratio(uint32_t position) const;
  // Mean over heads of alpha(position) in one layer.
  double layer_mean(uint32_t layer, uint32_t position) const;
  // Leading positions that at least 10% of heads treat as a sink; 0: no sink detected.
  uint32_t recommended_sinks() const;
};

struct SinkAnalysisOptions {
  uint32_t first = 4;       // positions measured
  double threshold = 0.3;   // alpha above which a head has a sink there
  // Queries from this position on are averaged (early queries see only the
  // first tokens and would inflate alpha).
  uint32_t min_query = 16;
};

// `ids` (BOS first, as the model saw its training text) are fed one at a time;
// progress(done) after each. Throws InvalidArgument when there are too few.
SINKSTREAM_API SinkReport analyse_sinks(const Model& model, std::span<const int32_t> ids,
                                        const SinkAnalysisOptions& options = {},
                                        const std::function<void(uint64_t done)>& progress = {});

}  // namespace sinkstream
