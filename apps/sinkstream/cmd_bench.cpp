// `sinkstream bench attention`: GPU-timestamped decode attention and KV append
// over a full sinks + window cache, against a plain copy kernel moving the same
// bytes in the same run.
#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"
#include "commands.hpp"
#include "progress.hpp"
#include "sinkstream/bench.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::app {
namespace {

constexpr const char* kHelp =
    "usage: sinkstream bench attention [options]\n"
    "Times one decode step's KV append and attention (split + reduce) per layer over a\n"
    "full cache, and a copy kernel over the same bytes, with GPU timestamps.\n"
    "  --heads N          query heads (32)\n"
    "  --kv-heads N       KV heads (8)\n"
    "  --head-dim N       head dim (128)\n"
    "  --sinks N          pinned sink slots (4)\n"
    "  --cache A,B,...    cache sizes, sinks included (512,1024,...,65536)\n"
    "  --kv-type LIST     some of f16,f32,q8_0 (f16,f32)\n"
    "  --min-bytes N      layers are added until the K+V bytes reach this, so caches\n"
    "                     do not sit in the GPU's L2 (256M)\n"
    "  --iters N          timed repetitions, the median is reported (20)\n"
    "  --workgroups N     split-kernel workgroups to aim for (device default)\n"
    "  --device SEL       Vulkan device index or name substring\n"
    "  --json             one JSON object instead of the table\n";


int bench_attention(const std::vector<std::string>& argv) {
  const cli::Args a(argv, {"json", "help"},
                    {"heads", "kv-heads", "head-dim", "sinks", "cache", "kv-type", "min-bytes", "iters", "workgroups",
                     "device"});
  if (a.has("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  AttentionBenchOptions s;
  s.heads = static_cast<uint32_t>(a.u64("heads", 32, 1, 1024));
  s.kv_heads = static_cast<uint32_t>(a.u64("kv-heads", 8, 1, 1024));
  s.head_dim = static_cast<uint32_t>(a.u64("head-dim", 128, 4, 256));
  s.sinks = static_cast<uint32_t>(a.u64("sinks", 4, 0, 1024));
  s.iters = static_cast<uint32_t>(a.u64("iters", 20, 1, 10000));
  s.workgroups = static_cast<uint32_t>(a.u64("workgroups", 0, 0, 1 << 20));
  s.min_bytes = parse_byte_size(a.str("min-bytes", "256M"));
  const auto caches = a.u64_list("cache", {512, 1024, 2048, 4096, 8192, 16384, 32768, 65536});
  std::vector<KvType> kvs;
  for (const std::string& name : a.str_list("kv-type", "f16,f32")) {
    const auto t = parse_kv_type(name);
    if (!t) throw InvalidArgument("--kv-type must list f16, f32 and/or q8_0, not '" + name + "'");
    kvs.push_back(*t);
  }
  if (kvs.empty()) throw InvalidArgument("--kv-type is empty");
  for (uint64_t c : caches)
    if (c <= s.sinks) throw InvalidArgument("every --cache size must exceed --sinks");

  GpuOptions opts;
  opts.device = a.str("device", "");
  Gpu gpu(opts);
  std::vector<AttentionBenchResult> rows;
  Progress progress("shapes", kvs.size() * caches.size());
  for (KvType kv : kvs)
    for (uint64_t c : caches) {
      rows.push_back(sinkstream::bench_attention(gpu, s, kv, c));
      progress.update(rows.size());
    }
  progress.finish();

  if (a.has("json")) {
    std::printf("{\"device\":\"%s\",\"heads\":%u,\"kv_heads\":%u,\"head_dim\":%u,\"sinks\":%u,\"results\":[",
                gpu.device_name().c_str(), s.heads, s.kv_heads, s.head_dim, s.sinks);
    for (size_t i = 0; i < rows.size(); ++i) {
      const AttentionBenchResult& r = rows[i];
      std::printf("%s{\"kv_type\":\"%s\",\"cache\":%llu,\"layers\":%u,\"append_us\":%.3f,\"attention_us\":%.3f,"
                  "\"attention_gbs\":%.1f,\"copy_us\":%.3f,\"copy_gbs\":%.1f,\"ratio_to_copy\":%.3f}",
                  i ? "," : "", kv_type_name(r.kv_type), static_cast<unsigned long long>(r.cache), r.layers, r.append_us,
                  r.attention_us, r.attention_gbs, r.copy_us, r.copy_gbs, r.attention_gbs / r.copy_gbs);
    }
    std::printf("]}\n");
    return 0;
  }
  std::printf("device: %s   heads %u, kv heads %u, head dim %u, sinks %u (times per layer, median of %u)\n",
              gpu.device_name().c_str(), s.heads, s.kv_heads, s.head_dim, s.sinks, s.iters);
  std::printf("%-4s %8s %6s %11s %13s %12s %11s %10s %8s\n", "kv", "cache", "layers", "append us", "attention us",
              "attn GB/s", "copy us", "copy GB/s", "ratio");
  for (const AttentionBenchResult& r : rows)
    std::printf("%-4s %8llu %6u %11.2f %13.2f %12.1f %11.2f %10.1f %8.3f\n", kv_type_name(r.kv_type),
                static_cast<unsigned long long>(r.cache), r.layers, r.append_us, r.attention_us, r.attention_gbs, r.copy_us,
                r.copy_gbs, r.attention_gbs / r.copy_gbs);
  std::printf("attention GB/s counts K+V bytes read; copy GB/s counts bytes read + written.\n");
  return 0;
}

}  // namespace

int cmd_bench(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "-h") {
    std::fputs("usage: sinkstream bench attention|generate|stream|batch [options]   (see `sinkstream bench <name> --help`)\n",
               argv.empty() ? stderr : stdout);
    return argv.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (argv[0] == "attention") return bench_attention(rest);
  if (argv[0] == "generate") return bench_generate(rest);
  if (argv[0] == "stream") return bench_stream(rest);
  if (argv[0] == "batch") return bench_batch(rest);
  throw InvalidArgument("unknown benchmark '" + argv[0] + "' (available: attention, generate, stream, batch)");
}

}  // namespace sinkstream::app
