// `sinkstream bench generate`: prefill and decode speed of a model, and decode
// latency at several stream positions to show that it stays flat.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "json.hpp"
#include "model_args.hpp"
#include "progress.hpp"
#include "sinkstream/bench.hpp"
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

// (weights + K/V bytes read per token) / copy bandwidth / time per token; with
// experts, the weights a token reads (its experts', not all of them).
double bound_fraction(const GenerateBenchResult& r, double ms, uint64_t slots) {
  const double bytes = static_cast<double>(r.active_weight_bytes + r.kv_token_bytes * slots);
  return bytes / (r.copy_gbs * 1e9) / (ms * 1e-3);
}

void print_json(const GenerateBenchResult& r) {
  const auto& cc = r.cache;
  JsonWriter j;
  j.field("model", r.model)
      .field("device", r.device)
      .field("sinks", cc.sinks)
      .field("window", cc.window);
  j.field("kv_type", kv_type_name(cc.kv_type)).field("weight_bytes", r.weight_bytes);
  j.field("active_weight_bytes", r.active_weight_bytes);
  j.field("chunk", cc.max_chunk).field("coop_prefill", r.coop_prefill);
  j.field("prefill_tokens", r.prompt_tokens).field("prefill_tokens_per_s", r.prefill_tps);
  j.field("decode_tokens_per_s", r.decode_tps).field("copy_gbs", r.copy_gbs);
  j.field("decode_batched_tokens_per_s", r.decode_batched_tps)
      .field("batched_on_gpu", r.batched_on_gpu);
  j.field("decode_bound_fraction_at_end",
          bound_fraction(r, r.curve.back().ms_per_token, r.stats.slots_used));
  j.field("decode_batched_bound_fraction_at_end",
          bound_fraction(r, r.curve.back().ms_per_token_batched, r.stats.slots_used));
  std::string pts = "[";
  for (size_t i = 0; i < r.curve.size(); ++i) {
    JsonWriter p;
    p.field("position", r.curve[i].position).field("ms_per_token", r.curve[i].ms_per_token);
    p.field("ms_per_token_batched", r.curve[i].ms_per_token_batched);
    append_item(pts, i == 0, p.str());
  }
  j.raw("latency", pts + "]")
      .field("device_bytes", r.stats.device_bytes)
      .field("evicted", r.stats.evicted);
  if (r.profiled) {
    JsonWriter ops;
    for (const auto& [op, ms] : r.decode_ops) ops.field(op, 1e3 * ms);
    JsonWriter pre;
    for (const auto& [op, ms] : r.prefill_ops) pre.field(op, 1e3 * ms);
    j.field("profile_host_ms_per_token", r.profile_host_ms)
        .field("profile_gpu_ms_per_token", r.profile_gpu_ms);
    j.raw("profile_us_per_token", ops.str()).raw("profile_prefill_us_per_token", pre.str());
  }
  std::printf("%s\n", j.str().c_str());
}

void print_table(const GenerateBenchResult& r) {
  const auto& cc = r.cache;
  std::printf("%s on %s: %u sinks + %u window, %s KV, weights %.1f MiB\n", r.model.c_str(),
              r.device.c_str(), cc.sinks, cc.window, kv_type_name(cc.kv_type),
              static_cast<double>(r.weight_bytes) / (1 << 20));
  std::printf("prefill  %.1f tokens/s (%llu tokens, chunks of %u, %s)\n", r.prefill_tps,
              static_cast<unsigned long long>(r.prompt_tokens), cc.max_chunk,
              r.coop_prefill ? "cooperative matrices" : "portable kernels");
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
                100.0 * bound_fraction(r, p.ms_per_token, slots), p.ms_per_token_batched,
                100.0 * bound_fraction(r, p.ms_per_token_batched, slots));
  }
  std::printf("memory   %.1f MiB on the device, %llu tokens evicted; copy bandwidth %.0f GB/s\n",
              static_cast<double>(r.stats.device_bytes) / (1 << 20),
              static_cast<unsigned long long>(r.stats.evicted), r.copy_gbs);
  if (!r.profiled) return;
  std::printf("profile  decode at position %llu: %.3f ms/token on the host, %.3f ms on the GPU\n",
              static_cast<unsigned long long>(r.stats.tokens), r.profile_host_ms, r.profile_gpu_ms);
  double total = 0;
  for (const auto& op : r.decode_ops) total += op.second;
  for (const auto& [op, ms] : r.decode_ops)
    std::printf("  %-22s %9.1f us/token %6.1f%%\n", op.c_str(), 1e3 * ms, 100 * ms / total);
  std::printf("profile  prefill, chunks of %u:\n", cc.max_chunk);
  total = 0;
  for (const auto& op : r.prefill_ops) total += op.second;
  for (const auto& [op, ms] : r.prefill_ops)
    std::printf("  %-22s %9.2f us/token %6.1f%%\n", op.c_str(), 1e3 * ms, 100 * ms / total);
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
  const Model model = load_model(a, false);
  GenerateBenchOptions o;
  o.prompt_tokens = a.u64("prompt-tokens", 512, 1, 1 << 24);
  o.decode_tokens = static_cast<uint32_t>(a.u64("decode-tokens", 128, 1, 1 << 20));
  o.positions = a.u64_list("positions", {1000, 10000, 100000});
  o.stream = stream_settings(a);
  o.profile = a.has("profile");
  std::unique_ptr<Progress> progress;  // from the first position on
  const GenerateBenchResult r = sinkstream::bench_generate(model, o, [&](uint64_t done, uint64_t total) {
    if (!progress) progress = std::make_unique<Progress>("streaming", total);
    progress->update(done);
  });
  if (progress) progress->finish();
  if (a.has("json"))
    print_json(r);
  else
    print_table(r);
  return 0;
}

}  // namespace sinkstream::app
