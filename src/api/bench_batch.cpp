// `sinkstream bench batch`: many streams decoding at once through the
// scheduler, each with a full ring, as aggregate tokens/s and per-stream step
// latency; then the same while one more stream ingests a long prompt.
#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "api/model_impl.hpp"
#include "sched/scheduler.hpp"
#include "sinkstream/bench.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream {
namespace {

using Clock = std::chrono::steady_clock;

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

std::vector<int32_t> random_tokens(uint32_t n, uint32_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(n);
  for (int32_t& x : t) x = static_cast<int32_t>(rng() % vocab);
  return t;
}

// `count` streams, full rings, decoding (no stop token) until destroyed.
std::vector<sched::StreamId> start_decoders(sched::Scheduler& s, const sched::StreamSettings& st, uint32_t count,
                                            uint32_t vocab, bool sample) {
  std::vector<sched::StreamId> ids;
  for (uint32_t i = 0; i < count; ++i) {
    const sched::StreamId id = s.create(st);
    s.assume_appended(id, uint64_t{s.info(id).capacity} + 1);
    sched::Request r;
    r.prompt = random_tokens(1, vocab, i);
    r.max_tokens = ~0u;
    if (sample) r.sampler = model::SamplerConfig{0.8f, 40, 0.95f, 0.05f, 1.0f, 64, i};
    s.submit(id, std::move(r));
    ids.push_back(id);
  }
  // Until every stream decodes.
  const auto all_decoding = [&] {
    for (sched::StreamId id : ids)
      if (s.info(id).generated == 0) return false;
    return true;
  };
  while (!all_decoding()) s.step();
  return ids;
}

BatchBenchRow measure(sched::Scheduler& s, const sched::StreamSettings& st, uint32_t count, uint32_t steps,
                      uint32_t ingest_tokens, bool sample) {
  const uint32_t vocab = s.hparams().vocab;
  const auto ids = start_decoders(s, st, count, vocab, sample);
  for (int i = 0; i < 3; ++i) s.step();  // warm-up
  BatchBenchRow r;
  r.streams = count;
  sched::StreamId ingest = 0;
  const uint64_t prompt_before = s.counters().prompt_tokens;
  if (ingest_tokens) {
    r.ingesting = true;
    ingest = s.create(st);
    sched::Request req;
    req.prompt = random_tokens(ingest_tokens, vocab, 99);
    s.submit(ingest, std::move(req));
  }
  std::vector<double> ms;
  s.reset_op_profile();
  const uint64_t before = s.counters().generated_tokens;
  const auto t0 = Clock::now();
  for (uint32_t i = 0; i < steps; ++i) {
    s.step();
    ms.push_back(s.counters().last_step_ms);
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  r.aggregate_tps = static_cast<double>(s.counters().generated_tokens - before) / secs;
  r.median_ms = percentile(ms, 0.5);
  r.p99_ms = percentile(ms, 0.99);
  r.device_bytes = s.counters().device_bytes;
  r.ingested = s.counters().prompt_tokens - prompt_before;
  for (sched::StreamId id : ids) s.destroy(id);
  if (ingest) s.destroy(ingest);
  s.run();  // ends the cancelled requests and frees the streams
  const double n = static_cast<double>(std::max<uint64_t>(s.op_profile_steps(), 1));
  for (const auto& [op, op_ms] : s.op_profile()) r.ops_us.emplace_back(op, op_ms * 1e3 / n);
  return r;
}

}  // namespace

BatchBenchResult bench_batch(const Model& m, const BatchBenchOptions& o,
                             const std::function<void(const BatchBenchRow&)>& on_row) {
  if (o.counts.empty()) throw InvalidArgument("bench_batch needs at least one stream count");
  detail::ModelImpl& impl = *m.impl();
  sched::SchedulerConfig sc;
  sc.max_streams = *std::max_element(o.counts.begin(), o.counts.end()) + 1;
  sc.step_tokens = o.stream.chunk;
  sched::Scheduler s(impl.weights(), sc);
  const sched::StreamSettings st{o.stream.sinks, o.stream.window, o.stream.kv_type, 0};
  if (o.profile) s.enable_op_profile();
  BatchBenchResult r;
  for (bool with_ingest : {false, true}) {
    if (with_ingest && o.ingest_tokens == 0) break;
    for (uint32_t c : o.counts) {
      r.rows.push_back(measure(s, st, c, o.steps, with_ingest ? o.ingest_tokens : 0, o.sample));
      if (!o.profile) r.rows.back().ops_us.clear();
      if (on_row) on_row(r.rows.back());
    }
  }
  r.device = impl.gpu->device_name();
  r.sinks = st.sinks;
  r.window = model::make_cache_config(impl.file->hp, detail::engine_config(o.stream)).window;
  r.stream_bytes = s.stream_bytes(st);
  r.weight_bytes = s.counters().weight_bytes;
  r.activation_bytes = s.counters().activation_bytes;
  return r;
}

}  // namespace sinkstream
