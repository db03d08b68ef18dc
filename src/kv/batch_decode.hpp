// Decode steps of many streams' caches, one dispatch per layer for all of them:
// each row's ring state goes into a descriptor buffer and its stream's cache is
// reached through buffer addresses (kv_append_rows.comp, attn_rows.comp). A
// row gets bit for bit what its cache's own decode step computes (same kernel
// body, same split). Available where the device has buffer addresses and the
// subgroup decode kernel; elsewhere the scheduler records each cache's step.
#pragma once
#include <cstdint>
#include <memory>
#include <span>

#include "kv/kv_cache.hpp"

namespace sinkstream::kv {

class BatchDecode {
 public:
  // Null when the device cannot run it for caches of this model shape (any
  // sinks, window and KV type; `shape`'s own are ignored).
  static std::unique_ptr<BatchDecode> make(vk::Context& ctx, const StreamConfig& shape, uint32_t max_rows);
  BatchDecode(vk::Context& ctx, const StreamConfig& shape, uint32_t max_rows);

  // The step's activations: q, k, v rows in, attention output rows out.
  void bind(const StepBuffers& io);
  // Host side of a step: row i is caches[i]'s next token (after its prepare(1)).
  // write false: only what recording needs, the buffers untouched (a step
  // recorded while the previous one, which reads them, still runs).
  void set_rows(std::span<const KvCache* const> caches, bool write = true);
  // Append and attention of every row for `layer` (of these caches), ending with
  // a barrier; sink_offset: the model layer's sink logits (LayerIo::sink_offset).
  void record_layer(vk::CommandBuffer& cmd, uint32_t layer, uint32_t sink_offset) const;
  uint64_t device_bytes() const { return device_bytes_; }

 private:
  vk::Context* ctx_;
  StreamConfig shape_;
  uint32_t max_rows_, max_splits_;
  uint32_t rot_half_ = 0;
  uint32_t n_rows_ = 0, step_splits_ = 1;  // this step's rows and their most splits
  static constexpr uint32_t kKvTypes = 3;  // f32, f16, q8_0: by KvType's value
  bool has_[kKvTypes] = {};  // rows of caches of each KvType this step
  struct Kernels {
    const vk::Kernel* append = nullptr;
    const vk::Kernel* attend = nullptr;
    DecodeShape shape;
  } kernels_[kKvTypes];  // by KvType
  vk::GpuBuffer rows_;      // (row) DecodeRow, host-written
  vk::GpuBuffer addrs_;     // (layer, row, K | V) cache addresses, host-written
  vk::GpuBuffer q_rot_;     // (row, set, head, head_dim)
  vk::GpuBuffer part_acc_;  // (row, head, split, head_dim)
  vk::GpuBuffer part_ml_;   // (row, head, split) max, sum
  vk::GpuBuffer done_;      // (row, kv_head) splits finished, zero between dispatches
  vk::DescriptorPool pool_;
  vk::BindingSet append_sets_[kKvTypes], attend_sets_[kKvTypes];
  uint64_t device_bytes_ = 0;
};

}  // namespace sinkstream::kv
