#include "sinkstream/eval.hpp"

#include <cmath>

#include "api/model_impl.hpp"
#include "eval/perplexity.hpp"

namespace sinkstream {

const char* policy_name(CachePolicy p) { return model::policy_name(static_cast<model::CachePolicy>(p)); }
CachePolicy parse_policy(const std::string& name) { return static_cast<CachePolicy>(model::parse_policy(name)); }

static_assert(static_cast<int>(CachePolicy::recompute) == static_cast<int>(model::CachePolicy::recompute));

double PerplexityResult::ppl() const { return tokens ? std::exp(nll_sum / static_cast<double>(tokens)) : 0.0; }

PerplexityResult evaluate_perplexity(const Model& m, std::span<const int32_t> ids, const PerplexityOptions& o,
                                     const std::function<bool(uint64_t)>& progress) {
  model::PerplexityConfig c;
  c.policy = static_cast<model::CachePolicy>(o.policy);
  c.sinks = o.sinks;
  c.window = o.window;
  c.kv_type = o.kv_type;
  c.chunk = o.chunk;
  c.segment = o.segment;
  c.recompute_from_bos = o.recompute_from_bos;
  detail::ModelImpl& impl = *m.impl();
  model::PerplexityResult r = model::evaluate_perplexity(*impl.gpu, *impl.file, ids, c, progress);
  PerplexityResult out;
  out.policy = std::move(r.policy);
  out.sinks = r.sinks;
  out.window = r.window;
  out.tokens = r.tokens;
  out.interrupted = r.interrupted;
  out.nll_sum = r.nll_sum;
  out.nll = std::move(r.nll);
  out.segment_ppl = std::move(r.segment_ppl);
  out.seconds = r.seconds;
  out.device_bytes = r.device_bytes;
  return out;
}

}  // namespace sinkstream
