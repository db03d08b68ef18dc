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
#include "sinkstream/analysis.hpp"

namespace sinkstream::model {

// The public report (sinkstream/analysis.hpp).
using SinkReport = sinkstream::SinkReport;

// Queries from position `min_query` on are averaged (early queries see only
// the first tokens and would inflate alpha).
SinkReport analyse_sinks(Gpu& gpu, const ModelFile& model, std::span<const int32_t> ids, uint32_t first,
                         double threshold, uint32_t min_query, const std::function<void(uint64_t)>& progress = {});

}  // namespace sinkstream::model
