// The Llama forward pass on the GPU, streaming through a sinks + window KV
// cache. feed() runs any number of tokens, in chunks of up to max_chunk, each
// chunk one command buffer with no host round trip inside; it returns logits.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "kv/kv_cache.hpp"
#include "model/coop_tiles.hpp"
#include "model/finite_check.hpp"
#include "model/model_file.hpp"
#include "model/push_constants.hpp"
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
};

struct EngineCounters {
  uint64_t tokens = 0;   // tokens fed since the stream started
  uint64_t evicted = 0;  // tokens that have left the window
  uint32_t slots_used = 0, capacity = 0;
  uint64_t device_bytes = 0;      // weights + cache + activations
  uint64_t k_split_products = 0;  // chunk products recorded split along K (coop_k_splits)
};

// A weight on the GPU in its file type.
struct GpuTensor {
  vk::GpuBuffer buffer;
  GgmlType type = GgmlType::f32;
  uint32_t rows = 0, cols = 0, row_bytes = 0;
};

class Engine {
 public:
  Engine(Gpu& gpu, const ModelFile& model, const EngineConfig& cfg);
  ~Engine();

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
  void enable_gpu_timing();
  double last_gpu_ms() const { return last_gpu_ms_; }

  // Profiling: from now on the GPU time of every op (summed over layers) is
  // accumulated per op name over all chunks; op_profile() lists (name, total ms),
  // largest first, and op_profile_chunks() how many chunks they cover.
  void enable_op_profile();
  std::vector<std::pair<std::string, double>> op_profile() const;
  uint64_t op_profile_chunks() const { return profile_.chunks; }
  void reset_op_profile() {
    profile_.total_ms.clear();
    profile_.chunks = 0;
  }

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
  bool fused_decode() const { return decode_ != nullptr; }
  // Whether chunks of several tokens go through the cooperative-matrix kernel.
  bool coop_prefill() const { return coop_; }
  // Whether those chunks compute gate/up and SwiGLU in one product.
  bool fused_glu() const;
  const HParams& hparams() const { return hp_; }
  const StreamConfig& cache_config() const { return cache_cfg_; }

 private:
  struct Layer;
  void upload_weights(const ModelFile& m);
  void make_kernels();
  void bind_sets();
  void record_chunk(uint32_t n, bool all_logits);
  void begin_chunk();
  void check_token_ids(std::span<const int32_t> tokens) const;
  void read_gpu_time();  // last_gpu_ms_ from the chunk's two timestamps, when timing is on
  void record_forward(uint32_t n, bool all_logits);
  void finish_chunk(uint32_t logit_rows);
  void record_greedy_batch(uint32_t k, uint32_t row0);
  bool can_prerecord() const;
  std::span<const float> feed_one(int32_t token);
  std::span<const int32_t> picked(uint32_t k, uint32_t row0) const;
  // The same bindings for the decode (one token) and the chunk variant of matmul.comp.
  struct MatmulSets {
    vk::BindingSet one, many;
    vk::BindingSet coop;  // matmul_coop (kernel null where the path is off or K does not fit)
    CoopTile coop_tile;   // its variant and tile
    // Split along K: matmul_coop writing into part_, and matmul_reduce from it.
    vk::BindingSet coop_split, reduce;
  };
  const vk::Kernel& matmul_kernel(GgmlType t, uint32_t tokens);
  const vk::Kernel& matmul_coop_kernel(const CoopTile& tile);
  // Records a product. Independent ones may follow before end_products(), which
  // places the barrier (and adds up the products that were split along K).
  void record_matmul(const MatmulSets& sets, uint32_t m, uint32_t n_rows, MatmulPC pc);
  uint32_t k_splits(const MatmulSets& sets, uint32_t m, uint32_t n_rows, uint32_t k) const;
  void end_products();
  void record_ffn_in(uint32_t li, uint32_t n);
  void record_layer(uint32_t l, uint32_t n);
  // The fused one-token path (engine_decode.cpp).
  struct DecodeSets;
  struct Matvec;
  bool decode_path_available() const;
  void bind_decode_sets();
  void record_matvec(const Matvec& mv, const GpuTensor& w, bool accumulate, bool bias);
  void record_layer_decode(uint32_t l);
  void record_logits_decode();
  // The NaN/Inf guard on `count` floats of an op's output, when it is on.
  void check(const vk::GpuBuffer& out, uint64_t count, uint32_t layer, const char* op);
  // A profile timestamp closing the op `op` (everything since the previous stamp), when profiling.
  void stamp(const char* op);
  void read_op_profile();

  vk::Context& ctx_;
  HParams hp_;
  StreamConfig cache_cfg_;
  uint32_t max_chunk_;
  bool coop_ = false;        // chunk products on cooperative matrices
  bool gpu_greedy_ = false;  // EngineConfig::gpu_greedy
  std::unique_ptr<kv::KvCache> cache_;
  vk::CommandBuffer cmd_;
  vk::CommandBuffer cmd2_;  // decode_greedy: the batch in flight while cmd_ records the next
  // One-token feed(): cmd_ already holds the step for a cache with next_at_ tokens appended.
  bool next_recorded_ = false;
  uint64_t next_at_ = 0;

  GpuTensor tok_embd_, output_norm_, output_;
  std::vector<Layer> layers_;
  vk::GpuBuffer dummy_;  // bound where a kernel's optional input is absent
  vk::GpuBuffer sinks_;  // (layer, head) learned sink logits

  // Activations, (token, features) each, for one chunk.
  vk::GpuBuffer ids_;        // (token) int32, host-written
  vk::GpuBuffer x_;          // residual stream (token, dim)
  vk::GpuBuffer xn_;         // normed (token, dim)
  vk::GpuBuffer q_, k_, v_;  // (token, heads|kv_heads, head_dim)
  vk::GpuBuffer att_;        // attention output (token, heads * head_dim)
  vk::GpuBuffer gate_, up_;  // (token, ffn)
  vk::GpuBuffer logits_;     // (token, vocab), host-read
  // (split, token, n) partial sums of the products split along K since the last
  // end_products(), one dense block each from its part_offset.
  vk::GpuBuffer part_;
  uint64_t part_used_ = 0;     // floats of part_ taken since end_products()
  uint32_t split_target_ = 0;  // workgroups that fill the GPU (0: never split)
  uint64_t split_products_ = 0;
  std::vector<std::pair<const vk::BindingSet*, MatmulReducePC>> reduces_;  // pending
  vk::GpuBuffer probe_;  // (layer, head, first) attention on the first tokens, host-read
  uint32_t probe_first_ = 0;
  uint32_t rope_row_ = 0;  // RoPE table row of the step being recorded
  vk::GpuBuffer history_;  // (step) tokens picked on the GPU, host-read
  vk::BindingSet argmax_set_;
  std::unique_ptr<DecodeSets> decode_;   // null: one-token steps use the chunk kernels
  std::unique_ptr<FiniteCheck> finite_;  // null unless the NaN/Inf guard is on
  static constexpr uint32_t kProfileStamps = 1024;
  struct {
    vk::QueryPool pool;
    std::vector<const char*> names;  // op closed by timestamp i + 1, this chunk
    std::map<std::string, double> total_ms;
    uint64_t chunks = 0;
  } profile_;
  vk::QueryPool stamps_;  // begin/end of the last chunk, when GPU timing is on
  double last_gpu_ms_ = 0;

  struct Kernels {
    const vk::Kernel *embed, *rmsnorm, *swiglu, *argmax, *reduce;  // matmuls: matmul_kernel()
  } kernels_{};
  vk::DescriptorPool pool_;
  vk::BindingSet embed_set_, final_norm_set_;
  MatmulSets logits_set_;
  std::vector<float> all_logits_;
};

}  // namespace sinkstream::model
