// `sinkstream bench attention`: GPU-timestamped decode attention and KV append
// over a full sinks + window cache, against a plain copy kernel moving the same
// bytes in the same run.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_copy.hpp"
#include "cli.hpp"
#include "commands.hpp"
#include "kv/kv_cache.hpp"
#include "progress.hpp"
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

struct Row {
  std::string kv;
  uint64_t cache = 0;
  uint32_t layers = 0;
  double append_us = 0, attend_us = 0, copy_us = 0;  // per layer
  double attend_gbs = 0, copy_gbs = 0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct BenchShape {
  uint32_t heads, kv_heads, head_dim, sinks, iters, workgroups;
  uint64_t min_bytes;
};

Row bench_one(vk::Context& ctx, const BenchShape& s, KvType kv, uint64_t cache_slots) {
  StreamConfig cfg;
  cfg.heads = s.heads;
  cfg.kv_heads = s.kv_heads;
  cfg.head_dim = s.head_dim;
  cfg.sinks = s.sinks;
  cfg.window = static_cast<uint32_t>(cache_slots - s.sinks);
  cfg.kv_type = kv;
  cfg.max_chunk = 1;
  const uint64_t layer_bytes = 2ull * s.kv_heads * cache_slots * kv_row_bytes(kv, s.head_dim);
  cfg.layers = static_cast<uint32_t>(std::clamp<uint64_t>((s.min_bytes + layer_bytes - 1) / layer_bytes, 1, 512));
  const uint32_t L = cfg.layers;

  kv::KvCache cache(ctx, cfg, 0);
  if (s.workgroups) cache.set_target_workgroups(s.workgroups);
  const uint64_t q_floats = uint64_t{L} * s.heads * s.head_dim, kv_floats = uint64_t{L} * s.kv_heads * s.head_dim;
  auto q = ctx.create_buffer(q_floats * 4, vk::MemoryUse::device, "bench queries");
  auto k = ctx.create_buffer(kv_floats * 4, vk::MemoryUse::device, "bench keys");
  auto v = ctx.create_buffer(kv_floats * 4, vk::MemoryUse::device, "bench values");
  auto out = ctx.create_buffer(q_floats * 4, vk::MemoryUse::device, "bench outputs");
  auto sinks = ctx.create_buffer(uint64_t{L} * s.heads * 4, vk::MemoryUse::device, "bench sinks");
  cache.bind({&q, &k, &v, &out, &sinks});

  vk::CommandBuffer cmd(ctx);
  cmd.begin();  // Finite inputs: all-zero buffers are fine for timing.
  for (const vk::GpuBuffer* b : {&q, &k, &v, &sinks}) cmd.fill_zero(*b);
  for (uint32_t l = 0; l < L; ++l) {
    cmd.fill_zero(cache.k_buffer(l));
    cmd.fill_zero(cache.v_buffer(l));
  }
  cmd.end();
  cmd.submit_and_wait();
  cache.assume_appended(cache_slots);  // a full ring: every slot is attended
  cache.prepare(1);

  auto stamps = ctx.create_timestamp_pool(3);
  std::vector<double> append_t, attend_t;
  for (uint32_t it = 0; it < s.iters + 1; ++it) {
    cmd.begin();
    cmd.reset_timestamps(stamps.get(), 3);
    cmd.transfer_to_compute_barrier();
    cmd.timestamp(stamps.get(), 0);
    for (uint32_t l = 0; l < L; ++l) {
      kv::LayerIo io;
      io.k_offset = io.v_offset = l * s.kv_heads * s.head_dim;
      io.kv_stride = s.kv_heads * s.head_dim;
      cache.record_decode_append(cmd, l, io);
    }
    cmd.compute_barrier();
    cmd.timestamp(stamps.get(), 1);
    for (uint32_t l = 0; l < L; ++l) {
      kv::LayerIo io;
      io.q_offset = io.out_offset = l * s.heads * s.head_dim;
      io.q_stride = io.out_stride = s.heads * s.head_dim;
      io.sink_offset = l * s.heads;
      cache.record_decode_attend(cmd, l, io);
      cmd.compute_barrier();
    }
    cmd.timestamp(stamps.get(), 2);
    cmd.end();
    cmd.submit_and_wait();
    const auto t = vk::read_timestamps_ns(ctx, stamps.get(), 3);
    if (it == 0) continue;  // warm-up
    append_t.push_back((t[1] - t[0]) / L);
    attend_t.push_back((t[2] - t[1]) / L);
  }
  Row r;
  r.kv = kv_type_name(kv);
  r.cache = cache_slots;
  r.layers = L;
  r.append_us = median(append_t) / 1e3;
  r.attend_us = median(attend_t) / 1e3;
  // As many bytes as all layers' K+V (up to the largest buffer), read and written once.
  r.copy_gbs = copy_gbs(ctx, layer_bytes * L, s.iters);
  r.copy_us = 2.0 * static_cast<double>(layer_bytes) / r.copy_gbs / 1e3;  // per layer's worth of bytes
  r.attend_gbs = static_cast<double>(layer_bytes) / (r.attend_us * 1e3);
  return r;
}

int bench_attention(const std::vector<std::string>& argv) {
  const cli::Args a(argv, {"json", "help"},
                    {"heads", "kv-heads", "head-dim", "sinks", "cache", "kv-type", "min-bytes", "iters", "workgroups",
                     "device"});
  if (a.has("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  BenchShape s;
  s.heads = static_cast<uint32_t>(a.u64("heads", 32, 1, 1024));
  s.kv_heads = static_cast<uint32_t>(a.u64("kv-heads", 8, 1, 1024));
  s.head_dim = static_cast<uint32_t>(a.u64("head-dim", 128, 4, 256));
  s.sinks = static_cast<uint32_t>(a.u64("sinks", 4, 0, 1024));
  s.iters = static_cast<uint32_t>(a.u64("iters", 20, 1, 10000));
  s.workgroups = static_cast<uint32_t>(a.u64("workgroups", 0, 0, 1 << 20));
  s.min_bytes = vk::parse_byte_size(a.str("min-bytes", "256M"));
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

  vk::ContextOptions opts;
  opts.device = a.str("device", "");
  vk::Context ctx(opts);
  std::vector<Row> rows;
  Progress progress("shapes", kvs.size() * caches.size());
  for (KvType kv : kvs)
    for (uint64_t c : caches) {
      rows.push_back(bench_one(ctx, s, kv, c));
      progress.update(rows.size());
    }
  progress.finish();

  if (a.has("json")) {
    std::printf("{\"device\":\"%s\",\"heads\":%u,\"kv_heads\":%u,\"head_dim\":%u,\"sinks\":%u,\"results\":[",
                ctx.info().name.c_str(), s.heads, s.kv_heads, s.head_dim, s.sinks);
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      std::printf("%s{\"kv_type\":\"%s\",\"cache\":%llu,\"layers\":%u,\"append_us\":%.3f,\"attention_us\":%.3f,"
                  "\"attention_gbs\":%.1f,\"copy_us\":%.3f,\"copy_gbs\":%.1f,\"ratio_to_copy\":%.3f}",
                  i ? "," : "", r.kv.c_str(), static_cast<unsigned long long>(r.cache), r.layers, r.append_us,
                  r.attend_us, r.attend_gbs, r.copy_us, r.copy_gbs, r.attend_gbs / r.copy_gbs);
    }
    std::printf("]}\n");
    return 0;
  }
  std::printf("device: %s   heads %u, kv heads %u, head dim %u, sinks %u (times per layer, median of %u)\n",
              ctx.info().name.c_str(), s.heads, s.kv_heads, s.head_dim, s.sinks, s.iters);
  std::printf("%-4s %8s %6s %11s %13s %12s %11s %10s %8s\n", "kv", "cache", "layers", "append us", "attention us",
              "attn GB/s", "copy us", "copy GB/s", "ratio");
  for (const Row& r : rows)
    std::printf("%-4s %8llu %6u %11.2f %13.2f %12.1f %11.2f %10.1f %8.3f\n", r.kv.c_str(),
                static_cast<unsigned long long>(r.cache), r.layers, r.append_us, r.attend_us, r.attend_gbs, r.copy_us,
                r.copy_gbs, r.attend_gbs / r.copy_gbs);
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
