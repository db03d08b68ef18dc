// `sinkstream bench batch`: many streams decoding at once through the
// scheduler, each with a full ring, as aggregate tokens/s and per-stream step
// latency; then the same while one more stream ingests a long prompt.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "commands.hpp"
#include "json.hpp"
#include "model_args.hpp"
#include "sinkstream/bench.hpp"
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

void print(const BatchBenchResult& res, bool json) {
  const std::vector<BatchBenchRow>& rows = res.rows;
  const double single = rows.empty() ? 0 : rows.front().aggregate_tps;
  if (json) {
    std::string list = "[";
    for (size_t i = 0; i < rows.size(); ++i) {
      JsonWriter j;
      j.field("streams", rows[i].streams).field("ingesting", rows[i].ingesting);
      j.field("aggregate_tokens_per_s", rows[i].aggregate_tps).field("vs_first", rows[i].aggregate_tps / single);
      j.field("median_step_ms", rows[i].median_ms).field("p99_step_ms", rows[i].p99_ms);
      j.field("prompt_tokens_ingested", rows[i].ingested).field("device_bytes", rows[i].device_bytes);
      append_item(list, i == 0, j.str());
    }
    JsonWriter j;
    j.field("device", res.device).field("sinks", res.sinks).field("window", res.window);
    j.field("stream_bytes", res.stream_bytes).field("weight_bytes", res.weight_bytes);
    j.field("activation_bytes", res.activation_bytes).raw("rows", list + "]");
    std::printf("%s\n", j.str().c_str());
    return;
  }
  std::printf("device: %s   per stream %.1f MiB, weights %.1f MiB, activations %.1f MiB\n", res.device.c_str(),
              static_cast<double>(res.stream_bytes) / 1048576.0, static_cast<double>(res.weight_bytes) / 1048576.0,
              static_cast<double>(res.activation_bytes) / 1048576.0);
  std::printf("%8s %10s %14s %9s %12s %12s %10s\n", "streams", "ingesting", "aggregate t/s", "vs first",
              "median ms", "p99 ms", "ingested");
  for (const BatchBenchRow& r : rows)
    std::printf("%8u %10s %14.1f %8.2fx %12.3f %12.3f %10llu\n", r.streams, r.ingesting ? "yes" : "no",
                r.aggregate_tps, r.aggregate_tps / single, r.median_ms, r.p99_ms,
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
  BatchBenchOptions o;
  o.stream = stream_settings(a);
  const Model model = load_model(a, false);
  o.counts = counts;
  o.steps = steps;
  o.ingest_tokens = ingest;
  o.sample = a.has("sample");
  o.profile = a.has("profile");
  const bool json = a.has("json");
  const BatchBenchResult res = sinkstream::bench_batch(model, o, [&](const BatchBenchRow& row) {
    const char* with_ingest = row.ingesting ? " + ingest" : "";
    if (o.profile) {
      std::fprintf(stderr, "profile, %u streams%s (us per step):", row.streams, with_ingest);
      for (const auto& [op, us] : row.ops_us) std::fprintf(stderr, " %s %.0f,", op.c_str(), us);
      std::fprintf(stderr, "\n");
    }
    if (!json) std::fprintf(stderr, "  %u streams%s: %.1f tokens/s\n", row.streams, with_ingest, row.aggregate_tps);
  });
  print(res, json);
  return 0;
}

}  // namespace sinkstream::app
