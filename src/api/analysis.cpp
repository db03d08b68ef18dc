#include "sinkstream/analysis.hpp"

#include "api/model_impl.hpp"
#include "eval/sink_analysis.hpp"

namespace sinkstream {

SinkReport analyse_sinks(const Model& m, std::span<const int32_t> ids, const SinkAnalysisOptions& o,
                         const std::function<void(uint64_t)>& progress) {
  detail::ModelImpl& impl = *m.impl();
  return model::analyse_sinks(*impl.gpu, *impl.file, ids, o.first, o.threshold, o.min_query, progress);
}

}  // namespace sinkstream
