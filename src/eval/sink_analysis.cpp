#include "eval/sink_analysis.hpp"

#include <algorithm>

#include "sinkstream/error.hpp"

namespace sinkstream {

double SinkReport::head_ratio(uint32_t position) const {
  const uint32_t from = layers > 1 ? 1 : 0;
  uint64_t above = 0, total = 0;
  for (uint32_t l = from; l < layers; ++l)
    for (uint32_t h = 0; h < heads && !(l < sliding.size() && sliding[l]); ++h, ++total) above += at(l, h, position) > threshold;
  return total ? static_cast<double>(above) / static_cast<double>(total) : 0.0;
}

double SinkReport::layer_mean(uint32_t layer, uint32_t position) const {
  double s = 0;
  for (uint32_t h = 0; h < heads; ++h) s += at(layer, h, position);
  return s / heads;
}

uint32_t SinkReport::recommended_sinks() const {
  uint32_t n = 0;
  for (uint32_t j = 0; j < first; ++j)
    if (head_ratio(j) >= 0.1) n = j + 1;
  return n;
}

}  // namespace sinkstream

namespace sinkstream::model {

SinkReport analyse_sinks(Gpu& gpu, const ModelFile& model, std::span<const int32_t> ids, uint32_t first,
                         double threshold, uint32_t min_query, const std::function<void(uint64_t)>& progress) {
  if (first == 0 || ids.size() <= std::max(first, min_query))
    throw InvalidArgument("the sink analysis needs more tokens than --first and the first query position");
  EngineConfig ec;
  ec.sinks = 0;  // dense: every token stays, at its absolute position
  ec.window = static_cast<uint32_t>(ids.size());
  ec.kv_type = KvType::f32;
  ec.max_chunk = 1;
  Engine engine(gpu, model, ec);
  engine.enable_attention_probe(first);
  SinkReport r;
  r.layers = model.hp.layers;
  r.sliding = model.hp.sliding;
  r.heads = model.hp.heads;
  r.first = first;
  r.threshold = threshold;
  r.alpha.assign(uint64_t{r.layers} * r.heads * first, 0.0);
  for (size_t t = 0; t < ids.size(); ++t) {
    engine.feed(ids.subspan(t, 1));
    if (t >= std::max<size_t>(first, min_query)) {
      const auto p = engine.attention_probe();
      for (size_t i = 0; i < p.size(); ++i) r.alpha[i] += p[i];
      ++r.queries;
    }
    if (progress) progress(t + 1);
  }
  for (double& a : r.alpha) a /= static_cast<double>(r.queries);
  return r;
}

}  // namespace sinkstream::model
