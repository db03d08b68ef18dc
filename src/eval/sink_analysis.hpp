// Does a model have attention sinks, and how many? Runs a text through the
// model with dense attention (within its training context) and measures, per
// layer and head, the mean attention the first positions receive from later
// queries: alpha(j) in the sense of Gu et al., "When Attention Sink Emerges in
// Language Models" (ICLR 2025), and the fraction of heads with alpha > 0.3.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "engine/engine.hpp"

namespace sinkstream::model {

struct SinkReport {
  uint32_t layers = 0, heads = 0, first = 0;
  uint64_t queries = 0;        // query positions averaged over
  double threshold = 0.3;
  std::vector<double> alpha;   // (layer, head, position): mean attention on that position

  double at(uint32_t layer, uint32_t head, uint32_t position) const {
    return alpha[(uint64_t{layer} * heads + head) * first + position];
  }
  // Fraction of heads (all layers but the first, as Gu et al. count) with alpha(position) > threshold.
  double head_ratio(uint32_t position) const;
  // Mean over heads of alpha(position) in one layer.
  double layer_mean(uint32_t layer, uint32_t position) const;
  // Leading positions that at least 10% of heads treat as a sink; 0: no sink detected.
  uint32_t recommended_sinks() const;
};

// Queries from position `min_query` on are averaged (early queries see only
// the first tokens and would inflate alpha).
SinkReport analyse_sinks(Gpu& gpu, const ModelFile& model, std::span<const int32_t> ids, uint32_t first,
                         double threshold, uint32_t min_query, const std::function<void(uint64_t)>& progress = {});

}  // namespace sinkstream::model
