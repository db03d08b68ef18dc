// Benchmarks of a device and a model, as `sinkstream bench` runs them (in the
// spirit of llama.cpp's llama-bench on llama_perf_*): each returns plain
// numbers and leaves the printing to the caller. Timings are medians of GPU
// timestamps or host wall time, as each field says.
//
// Thread safety: a benchmark uses its Gpu or Model alone while it runs (no
// other stream, scheduler or benchmark on it at the same time); `progress`
// callbacks run on the calling thread.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "sinkstream/config.hpp"
#include "sinkstream/export.hpp"
#include "sinkstream/gpu.hpp"
#include "sinkstream/model.hpp"
#include "sinkstream/session.hpp"

namespace sinkstream {

// Copy bandwidth in GB/s (bytes read + written): the median of `iters`
// GPU-timed copies of `bytes` bytes (capped at the device's largest storage buffer).
SINKSTREAM_API double copy_bandwidth_gbs(Gpu& gpu, uint64_t bytes, uint32_t iters);

// One decode step's KV append and attention over a full sinks + window cache
// of synthetic data, layer after layer until the K+V bytes reach min_bytes
// (so the cache does not sit in the GPU's L2).
struct AttentionBenchOptions {
  uint32_t heads = 32, kv_heads = 8, head_dim = 128, sinks = 4;
  uint32_t iters = 20;       // timed repetitions (the median is reported)
  uint32_t workgroups = 0;   // split-kernel workgroups to aim for; 0: the device's default
  uint64_t min_bytes = 256ull << 20;
};

struct AttentionBenchResult {
  KvType kv_type = KvType::f16;
  uint64_t cache = 0;  // slots, sinks included
  uint32_t layers = 0;
  double append_us = 0, attention_us = 0, copy_us = 0;  // per layer
  double attention_gbs = 0;  // K+V bytes read
  double copy_gbs = 0;       // bytes read + written, the same bytes in the same run
};

SINKSTREAM_API AttentionBenchResult bench_attention(Gpu& gpu, const AttentionBenchOptions& options, KvType kv_type,
                                                    uint64_t cache_slots);

// GPU time per op, summed over layers: (op name, time), largest first; the
// unit is each field's.
using OpTimes = std::vector<std::pair<std::string, double>>;

// Prefill and decode speed of a model, and the decode latency after the
// stream has reached each position (the stream is fed pseudo-random tokens).
struct GenerateBenchOptions {
  StreamSettings stream;
  uint64_t prompt_tokens = 512;
  uint32_t decode_tokens = 128;  // steps per measurement
  std::vector<uint64_t> positions = {1000, 10000, 100000};
  bool profile = false;  // also time every op at the last position (GPU timestamps between ops)
};

struct LatencyPoint {
  uint64_t position = 0;
  double ms_per_token = 0;          // one step per submission (a host round trip per token)
  double ms_per_token_batched = 0;  // greedy steps batched, argmax on the GPU
};

struct GenerateBenchResult {
  std::string model, device;
  StreamConfig cache;     // the stream's cache as it ran
  uint64_t weight_bytes = 0;
  uint64_t active_weight_bytes = 0;  // what a token reads of them (fewer with experts)
  uint64_t kv_token_bytes = 0;  // K+V bytes of one token over all layers
  uint64_t prompt_tokens = 0;
  double prefill_tps = 0, decode_tps = 0, decode_batched_tps = 0;  // tokens/s
  std::vector<LatencyPoint> curve;  // one per position, in increasing order
  double copy_gbs = 0;              // copy_bandwidth_gbs in the same run
  StreamStats stats;                // the stream at the end
  bool coop_prefill = false;        // chunks ran on cooperative matrices
  bool batched_on_gpu = false;      // greedy decoding batched its steps on the GPU
  bool profiled = false;
  double profile_host_ms = 0, profile_gpu_ms = 0;  // per decode step, without per-op stamps
  OpTimes decode_ops;                              // ms per decode step
  OpTimes prefill_ops;                             // ms per token of full chunks
};

// `progress(done, total)` follows the stream to the last position.
SINKSTREAM_API GenerateBenchResult bench_generate(
    const Model& model, const GenerateBenchOptions& options,
    const std::function<void(uint64_t done, uint64_t total)>& progress = {});

// Constant cost, forever: greedy decoding of `tokens` tokens with per-token
// latency and device memory at 100, 200, 500, 1000, ... tokens and at the end,
// then the cost of re-encoding the whole cache for one token (the paper's
// sliding window with re-computation).
struct StreamBenchOptions {
  StreamSettings stream;
  uint64_t tokens = 1000000;
  uint64_t window_tokens = 256;  // tokens whose median makes a checkpoint
};

struct StreamCheckpoint {
  uint64_t tokens = 0;
  double ms_per_token = 0;      // host: feeding a token to its logits back
  double gpu_ms_per_token = 0;  // GPU: the step's command buffer, by timestamps
  uint64_t device_bytes = 0;
  uint64_t vulkan_objects = 0;  // live Vulkan device objects in the process
};

struct StreamBenchResult {
  std::string model, device;
  uint32_t sinks = 0, window = 0;
  std::vector<StreamCheckpoint> checkpoints;  // empty when stopped before the first
  double recompute_ms = 0;                    // per token, re-encoding sinks + window tokens
};

// `progress(tokens)` after every token; false stops the stream there.
SINKSTREAM_API StreamBenchResult bench_stream(const Model& model, const StreamBenchOptions& options,
                                              const std::function<bool(uint64_t tokens)>& progress = {});

// Many streams decoding at once on one copy of the weights, each ring full:
// aggregate speed and per-step latency for each count, alone and then while
// one more stream ingests a prompt of `ingest_tokens` (0: not measured).
struct BatchBenchOptions {
  StreamSettings stream;  // chunk: the scheduler's prompt tokens per step
  std::vector<uint32_t> counts = {1, 2, 4, 8, 16, 32, 64};
  uint32_t steps = 32;  // timed steps per measurement
  uint32_t ingest_tokens = 4096;
  bool sample = false;   // sample (0.8, top-k 40, top-p 0.95, min-p 0.05) instead of greedy
  bool profile = false;  // op times of the timed steps in each row
};

struct BatchBenchRow {
  uint32_t streams = 0;
  bool ingesting = false;
  double aggregate_tps = 0;          // decode tokens/s over all streams
  double median_ms = 0, p99_ms = 0;  // per step = per token of each stream
  uint64_t device_bytes = 0;
  uint64_t ingested = 0;  // prompt tokens ingested during the timed steps
  OpTimes ops_us;         // with profile: microseconds per step
};

struct BatchBenchResult {
  std::string device;
  uint32_t sinks = 0, window = 0;  // the window as it ran
  uint64_t stream_bytes = 0, weight_bytes = 0, activation_bytes = 0;
  std::vector<BatchBenchRow> rows;
};

// `on_row` sees each row as it is measured.
SINKSTREAM_API BatchBenchResult bench_batch(const Model& model, const BatchBenchOptions& options,
                                            const std::function<void(const BatchBenchRow&)>& on_row = {});

}  // namespace sinkstream
