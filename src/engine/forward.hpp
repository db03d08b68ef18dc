// The Llama forward pass of a step of `n` rows (tokens) on the GPU: embedding,
// layers and logits, recorded into one command buffer. Each row is one token;
// the rows of a step may belong to one stream (Engine: a prompt chunk or a
// decode step) or to many (Scheduler: every generating stream's next token
// beside a prompt chunk), since every op but attention treats rows alike.
// Attention is recorded per layer by a LayerAttention, which knows whose cache
// each row reads. The weights are a GpuModel's, shared; the activations and
// binding sets are this object's own.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "kv/kv_cache.hpp"
#include "engine/coop_tiles.hpp"
#include "engine/finite_check.hpp"
#include "engine/gpu_model.hpp"
#include "engine/push_constants.hpp"

namespace sinkstream::model {

// Records one layer's KV append and attention for the rows of a step, ending
// with a barrier: q/k/v rows in, attention output rows out (offsets in io).
class LayerAttention {
 public:
  virtual ~LayerAttention() = default;
  virtual void record_layer(vk::CommandBuffer& cmd, uint32_t layer, uint32_t n, const kv::LayerIo& io) = 0;
};

struct ForwardConfig {
  uint32_t rows = 64;          // most rows (tokens) one step holds
  bool check_finite = false;   // the NaN/Inf guard (also SINKSTREAM_CHECK_FINITE=1)
  bool fused_decode = true;    // one-row steps through the fused matvec kernels where possible
  bool coop_prefill = true;    // several-row steps on cooperative matrices where the device has them
  // Steps of up to this many rows (the scheduler's decode rows, with a prompt
  // chunk's) through the fused matvec kernels too, the weights read once for all
  // rows: each row's sums are those of a one-row step. SINKSTREAM_MATVEC_ROWS overrides.
  uint32_t matvec_rows = 1;
};

// Device bytes a Forward of `rows` rows allocates for activations.
uint64_t forward_activation_bytes(const vk::Context& ctx, const HParams& h, uint32_t rows);

class Forward {
 public:
  Forward(const GpuModel& model, const ForwardConfig& cfg);
  ~Forward();
  Forward(const Forward&) = delete;
  Forward& operator=(const Forward&) = delete;

  // The activation buffers a KV cache binds (its step's q, k, v, output, sink logits).
  kv::StepBuffers step_buffers() const { return {&q_, &k_, &v_, &att_, &model_.sink_logits()}; }
  uint32_t rows() const { return rows_; }

  // Starts recording a step into cmd (timestamps, the NaN guard, the profile).
  void begin(vk::CommandBuffer& cmd);
  // Records embedding and layers of rows [0, n) whose token ids are in ids(),
  // then the logits of the rows `logit_rows` into logits() rows 0, 1, ...
  // (none: no logits). rope_row: the RoPE table row of a one-row step.
  void record(uint32_t n, std::span<const uint32_t> logit_rows, LayerAttention& attention,
              uint32_t rope_row = 0);
  // Greedy pick of logits() row `logit_row`: its index goes to ids()[id_row]
  // (the next step's input) and to history()[slot].
  void record_argmax(uint32_t logit_row, uint32_t id_row, uint32_t slot);
  // Closes the step: the NaN check of `logit_rows` logits rows, the host barrier.
  void finish(uint32_t logit_rows);
  // After the step's submission finished: the NaN guard's verdict (naming the
  // stream token `first_token`), the op profile and the GPU time.
  void after_step(uint64_t first_token, uint32_t tokens);

  int32_t* ids() const { return static_cast<int32_t*>(ids_.mapped()); }              // (row)
  const float* logits() const { return static_cast<const float*>(logits_.mapped()); }  // (row, vocab)
  const int32_t* history() const { return static_cast<const int32_t*>(history_.mapped()); }  // (slot)
  // For a sampler that picks from logits() rows into history() slots on the GPU.
  const vk::GpuBuffer& logits_buffer() const { return logits_; }
  const vk::GpuBuffer& history_buffer() const { return history_; }
  bool timing_or_checks() const { return stamps_ || finite_ || profile_.pool; }
  bool checks_finite() const { return finite_ != nullptr; }
  bool profiling() const { return static_cast<bool>(profile_.pool); }

  void enable_gpu_timing();
  double last_gpu_ms() const { return last_gpu_ms_; }
  void enable_op_profile();
  std::vector<std::pair<std::string, double>> op_profile() const;
  uint64_t op_profile_chunks() const { return profile_.chunks; }
  void reset_op_profile() {
    profile_.total_ms.clear();
    profile_.chunks = 0;
  }

  bool fused_decode() const { return decode_ != nullptr; }
  bool coop_prefill() const { return coop_; }
  bool fused_glu() const;
  uint64_t k_split_products() const { return split_products_; }
  uint64_t grouped_expert_layers() const { return grouped_layers_; }

 private:
  struct Layer;
  void make_kernels();
  void bind_sets();
  void read_gpu_time();
  void read_op_profile();
  kv::LayerIo layer_io(uint32_t layer, uint32_t rope_row);
  // The same bindings for the decode (one token) and the chunk variant of matmul.comp.
  struct MatmulSets {
    vk::BindingSet one, many;
    vk::BindingSet coop;  // matmul_coop (kernel null where the path is off or K does not fit)
    CoopTile coop_tile;   // its variant and tile
    // Split along K: matmul_coop writing into part_, and matmul_reduce from it.
    vk::BindingSet coop_split, reduce;
  };
  const vk::Kernel& matmul_kernel(const GpuTensor& w, uint32_t tokens);
  const vk::Kernel& matmul_coop_kernel(const CoopTile& tile);
  // Records a product. Independent ones may follow before end_products(), which
  // places the barrier (and adds up the products that were split along K).
  void record_matmul(const MatmulSets& sets, uint32_t m, uint32_t n_rows, MatmulPC pc);
  uint32_t k_splits(const MatmulSets& sets, uint32_t m, uint32_t n_rows, uint32_t k) const;
  void end_products();
  void record_ffn_in(uint32_t li, uint32_t n);
  // Mixture of experts (forward_moe.cpp): the FFN of a layer with experts, its residual add included.
  void bind_moe(Layer& l, VkDescriptorPool pool);
  void record_moe(uint32_t li, uint32_t n);
  void record_layer(uint32_t l, uint32_t n, LayerAttention& attention, uint32_t rope_row);
  void record_qk_norm(uint32_t l, uint32_t n);
  void record_post_norm(const vk::BindingSet& set, uint32_t n, uint32_t layer, const char* op);
  // The fused one-token path (forward_decode.cpp).
  struct DecodeSets;
  struct Matvec;
  bool decode_path_available() const;
  void bind_decode_sets();
  void record_matvec(const Matvec& mv, const GpuTensor& w, bool accumulate, bool bias, uint32_t tokens = 1);
  void record_layer_decode(uint32_t l, uint32_t n, LayerAttention& attention, uint32_t rope_row);
  void record_logits_decode(uint32_t m);
  // The NaN/Inf guard on `count` floats of an op's output, when it is on.
  void check(const vk::GpuBuffer& out, uint64_t count, uint32_t layer, const char* op);
  // A profile timestamp closing the op `op` (everything since the previous stamp), when profiling.
  void stamp(const char* op);

  vk::Context& ctx_;
  const GpuModel& model_;
  HParams hp_;
  uint32_t rows_;
  bool coop_ = false;  // chunk products on cooperative matrices
  uint32_t matvec_rows_ = 1;  // most rows of a step on the fused matvec path
  vk::CommandBuffer* cmd_ = nullptr;  // the step being recorded

  // Activations, (row, features) each, for one step.
  vk::GpuBuffer ids_;        // (row) int32, host-written (or by record_argmax)
  vk::GpuBuffer x_;          // residual stream (row, dim)
  vk::GpuBuffer xn_;         // normed (row, dim)
  vk::GpuBuffer q_, k_, v_;  // (row, heads|kv_heads, head_dim)
  vk::GpuBuffer att_;        // attention output (row, heads * head_dim)
  vk::GpuBuffer gate_, up_;  // (row, ffn); with experts (row, slot, ffn)
  // Mixture of experts: router scores (row, expert), the chosen experts and their
  // weights (row, slot), the experts' outputs (row, slot, dim).
  vk::GpuBuffer router_, sel_, sel_w_, moe_out_;
  // Chunks: the pairs grouped by expert (moe_group.comp): (tile, 2) then (position) pair.
  vk::GpuBuffer moe_tiles_;
  vk::BindingSet moe_group_set_;
  bool moe_grouped_ = true;  // SINKSTREAM_MOE_GROUPED=0: every pair alone, for comparisons
  uint64_t grouped_layers_ = 0;
  vk::GpuBuffer logits_;     // (logit row, vocab), host-read
  vk::GpuBuffer history_;    // (slot) tokens picked on the GPU, host-read
  vk::GpuBuffer logit_rows_; // (logit row) the step row it is of, host-written
  // (split, row, n) partial sums of the products split along K since the last
  // end_products(), one dense block each from its part_offset.
  vk::GpuBuffer part_;
  uint64_t part_used_ = 0;     // floats of part_ taken since end_products()
  uint32_t split_target_ = 0;  // workgroups that fill the GPU (0: never split)
  uint64_t split_products_ = 0;
  std::vector<std::pair<const vk::BindingSet*, MatmulReducePC>> reduces_;  // pending
  vk::BindingSet argmax_set_;
  std::vector<Layer> layers_;
  std::unique_ptr<DecodeSets> decode_;   // null: one-token steps use the chunk kernels
  std::unique_ptr<FiniteCheck> finite_;  // null unless the NaN/Inf guard is on
  static constexpr uint32_t kProfileStamps = 1024;
  struct {
    vk::QueryPool pool;
    std::vector<const char*> names;  // op closed by timestamp i + 1, this step
    std::map<std::string, double> total_ms;
    uint64_t chunks = 0;
  } profile_;
  vk::QueryPool stamps_;  // begin/end of the last step, when GPU timing is on
  double last_gpu_ms_ = 0;

  struct Kernels {
    const vk::Kernel *embed, *rmsnorm, *swiglu, *softcap, *argmax, *reduce;  // matmuls: matmul_kernel()
    const vk::Kernel *moe_route, *moe_group, *moe_combine;  // null without experts
  } kernels_{};
  vk::DescriptorPool pool_;
  vk::BindingSet embed_set_, final_norm_set_;
  vk::BindingSet softcap_set_;  // gemma2: the logits soft-capped in place
  MatmulSets logits_set_;
};

}  // namespace sinkstream::model
