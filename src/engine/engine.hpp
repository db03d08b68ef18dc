// One stream on the GPU: the Llama forward pass (Forward) streaming through a
// sinks + window KV cache. feed() runs any number of tokens, in chunks of up to
// max_chunk, each chunk one command buffer with no host round trip inside; it
// returns logits. The weights are a GpuModel's, which other Engines (and a
// Scheduler) may share.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "kv/stream_cache.hpp"
#include "engine/forward.hpp"
#include "engine/gpu_model.hpp"
#include "format/model_file.hpp"
#include "sinkstream/gpu.hpp"

namespace sinkstream::model {

struct EngineConfig {
  uint32_t sinks = 4;
  uint32_t window = 0;  // 0: the model's training context minus the sinks
  KvType kv_type = KvType::f16;
  uint32_t max_chunk = 64;
  // NaN/Inf guard: every op's output is checked and the first op that produced a
  // non-finite value is named in a NumericalError (also on with SINKSTREAM_CHECK_FINITE=1).
  bool check_finite = false;
  // One-token steps through the fused matvec kernels where the device allows
  // (false: the general chunk kernels, for comparisons).
  bool fused_decode = true;
  // Chunks of several tokens through the cooperative-matrix kernel where the
  // device has it (false, or SINKSTREAM_COOPMAT=0: the portable kernel).
  bool coop_prefill = true;
  // decode_greedy() batches its steps with the argmax on the GPU where it can
  // (false: one step per submission, for comparisons).
  bool gpu_greedy = true;
  // Stream index of the first token: a stream that starts far along (tests at 10^9).
  uint64_t start_position = 0;
};

struct EngineCounters {
  uint64_t tokens = 0;   // tokens fed since the stream started
  uint64_t evicted = 0;  // tokens that have left the window
  uint32_t slots_used = 0, capacity = 0;
  uint64_t device_bytes = 0;      // weights + cache + activations
  uint64_t k_split_products = 0;  // chunk products recorded split along K (coop_k_splits)
  uint64_t grouped_expert_layers = 0;  // expert FFNs of a step run on tiles of one expert's pairs
};

// The cache a stream of `model` gets under `cfg` (window 0: the model's context minus the sinks).
StreamConfig make_cache_config(const HParams& h, const EngineConfig& cfg);
// How a stream's cache splits between the model's full-attention layers and its
// sliding-window layers (none for most families).
kv::LayerSplit make_layer_split(const HParams& h);

// The weights of `model` on the device for a first stream of `cfg`. Fails before
// uploading anything when the weights, that stream's cache and its activations
// cannot fit together (OutOfDeviceMemory naming each part and what would fit).
std::shared_ptr<const GpuModel> upload_for_stream(vk::Context& ctx, const ModelFile& model, const EngineConfig& cfg);

class Engine : private LayerAttention {
 public:
  // Uploads the model's weights for this engine alone.
  Engine(Gpu& gpu, const ModelFile& model, const EngineConfig& cfg);
  // A stream on weights already on the GPU: allocates only its cache and activations.
  Engine(std::shared_ptr<const GpuModel> model, const EngineConfig& cfg);
  ~Engine() override;

  // Feeds tokens; returns the logits of the last one (vocab floats), or of every
  // token (token, vocab) when all_logits. The span is valid until the next call.
  std::span<const float> feed(std::span<const int32_t> tokens, bool all_logits = false);

  // Analysis: from now on every one-token feed() also measures the attention
  // each query head gives to the first `first` tokens of the stream, read with
  // attention_probe() as (layer, head, first). Needs a stream that fits the window.
  void enable_attention_probe(uint32_t first);
  std::span<const float> attention_probe() const;

  // GPU time of the last chunk's command buffer (timestamps), after enable_gpu_timing().
  // Throws Error on devices whose compute queue has no timestamps.
  void enable_gpu_timing() { fwd_->enable_gpu_timing(); }
  double last_gpu_ms() const { return fwd_->last_gpu_ms(); }

  // Profiling: from now on the GPU time of every op (summed over layers) is
  // accumulated per op name over all chunks; op_profile() lists (name, total ms),
  // largest first, and op_profile_chunks() how many chunks they cover.
  void enable_op_profile() { fwd_->enable_op_profile(); }
  std::vector<std::pair<std::string, double>> op_profile() const { return fwd_->op_profile(); }
  uint64_t op_profile_chunks() const { return fwd_->op_profile_chunks(); }
  void reset_op_profile() { fwd_->reset_op_profile(); }

  // Greedy decoding: feeds `first`, then each step's most likely token, `steps`
  // times; returns the picked tokens. Where the device allows, several steps go
  // in one submission with the pick (argmax, the first on ties) made on the GPU,
  // the next batch queued while one runs (one batch at a time while the NaN guard
  // or GPU timing is on); otherwise, and while the op profile or the attention
  // probe is on, one step per submission. Either way it equals feed() of one token at a time with a
  // host-side argmax. last_logits() then holds the final step's logits.
  std::vector<int32_t> decode_greedy(int32_t first, uint32_t steps);
  // The same, streamed: on_batch gets each batch's picks as soon as it is done
  // (the span lives until on_batch returns). Once on_batch returns false no new
  // batch starts, but the steps already queued still run: the cache may then
  // hold up to two batches of tokens past the last one the caller accepted.
  using GreedyBatchFn = std::function<bool(std::span<const int32_t>)>;
  void decode_greedy(int32_t first, uint64_t steps, const GreedyBatchFn& on_batch);
  std::span<const float> last_logits() const;
  // Whether decode_greedy() batches steps with the pick on the GPU right now.
  bool greedy_on_gpu() const;

  // Forgets the stream: the next feed() starts at position 0 in an empty cache.
  void reset() {
    cache_->reset();
    next_recorded_ = false;
  }

  EngineCounters counters() const;
  // Whether one-token steps take the fused matvec path on this device.
  bool fused_decode() const { return fwd_->fused_decode(); }
  // Whether chunks of several tokens go through the cooperative-matrix kernel.
  bool coop_prefill() const { return fwd_->coop_prefill(); }
  // Whether those chunks compute gate/up and SwiGLU in one product.
  bool fused_glu() const { return fwd_->fused_glu(); }
  const GpuModel& model() const { return *model_; }
  const HParams& hparams() const { return hp_; }
  const StreamConfig& cache_config() const { return cache_cfg_; }

 private:
  Engine(std::shared_ptr<const GpuModel> model, const EngineConfig& cfg, const StreamConfig& cache);
  // LayerAttention: this stream's cache (and the attention probe, when on).
  void record_layer(vk::CommandBuffer& cmd, uint32_t layer, uint32_t n, const kv::LayerIo& io) override;
  void record_chunk(uint32_t n, bool all_logits);
  void check_token_ids(std::span<const int32_t> tokens) const;
  void record_greedy_batch(uint32_t k, uint32_t row0);
  bool can_prerecord() const;
  std::span<const float> feed_one(int32_t token);
  std::span<const int32_t> picked(uint32_t k, uint32_t row0) const;

  std::shared_ptr<const GpuModel> model_;
  vk::Context& ctx_;
  HParams hp_;
  StreamConfig cache_cfg_;
  uint32_t max_chunk_;
  bool gpu_greedy_ = false;  // EngineConfig::gpu_greedy
  std::unique_ptr<Forward> fwd_;
  std::unique_ptr<kv::StreamCache> cache_;
  vk::CommandBuffer cmd_;
  vk::CommandBuffer cmd2_;  // decode_greedy: the batch in flight while cmd_ records the next
  // One-token feed(): cmd_ already holds the step for a cache with next_at_ tokens appended.
  bool next_recorded_ = false;
  uint64_t next_at_ = 0;
  vk::GpuBuffer probe_;  // (layer, head, first) attention on the first tokens, host-read
  uint32_t probe_first_ = 0;
  std::vector<float> all_logits_;
  std::vector<uint32_t> logit_rows_;  // of the chunk being recorded
};

}  // namespace sinkstream::model
