// `sinkstream bench generate`: prefill and decode speed of a model, and decode
// latency at several stream positions to show that it stays flat.
#include <algorithm>
#include <chrono>
#include <vector>

#include "api/model_impl.hpp"
#include "sinkstream/bench.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

using Progress = std::function<void(uint64_t done)>;

// Decodes n tokens greedily, one per step; returns seconds. Adds the GPU time
// of the steps to *gpu_ms when given (GPU timing must be on).
double decode(model::Engine& e, std::span<const float> logits, uint32_t n, double* gpu_ms = nullptr) {
  std::vector<float> l(logits.begin(), logits.end());
  const auto t = Clock::now();
  for (uint32_t i = 0; i < n; ++i) {
    const int32_t next = static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
    const auto out = e.feed({&next, 1});
    if (gpu_ms) *gpu_ms += e.last_gpu_ms();
    l.assign(out.begin(), out.end());
  }
  return since(t);
}

// Greedy decoding of n tokens through Engine::decode_greedy; returns seconds.
double decode_batched(model::Engine& e, std::span<const float> logits, uint32_t n) {
  const auto first = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  const auto t = Clock::now();
  e.decode_greedy(first, n);
  return since(t);
}

// Decode steps at the current position: host vs GPU time per step, then the per-op split.
void profile_decode(model::Engine& e, std::span<const float> logits, uint32_t n, GenerateBenchResult& r) {
  std::vector<float> keep(logits.begin(), logits.end());
  e.enable_gpu_timing();
  r.profile_host_ms = 1e3 * decode(e, keep, n, &r.profile_gpu_ms) / n;
  r.profile_gpu_ms /= n;
  e.enable_op_profile();
  e.reset_op_profile();
  decode(e, keep, n);
  for (auto [op, ms] : e.op_profile()) r.decode_ops.emplace_back(op, ms / static_cast<double>(e.op_profile_chunks()));
}

// Feeds n pseudo-random tokens in chunks (fast-forward to a stream position).
std::span<const float> advance(model::Engine& e, uint64_t n, uint32_t vocab, uint64_t seed,
                               const Progress* progress) {
  std::vector<int32_t> chunk(e.cache_config().max_chunk);
  std::span<const float> last;
  for (uint64_t done = 0; done < n;) {
    const size_t m = static_cast<size_t>(std::min<uint64_t>(chunk.size(), n - done));
    for (size_t i = 0; i < m; ++i) chunk[i] = static_cast<int32_t>((seed + (done + i) * 2654435761ull) % vocab);
    last = e.feed(std::span(chunk).first(m));
    done += m;
    if (progress) (*progress)(e.counters().tokens);
  }
  return last;
}

// Per-op GPU time of full prefill chunks, per token (call after profile_decode).
OpTimes profile_prefill(model::Engine& e, uint32_t vocab) {
  e.reset_op_profile();
  const uint32_t chunk = e.cache_config().max_chunk;
  advance(e, 2ull * chunk, vocab, 3, nullptr);
  OpTimes ops;
  for (auto [op, ms] : e.op_profile())
    ops.emplace_back(op, ms / static_cast<double>(e.op_profile_chunks() * chunk));
  return ops;
}

// Warm-up, then a fresh stream: pipelines compile, caches fill, and the GPU
// has been busy for a quarter of a second, so a short timed run (128 steps of
// a 1B model take 0.2 s) does not pay for its clocks ramping up after the upload.
void warm_up(model::Engine& engine, uint32_t vocab) {
  std::vector<float> warm_logits;
  const auto l = advance(engine, engine.cache_config().max_chunk, vocab, 7, nullptr);
  warm_logits.assign(l.begin(), l.end());
  for (const auto t0 = Clock::now(); since(t0) < 0.25;) {
    decode(engine, warm_logits, 8);
    decode_batched(engine, engine.last_logits(), 8);
    warm_logits.assign(engine.last_logits().begin(), engine.last_logits().end());
  }
  engine.reset();
}

// Advances the stream to each position (sorted, not empty) and times `steps`
// decode steps there, both ways; `logits` picks the first token.
std::vector<LatencyPoint> latency_curve(model::Engine& engine, const std::vector<uint64_t>& positions, uint32_t vocab,
                                        uint32_t steps, std::span<const float> logits, const Progress& progress) {
  std::vector<LatencyPoint> curve;
  std::vector<float> keep;
  for (uint64_t p : positions) {
    const uint64_t at = engine.counters().tokens;
    if (p > at) logits = advance(engine, p - at, vocab, p, &progress);
    keep.assign(logits.begin(), logits.end());
    const uint64_t at_position = engine.counters().tokens;
    const double ms = 1e3 * decode(engine, keep, steps) / steps;
    keep.assign(engine.last_logits().begin(), engine.last_logits().end());
    curve.push_back({at_position, ms, 1e3 * decode_batched(engine, keep, steps) / steps});
    logits = engine.last_logits();
  }
  return curve;
}

}  // namespace

GenerateBenchResult bench_generate(const Model& m, const GenerateBenchOptions& o,
                                   const std::function<void(uint64_t, uint64_t)>& progress) {
  detail::ModelImpl& impl = *m.impl();
  const model::ModelFile& file = *impl.file;
  const uint32_t vocab = file.hp.vocab, steps = o.decode_tokens;
  std::vector<uint64_t> positions = o.positions;
  std::sort(positions.begin(), positions.end());
  if (positions.empty()) throw InvalidArgument("bench_generate needs at least one position");
  const model::EngineConfig ec = detail::engine_config(o.stream);
  model::Engine engine(impl.weights_for(ec), ec);
  GenerateBenchResult r;
  r.model = file.path;
  r.device = impl.gpu->device_name();
  r.cache = engine.cache_config();
  r.weight_bytes = file.weight_bytes();
  r.active_weight_bytes = file.active_weight_bytes();
  r.prompt_tokens = o.prompt_tokens;
  warm_up(engine, vocab);
  // Before profiling turns on GPU timing, which makes decode_greedy step one at a time.
  r.batched_on_gpu = engine.greedy_on_gpu();
  const auto t = Clock::now();
  auto logits = advance(engine, o.prompt_tokens, vocab, 1, nullptr);
  r.prefill_tps = static_cast<double>(o.prompt_tokens) / since(t);
  std::vector<float> keep(logits.begin(), logits.end());
  r.decode_tps = steps / decode(engine, keep, steps);
  keep.assign(engine.last_logits().begin(), engine.last_logits().end());
  r.decode_batched_tps = steps / decode_batched(engine, keep, steps);

  const Progress curve_progress = [&](uint64_t done) {
    if (progress) progress(done, positions.back());
  };
  r.curve = latency_curve(engine, positions, vocab, steps, logits, curve_progress);
  r.profiled = o.profile;
  if (o.profile) {
    keep.assign(engine.last_logits().begin(), engine.last_logits().end());
    profile_decode(engine, keep, steps, r);
    r.prefill_ops = profile_prefill(engine, vocab);
  }
  r.copy_gbs = copy_bandwidth_gbs(*impl.gpu, 256ull << 20, 5);
  r.kv_token_bytes = 2ull * file.hp.layers * file.hp.kv_heads * kv_row_bytes(r.cache.kv_type, file.hp.head_dim);
  const model::EngineCounters c = engine.counters();
  r.stats = {c.tokens, c.evicted, c.slots_used, c.capacity, r.cache.sinks, r.cache.window, c.device_bytes};
  r.coop_prefill = engine.coop_prefill();
  return r;
}

}  // namespace sinkstream
