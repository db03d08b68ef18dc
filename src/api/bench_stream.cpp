// `sinkstream bench stream`: constant cost, forever. Streams tokens through
// decode (each token the greedy choice of the last), records the per-token
// latency and device memory at log-spaced checkpoints, and times the paper's
// re-computation baseline for the same cache size.
#include <algorithm>
#include <chrono>
#include <vector>

#include "api/model_impl.hpp"
#include "sinkstream/bench.hpp"

namespace sinkstream {
namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double>& v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

std::vector<uint64_t> checkpoints(uint64_t n) {
  std::vector<uint64_t> out;
  for (uint64_t p = 100; p <= n; p *= 10)
    for (uint64_t m : {1, 2, 5})
      if (p * m <= n) out.push_back(p * m);
  if (out.empty() || out.back() != n) out.push_back(n);
  return out;
}

// Mean ms per prediction when every prediction re-encodes `budget` tokens from an empty cache.
double recompute_ms(model::Engine& e, uint32_t budget, uint32_t vocab, int reps) {
  std::vector<int32_t> ctx(budget);
  for (uint32_t i = 0; i < budget; ++i) ctx[i] = static_cast<int32_t>((i * 2654435761u) % vocab);
  e.reset();
  e.feed(ctx);  // warm-up
  const auto t = Clock::now();
  for (int r = 0; r < reps; ++r) {
    e.reset();
    e.feed(ctx);
  }
  return 1e3 * std::chrono::duration<double>(Clock::now() - t).count() / reps;
}

}  // namespace

StreamBenchResult bench_stream(const Model& m, const StreamBenchOptions& o,
                               const std::function<bool(uint64_t)>& progress) {
  detail::ModelImpl& impl = *m.impl();
  const model::EngineConfig ec = detail::engine_config(o.stream);
  model::Engine engine(impl.weights_for(ec), ec);
  const StreamConfig& cc = engine.cache_config();
  StreamBenchResult r;
  r.model = impl.file->path;
  r.device = impl.gpu->device_name();
  r.sinks = cc.sinks;
  r.window = cc.window;

  const auto marks = checkpoints(o.tokens);
  int32_t token = 1;
  size_t next_mark = 0;
  std::vector<double> recent, recent_gpu;  // ms of the tokens since the last checkpoint, at most window_tokens
  engine.enable_gpu_timing();
  for (uint64_t t = 1; t <= o.tokens; ++t) {
    const auto t0 = Clock::now();
    const auto logits = engine.feed({&token, 1});
    token = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    if (marks[next_mark] - t < o.window_tokens) {
      recent.push_back(1e3 * std::chrono::duration<double>(Clock::now() - t0).count());
      recent_gpu.push_back(engine.last_gpu_ms());
    }
    if (t == marks[next_mark]) {
      r.checkpoints.push_back({t, median(recent), median(recent_gpu), impl.gpu->allocated_bytes(),
                               Gpu::live_vulkan_objects()});
      recent.clear();
      recent_gpu.clear();
      ++next_mark;
    }
    if (progress && !progress(t)) break;
  }
  if (r.checkpoints.empty()) return r;
  r.recompute_ms = recompute_ms(engine, cc.sinks + cc.window, impl.file->hp.vocab, 4);
  return r;
}

}  // namespace sinkstream
