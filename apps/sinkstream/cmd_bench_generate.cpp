// `sinkstream bench generate`: prefill and decode speed of a model, and decode
// latency at several stream positions to show that it stays flat.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_copy.hpp"
#include "commands.hpp"
#include "json.hpp"
#include "model_cli.hpp"
#include "progress.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::app {
namespace {

constexpr const char* kHelp =
    "usage: sinkstream bench generate --model PATH [options]\n"
    "Prefill (chunked, through the ring) and decode speed, and the decode latency after\n"
    "the stream has reached each position, with the fraction of the memory-bandwidth\n"
    "bound ((weights + KV bytes read per token) / copy bandwidth measured in the same run).\n"
    "  --prompt-tokens N   prefill length (512)\n"
    "  --decode-tokens N   decode steps per measurement (128)\n"
    "  --positions LIST    stream positions for the latency curve (1000,10000,100000)\n"
    "  --profile           also time every op of the decode steps at the last position on\n"
    "                      the GPU (timestamps between ops, summed over layers)\n"
    "  --json              one JSON object instead of the table\n";

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Point {
  uint64_t position;
  double ms_per_token;          // one step per submission (a host round trip per token)
  double ms_per_token_batched;  // Engine::decode_greedy: steps batched, argmax on the GPU
};

// Decodes n tokens greedily, one per step; returns seconds. Adds the GPU time
// of the steps to *gpu_ms when given (GPU timing must be on).
double decode(model::Engine& e, std::span<const float> logits, uint32_t n,
              double* gpu_ms = nullptr) {
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
  const auto first =
      static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  const auto t = Clock::now();
  e.decode_greedy(first, n);
  return since(t);
}

struct Profile {
  double host_ms = 0, gpu_ms = 0;                   // per decode step, without per-op stamps
  std::vector<std::pair<std::string, double>> ops;  // ms per step, with stamps
  std::vector<std::pair<std::string, double>> prefill_ops;  // ms per token of full chunks
};

// Decode steps at the current position: host vs GPU time per step, then the per-op split.
Profile profile_decode(model::Engine& e, std::span<const float> logits, uint32_t n) {
  Profile p;
  std::vector<float> keep(logits.begin(), logits.end());
  e.enable_gpu_timing();
  p.host_ms = 1e3 * decode(e, keep, n, &p.gpu_ms) / n;
  p.gpu_ms /= n;
  e.enable_op_profile();
  e.reset_op_profile();
  decode(e, keep, n);
  for (auto [op, ms] : e.op_profile())
    p.ops.emplace_back(op, ms / static_cast<double>(e.op_profile_chunks()));
  return p;
}

// Feeds n pseudo-random tokens in chunks (fast-forward to a stream position).
std::span<const float> advance(model::Engine& e, uint64_t n, uint32_t vocab, uint64_t seed,
                               Progress* progress) {
  std::vector<int32_t> chunk(e.cache_config().max_chunk);
  std::span<const float> last;
  for (uint64_t done = 0; done < n;) {
    const size_t m = static_cast<size_t>(std::min<uint64_t>(chunk.size(), n - done));
    for (size_t i = 0; i < m; ++i)
      chunk[i] = static_cast<int32_t>((seed + (done + i) * 2654435761ull) % vocab);
    last = e.feed(std::span(chunk).first(m));
    done += m;
    if (progress) progress->update(e.counters().tokens);
  }
  return last;
}

// Per-op GPU time of full prefill chunks, per token (call after profile_decode).
std::vector<std::pair<std::string, double>> profile_prefill(model::Engine& e, uint32_t vocab) {
  e.reset_op_profile();
  const uint32_t chunk = e.cache_config().max_chunk;
  advance(e, 2ull * chunk, vocab, 3, nullptr);
  std::vector<std::pair<std::string, double>> ops;
  for (auto [op, ms] : e.op_profile())
    ops.emplace_back(op, ms / static_cast<double>(e.op_profile_chunks() * chunk));
  return ops;
}

// Everything one run measured, for the table or the JSON object.
struct Result {
  std::string model, device;
  StreamConfig cache;
  uint64_t weights, prompt;
  double prefill_tps, decode_tps, decode_batched_tps;
  std::vector<Point> curve;
  Profile prof;
  double copy_gbs;
  uint64_t kv_token_bytes;
  model::EngineCounters counters;
  bool profiled;
  bool coop;            // chunks on cooperative matrices
  bool batched_on_gpu;  // decode_greedy batched its steps

  // (weights + K/V bytes read per token) / copy bandwidth / time per token.
  double bound_fraction(double ms, uint64_t slots) const {
    const double bytes = static_cast<double>(weights + kv_token_bytes * slots);
    return bytes / (copy_gbs * 1e9) / (ms * 1e-3);
  }
};

void print_json(const Result& r) {
  const auto& cc = r.cache;
  JsonWriter j;
  j.field("model", r.model)
      .field("device", r.device)
      .field("sinks", cc.sinks)
      .field("window", cc.window);
  j.field("kv_type", kv_type_name(cc.kv_type)).field("weight_bytes", r.weights);
  j.field("chunk", cc.max_chunk).field("coop_prefill", r.coop);
  j.field("prefill_tokens", r.prompt).field("prefill_tokens_per_s", r.prefill_tps);
  j.field("decode_tokens_per_s", r.decode_tps).field("copy_gbs", r.copy_gbs);
  j.field("decode_batched_tokens_per_s", r.decode_batched_tps)
      .field("batched_on_gpu", r.batched_on_gpu);
  j.field("decode_bound_fraction_at_end",
          r.bound_fraction(r.curve.back().ms_per_token, r.counters.slots_used));
  j.field("decode_batched_bound_fraction_at_end",
          r.bound_fraction(r.curve.back().ms_per_token_batched, r.counters.slots_used));
  std::string pts = "[";
  for (size_t i = 0; i < r.curve.size(); ++i) {
    JsonWriter p;
    p.field("position", r.curve[i].position).field("ms_per_token", r.curve[i].ms_per_token);
    p.field("ms_per_token_batched", r.curve[i].ms_per_token_batched);
    append_item(pts, i == 0, p.str());
  }
  j.raw("latency", pts + "]")
      .field("device_bytes", r.counters.device_bytes)
      .field("evicted", r.counters.evicted);
  if (r.profiled) {
    JsonWriter ops;
    for (const auto& [op, ms] : r.prof.ops) ops.field(op, 1e3 * ms);
    JsonWriter pre;
    for (const auto& [op, ms] : r.prof.prefill_ops) pre.field(op, 1e3 * ms);
    j.field("profile_host_ms_per_token", r.prof.host_ms)
        .field("profile_gpu_ms_per_token", r.prof.gpu_ms);
    j.raw("profile_us_per_token", ops.str()).raw("profile_prefill_us_per_token", pre.str());
  }
  std::printf("%s\n", j.str().c_str());
}

void print_table(const Result& r) {
  const auto& cc = r.cache;
  std::printf("%s on %s: %u sinks + %u window, %s KV, weights %.1f MiB\n", r.model.c_str(),
              r.device.c_str(), cc.sinks, cc.window, kv_type_name(cc.kv_type),
              static_cast<double>(r.weights) / (1 << 20));
  std::printf("prefill  %.1f tokens/s (%llu tokens, chunks of %u, %s)\n", r.prefill_tps,
              static_cast<unsigned long long>(r.prompt), cc.max_chunk,
              r.coop ? "cooperative matrices" : "portable kernels");
  if (r.batched_on_gpu)
    std::printf("decode   %.1f tokens/s after the prompt, one step per submission; %.1f batched (argmax on the GPU)\n",
                r.decode_tps, r.decode_batched_tps);
  else  // decode_greedy fell back to one step per submission: the second figure is the same loop again
    std::printf("decode   %.1f tokens/s after the prompt, one step per submission (batched decoding is off here)\n",
                r.decode_tps);
  std::printf("%12s %14s %18s %16s %18s\n", "position", "ms/token", "of bandwidth bound",
              "batched ms/token", "of bandwidth bound");
  for (const auto& p : r.curve) {
    const uint64_t slots = std::min<uint64_t>(p.position, cc.sinks + cc.window);
    std::printf("%12llu %14.3f %17.1f%% %16.3f %17.1f%%\n",
                static_cast<unsigned long long>(p.position), p.ms_per_token,
                100.0 * r.bound_fraction(p.ms_per_token, slots), p.ms_per_token_batched,
                100.0 * r.bound_fraction(p.ms_per_token_batched, slots));
  }
  std::printf("memory   %.1f MiB on the device, %llu tokens evicted; copy bandwidth %.0f GB/s\n",
              static_cast<double>(r.counters.device_bytes) / (1 << 20),
              static_cast<unsigned long long>(r.counters.evicted), r.copy_gbs);
  if (!r.profiled) return;
  std::printf("profile  decode at position %llu: %.3f ms/token on the host, %.3f ms on the GPU\n",
              static_cast<unsigned long long>(r.counters.tokens), r.prof.host_ms, r.prof.gpu_ms);
  double total = 0;
  for (const auto& op : r.prof.ops) total += op.second;
  for (const auto& [op, ms] : r.prof.ops)
    std::printf("  %-22s %9.1f us/token %6.1f%%\n", op.c_str(), 1e3 * ms, 100 * ms / total);
  std::printf("profile  prefill, chunks of %u:\n", cc.max_chunk);
  total = 0;
  for (const auto& op : r.prof.prefill_ops) total += op.second;
  for (const auto& [op, ms] : r.prof.prefill_ops)
    std::printf("  %-22s %9.2f us/token %6.1f%%\n", op.c_str(), 1e3 * ms, 100 * ms / total);
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
std::vector<Point> latency_curve(model::Engine& engine, const std::vector<uint64_t>& positions,
                                 uint32_t vocab, uint32_t steps, std::span<const float> logits) {
  std::vector<Point> curve;
  std::vector<float> keep;
  Progress progress("streaming", positions.back());
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
  progress.finish();
  return curve;
}

}  // namespace

int bench_generate(const std::vector<std::string>& argv) {
  auto options = model_options();
  options.insert({"prompt-tokens", "decode-tokens", "positions"});
  const cli::Args a(argv, {"help", "json", "profile"}, options);
  if (a.has("help")) {
    std::printf("%s%s", kHelp, kModelOptionsHelp);
    return 0;
  }
  if (!a.has("model")) throw InvalidArgument("--model PATH is required");
  const auto file = model::load_model(a.str("model", ""));
  const uint64_t prompt = a.u64("prompt-tokens", 512, 1, 1 << 24);
  const uint32_t steps = static_cast<uint32_t>(a.u64("decode-tokens", 128, 1, 1 << 20));
  auto positions = a.u64_list("positions", {1000, 10000, 100000});
  std::sort(positions.begin(), positions.end());
  Gpu gpu(gpu_options(a));
  const uint32_t vocab = file->hp.vocab;

  model::Engine engine(gpu, *file, engine_config(a));
  const auto& cc = engine.cache_config();
  warm_up(engine, vocab);
  // Before --profile turns on GPU timing, which makes decode_greedy step one at a time.
  const bool batched_on_gpu = engine.greedy_on_gpu();
  auto t = Clock::now();
  auto logits = advance(engine, prompt, vocab, 1, nullptr);
  const double prefill_tps = static_cast<double>(prompt) / since(t);
  std::vector<float> keep(logits.begin(), logits.end());
  const double decode_tps = steps / decode(engine, keep, steps);
  keep.assign(engine.last_logits().begin(), engine.last_logits().end());
  const double decode_batched_tps = steps / decode_batched(engine, keep, steps);

  std::vector<Point> curve = latency_curve(engine, positions, vocab, steps, logits);
  Profile prof;
  if (a.has("profile")) {
    keep.assign(engine.last_logits().begin(), engine.last_logits().end());
    prof = profile_decode(engine, keep, steps);
    prof.prefill_ops = profile_prefill(engine, vocab);
  }

  Result r{file->path,
           gpu.device_name(),
           cc,
           file->weight_bytes(),
           prompt,
           prefill_tps,
           decode_tps,
           decode_batched_tps,
           std::move(curve),
           std::move(prof),
           copy_gbs(gpu.context(), 256ull << 20, 5),
           2ull * file->hp.layers * file->hp.kv_heads * kv_row_bytes(cc.kv_type, file->hp.head_dim),
           engine.counters(),
           a.has("profile"),
           engine.coop_prefill(),
           batched_on_gpu};
  if (a.has("json"))
    print_json(r);
  else
    print_table(r);
  return 0;
}

}  // namespace sinkstream::app
