// `sinkstream bench batch`: many streams decoding at once through the
// scheduler, each with a full ring, as aggregate tokens/s and per-stream step
// latency; then the same while one more stream ingests a long prompt.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "commands.hpp"
#include "json.hpp"
#include "model_cli.hpp"
#include "sched/scheduler.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::app {
namespace {

constexpr const char* kHelp =
    "usage: sinkstream bench batch --model PATH [options]\n"
    "Aggregate decode speed of many streams on one copy of the weights, each stream's\n"
    "ring full (sinks + window slots used and wrapping), and each stream's step latency\n"
    "(every generating stream gets one token per step). Each count is measured alone,\n"
    "then while one more stream ingests a long prompt in chunks beside them.\n"
    "  --streams LIST      stream counts (1,2,4,8,16,32,64)\n"
    "  --steps N           timed steps per measurement (32)\n"
    "  --ingest-tokens N   the prompt ingested meanwhile (4096; 0 = skip that part)\n"
    "  --profile           GPU time per op of the timed steps, per count (stderr)\n"
    "  --sample            streams sample (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05)\n"
    "                      instead of picking greedily\n"
    "  --json              one JSON object\n";

using Clock = std::chrono::steady_clock;

struct Row {
  uint32_t streams = 0;
  bool ingesting = false;
  double aggregate = 0;  // decode tokens/s over all streams
  double median_ms = 0, p99_ms = 0;  // per step = per token of each stream
  uint64_t device_bytes = 0;
  uint64_t ingested = 0;  // prompt tokens ingested during the timed steps
};

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
std::vector<sched::StreamId> start_decoders(sched::Scheduler& s, const sched::StreamSettings& st,
                                            uint32_t count, uint32_t vocab, bool sample) {
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

Row measure(sched::Scheduler& s, const sched::StreamSettings& st, uint32_t count, uint32_t steps,
            uint32_t ingest_tokens, bool sample) {
  const uint32_t vocab = s.hparams().vocab;
  const auto ids = start_decoders(s, st, count, vocab, sample);
  for (int i = 0; i < 3; ++i) s.step();  // warm-up
  Row r;
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
  r.aggregate = static_cast<double>(s.counters().generated_tokens - before) / secs;
  r.median_ms = percentile(ms, 0.5);
  r.p99_ms = percentile(ms, 0.99);
  r.device_bytes = s.counters().device_bytes;
  r.ingested = s.counters().prompt_tokens - prompt_before;
  for (sched::StreamId id : ids) s.destroy(id);
  if (ingest) s.destroy(ingest);
  s.run();  // ends the cancelled requests and frees the streams
  return r;
}

std::vector<uint32_t> parse_counts(const std::string& list) {
  std::vector<uint32_t> out;
  size_t at = 0;
  while (at <= list.size()) {
    const size_t end = std::min(list.find(',', at), list.size());
    const std::string item = list.substr(at, end - at);
    if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos || item.size() > 5 ||
        std::stoul(item) == 0)
      throw InvalidArgument("--streams takes a comma-separated list of positive counts, not '" + list + "'");
    out.push_back(static_cast<uint32_t>(std::stoul(item)));
    at = end + 1;
  }
  return out;
}

void print(const std::vector<Row>& rows, const std::string& device, const sched::StreamSettings& st,
           uint32_t window, const sched::Scheduler& s, bool json) {
  const double single = rows.empty() ? 0 : rows.front().aggregate;
  if (json) {
    std::string list = "[";
    for (size_t i = 0; i < rows.size(); ++i) {
      JsonWriter j;
      j.field("streams", rows[i].streams).field("ingesting", rows[i].ingesting);
      j.field("aggregate_tokens_per_s", rows[i].aggregate).field("vs_first", rows[i].aggregate / single);
      j.field("median_step_ms", rows[i].median_ms).field("p99_step_ms", rows[i].p99_ms);
      j.field("prompt_tokens_ingested", rows[i].ingested).field("device_bytes", rows[i].device_bytes);
      append_item(list, i == 0, j.str());
    }
    JsonWriter j;
    j.field("device", device).field("sinks", st.sinks).field("window", window);
    j.field("stream_bytes", s.stream_bytes(st)).field("weight_bytes", s.counters().weight_bytes);
    j.field("activation_bytes", s.counters().activation_bytes).raw("rows", list + "]");
    std::printf("%s\n", j.str().c_str());
    return;
  }
  std::printf("device: %s   per stream %.1f MiB, weights %.1f MiB, activations %.1f MiB\n", device.c_str(),
              static_cast<double>(s.stream_bytes(st)) / 1048576.0,
              static_cast<double>(s.counters().weight_bytes) / 1048576.0,
              static_cast<double>(s.counters().activation_bytes) / 1048576.0);
  std::printf("%8s %10s %14s %9s %12s %12s %10s\n", "streams", "ingesting", "aggregate t/s", "vs first",
              "median ms", "p99 ms", "ingested");
  for (const Row& r : rows)
    std::printf("%8u %10s %14.1f %8.2fx %12.3f %12.3f %10llu\n", r.streams, r.ingesting ? "yes" : "no",
                r.aggregate, r.aggregate / single, r.median_ms, r.p99_ms,
                static_cast<unsigned long long>(r.ingested));
}

}  // namespace

int bench_batch(const std::vector<std::string>& argv) {
  auto options = model_options();
  options.insert({"streams", "steps", "ingest-tokens"});
  const cli::Args a(argv, {"help", "json", "profile", "sample"}, options);
  if (a.has("help")) {
    std::printf("%s%s", kHelp, kModelOptionsHelp);
    return 0;
  }
  const auto counts = parse_counts(a.str("streams", "1,2,4,8,16,32,64"));
  const auto steps = static_cast<uint32_t>(a.u64("steps", 32, 1, 100000));
  const auto ingest = static_cast<uint32_t>(a.u64("ingest-tokens", 4096, 0, 1u << 24));
  const model::EngineConfig ec = engine_config(a);
  const auto file = model::load_model(a.str("model", ""));
  Gpu gpu(gpu_options(a));
  auto weights = std::make_shared<const model::GpuModel>(gpu.context(), *file);
  sched::SchedulerConfig sc;
  sc.max_streams = *std::max_element(counts.begin(), counts.end()) + 1;
  sc.step_tokens = ec.max_chunk;
  sched::Scheduler s(weights, sc);
  const sched::StreamSettings st{ec.sinks, ec.window, ec.kv_type, 0};
  if (a.has("profile")) s.enable_op_profile();
  std::vector<Row> rows;
  for (bool with_ingest : {false, true}) {
    if (with_ingest && ingest == 0) break;
    for (uint32_t c : counts) {
      rows.push_back(measure(s, st, c, steps, with_ingest ? ingest : 0, a.has("sample")));
      if (a.has("profile")) {
        std::fprintf(stderr, "profile, %u streams%s (us per step):", c, with_ingest ? " + ingest" : "");
        const double n = static_cast<double>(std::max<uint64_t>(s.op_profile_steps(), 1));
        for (const auto& [op, ms] : s.op_profile()) std::fprintf(stderr, " %s %.0f,", op.c_str(), ms * 1e3 / n);
        std::fprintf(stderr, "\n");
      }
      if (!a.has("json"))
        std::fprintf(stderr, "  %u streams%s: %.1f tokens/s\n", c, with_ingest ? " + ingest" : "", rows.back().aggregate);
    }
  }
  print(rows, gpu.device_name(), st, model::make_cache_config(file->hp, ec).window, s, a.has("json"));
  return 0;
}

}  // namespace sinkstream::app
