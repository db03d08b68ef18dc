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
    "                      the GPU (timestamps between ops, summed over layers)\n";

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Point {
  uint64_t position;
  double ms_per_token;
};

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

struct Profile {
  double host_ms = 0, gpu_ms = 0;                  // per decode step, without per-op stamps
  std::vector<std::pair<std::string, double>> ops;  // ms per step, with stamps
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
  for (auto [op, ms] : e.op_profile()) p.ops.emplace_back(op, ms / static_cast<double>(e.op_profile_chunks()));
  return p;
}

// Feeds n pseudo-random tokens in chunks (fast-forward to a stream position).
std::span<const float> advance(model::Engine& e, uint64_t n, uint32_t vocab, uint64_t seed, Progress* progress) {
  std::vector<int32_t> chunk(e.cache_config().max_chunk);
  std::span<const float> last;
  for (uint64_t done = 0; done < n;) {
    const size_t m = static_cast<size_t>(std::min<uint64_t>(chunk.size(), n - done));
    for (size_t i = 0; i < m; ++i) chunk[i] = static_cast<int32_t>((seed + (done + i) * 2654435761ull) % vocab);
    last = e.feed(std::span(chunk).first(m));
    done += m;
    if (progress) progress->update(e.counters().tokens);
  }
  return last;
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

  // Warm-up on a throw-away stream: pipelines compile, caches fill.
  {
    model::Engine warm(gpu, *file, engine_config(a));
    decode(warm, advance(warm, warm.cache_config().max_chunk, vocab, 7, nullptr), 4);
  }
  model::Engine engine(gpu, *file, engine_config(a));
  const auto& cc = engine.cache_config();
  auto t = Clock::now();
  auto logits = advance(engine, prompt, vocab, 1, nullptr);
  const double prefill_tps = static_cast<double>(prompt) / since(t);
  std::vector<float> keep(logits.begin(), logits.end());
  const double decode_tps = steps / decode(engine, keep, steps);

  std::vector<Point> curve;
  Progress progress("streaming", positions.back());
  for (uint64_t p : positions) {
    const uint64_t at = engine.counters().tokens;
    if (p > at) logits = advance(engine, p - at, vocab, p, &progress);
    keep.assign(logits.begin(), logits.end());
    curve.push_back({engine.counters().tokens, 1e3 * decode(engine, keep, steps) / steps});
  }
  progress.finish();
  Profile prof;
  if (a.has("profile")) {
    keep.assign(logits.begin(), logits.end());
    prof = profile_decode(engine, keep, steps);
  }

  const uint64_t kv_token_bytes = 2ull * file->hp.layers * file->hp.kv_heads * file->hp.head_dim *
                                  (cc.kv_type == KvType::f16 ? 2 : 4);
  const uint64_t weights = file->weight_bytes();
  const double copy = copy_gbs(gpu.context(), 256ull << 20, 5);
  const auto bound_fraction = [&](double ms, uint64_t slots) {
    const double bytes = static_cast<double>(weights + kv_token_bytes * slots);
    return bytes / (copy * 1e9) / (ms * 1e-3);
  };
  const auto c = engine.counters();
  if (a.has("json")) {
    JsonWriter j;
    j.field("model", file->path).field("device", gpu.device_name()).field("sinks", cc.sinks).field("window", cc.window);
    j.field("kv_type", cc.kv_type == KvType::f16 ? "f16" : "f32").field("weight_bytes", weights);
    j.field("prefill_tokens", prompt).field("prefill_tokens_per_s", prefill_tps);
    j.field("decode_tokens_per_s", decode_tps).field("copy_gbs", copy);
    j.field("decode_bound_fraction_at_end", bound_fraction(curve.back().ms_per_token, c.slots_used));
    std::string pts = "[";
    for (size_t i = 0; i < curve.size(); ++i) {
      JsonWriter p;
      p.field("position", curve[i].position).field("ms_per_token", curve[i].ms_per_token);
      pts += (i ? "," : "") + p.str();
    }
    j.raw("latency", pts + "]").field("device_bytes", c.device_bytes).field("evicted", c.evicted);
    if (a.has("profile")) {
      JsonWriter ops;
      for (const auto& [op, ms] : prof.ops) ops.field(op, 1e3 * ms);
      j.field("profile_host_ms_per_token", prof.host_ms).field("profile_gpu_ms_per_token", prof.gpu_ms);
      j.raw("profile_us_per_token", ops.str());
    }
    std::printf("%s\n", j.str().c_str());
    return 0;
  }
  std::printf("%s on %s: %u sinks + %u window, %s KV, weights %.1f MiB\n", file->path.c_str(),
              gpu.device_name().c_str(), cc.sinks, cc.window, cc.kv_type == KvType::f16 ? "f16" : "f32",
              static_cast<double>(weights) / (1 << 20));
  std::printf("prefill  %.1f tokens/s (%llu tokens, chunks of %u)\n", prefill_tps,
              static_cast<unsigned long long>(prompt), cc.max_chunk);
  std::printf("decode   %.1f tokens/s after the prompt\n", decode_tps);
  std::printf("%12s %14s %18s\n", "position", "ms/token", "of bandwidth bound");
  for (const auto& p : curve)
    std::printf("%12llu %14.3f %17.1f%%\n", static_cast<unsigned long long>(p.position), p.ms_per_token,
                100.0 * bound_fraction(p.ms_per_token, std::min<uint64_t>(p.position, cc.sinks + cc.window)));
  std::printf("memory   %.1f MiB on the device, %llu tokens evicted; copy bandwidth %.0f GB/s\n",
              static_cast<double>(c.device_bytes) / (1 << 20), static_cast<unsigned long long>(c.evicted), copy);
  if (a.has("profile")) {
    std::printf("profile  decode at position %llu: %.3f ms/token on the host, %.3f ms on the GPU\n",
                static_cast<unsigned long long>(c.tokens), prof.host_ms, prof.gpu_ms);
    double total = 0;
    for (const auto& op : prof.ops) total += op.second;
    for (const auto& [op, ms] : prof.ops)
      std::printf("  %-22s %9.1f us/token %6.1f%%\n", op.c_str(), 1e3 * ms, 100 * ms / total);
  }
  return 0;
}

}  // namespace sinkstream::app
