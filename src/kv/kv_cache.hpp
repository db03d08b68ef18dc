// The GPU side of a sinks + window KV cache: per-layer K/V buffers, the staging
// area a prefill chunk is attended from before it is committed, the split
// partials, and the recording of append + attention for one layer.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "kv/push_constants.hpp"
#include "kv/ring.hpp"
#include "kv/rope.hpp"
#include "sinkstream/config.hpp"
#include "vk/commands.hpp"

namespace sinkstream::kv {

// Vec4s of a K/V row that one append invocation stores (kv_storage.glsl's
// KV_GROUP: a q8_0 block of 32 values, else one vec4).
uint32_t append_group(KvType t);

// The subgroup decode kernel's shape for a cache shape on a device (ok false:
// the device lacks what it needs; the portable split kernel is used).
struct DecodeShape {
  bool ok = false;
  uint32_t wg = 0, lanes = 0, keys_per_group = 0;
  uint32_t keys_step() const { return wg / lanes * keys_per_group; }  // keys per workgroup step
};
DecodeShape decode_shape(const vk::DeviceInfo& info, const StreamConfig& cfg);
std::vector<vk::SpecConstant> decode_spec(const StreamConfig& cfg, const DecodeShape& s);
// The most splits a decode step of a cache of this shape takes on this device.
uint32_t max_decode_splits(const vk::DeviceInfo& info, const StreamConfig& cfg);

// A decode step's split of the keys: keys_per_split is a multiple of the kernel's step.
struct DecodeSplit {
  uint32_t keys_per_split, n_splits;
};

// One row of a batched decode step (attn_rows.comp, kv_append_rows.comp):
// where its stream's token goes and what it attends. Mirrored in decode_rows.glsl.
struct DecodeRow {
  uint64_t rope_address;  // the stream's RoPE table (row 0 written by prepare(1))
  uint32_t kv_type;       // KvType
  uint32_t sinks, window;
  uint32_t sinks_before, ring_next, is_sink;  // the append
  uint32_t cache_sinks, ring_filled;          // the attention, the new token included
  uint32_t keys_per_split, n_splits;
  uint32_t pad[4];
};
static_assert(sizeof(DecodeRow) == 64);
static_assert(offsetof(DecodeRow, cache_sinks) == 32);
static_assert(offsetof(DecodeRow, n_splits) == 44);

// Where one layer's step inputs and output live, in floats.
struct LayerIo {
  uint32_t q_offset = 0, q_stride = 0;    // q: (token, head, head_dim)
  uint32_t k_offset = 0, v_offset = 0;    // k, v: (token, kv_head, head_dim)
  uint32_t kv_stride = 0;
  uint32_t out_offset = 0, out_stride = 0;  // out: (token, head, head_dim)
  uint32_t sink_offset = 0;               // this layer's sink logits
  uint32_t rope_token = 0;  // decode: the RoPE table row prepare() wrote for this step
  // Profiling: called after each barrier-separated step of a chunk with its name
  // (the engine places a timestamp there); empty otherwise.
  std::function<void(const char*)> mark;
};

// The buffers a step reads and writes; bound once, so their sizes are fixed.
struct StepBuffers {
  const vk::GpuBuffer* q;
  const vk::GpuBuffer* k;
  const vk::GpuBuffer* v;
  const vk::GpuBuffer* out;
  const vk::GpuBuffer* sink_logits;  // (layer, head); any buffer when unused
};

class KvCache {
 public:
  KvCache(vk::Context& ctx, const StreamConfig& cfg, uint64_t start_position);
  ~KvCache();

  // Device bytes a cache of `cfg` allocates (device_bytes() once made).
  static uint64_t required_bytes(const StreamConfig& cfg);

  void bind(const StepBuffers& io);
  // Workgroups the split kernel aims for (more splits for wide GPUs).
  void set_target_workgroups(uint32_t n) { target_workgroups_ = n; }
  // Chunk attention on cooperative matrices (attn_coop.comp) where the device and
  // the shapes allow (float16 caches only: f32 and q8_0 chunks always take the
  // portable kernel), the default; false: the portable kernel. Call before bind().
  void use_coop_prefill(bool on);
  bool coop_prefill() const { return coop_.kernel && split_prefill_ == coop_.kernel; }
  // false: one-token steps take the portable split kernel even where the subgroup
  // decode kernel runs (the kernel checks cover both). Call before bind().
  void use_subgroup_decode(bool on);
  // Whether decode steps read a query that kv_append rotated (per-step RoPE rows).
  bool decode_rotates_query() const { return decode_ != nullptr; }
  // The next decode step's split (after prepare(1)), and its batched-row description.
  DecodeSplit decode_split() const;
  void describe_decode_row(DecodeRow& d) const;

  // Host work before recording a chunk of n tokens: writes the RoPE table from
  // row `row` on (one-token steps recorded together each take their own row).
  void prepare(uint32_t n, uint32_t row = 0);
  // Records the chunk's append and attention for one layer. The chunk is
  // attended exactly as if its tokens came one at a time.
  void record_layer(vk::CommandBuffer& cmd, uint32_t layer, uint32_t n, const LayerIo& io) const;
  // Call once the step's commands were submitted: the chunk is now in the cache.
  void advance(uint32_t n) { state_ = state_.after(n); }
  // Starts a new stream in the same memory: every slot counts as empty again.
  void reset() { state_ = {cfg_.sinks, cfg_.window, 0}; }

  // The two halves of a one-token step, for benchmarks that time them apart;
  // record_layer(cmd, l, 1, io) is append, barrier, attend.
  void record_decode_append(vk::CommandBuffer& cmd, uint32_t layer, const LayerIo& io) const;
  void record_decode_attend(vk::CommandBuffer& cmd, uint32_t layer, const LayerIo& io) const;
  // Benchmarks only: treat `tokens` tokens as already appended, with zero keys
  // and values, so a deep cache can be timed without streaming into it (on
  // never-written memory the softmax could meet NaNs).
  void assume_appended(uint64_t tokens);
  const vk::GpuBuffer& k_buffer(uint32_t layer) const { return k_.at(layer); }

  // Analysis (`sinkstream sinks`): after a one-token record_layer, record_probe
  // writes the attention each query head gave to the first `first` tokens of the
  // stream into `out` at (head, first) + out_offset. Valid until the ring wraps.
  void enable_probe(const vk::GpuBuffer& out, const vk::GpuBuffer& sink_logits, uint32_t first);
  void record_probe(vk::CommandBuffer& cmd, uint32_t layer, const LayerIo& io, uint32_t out_offset) const;
  const vk::GpuBuffer& v_buffer(uint32_t layer) const { return v_.at(layer); }

  const RingState& state() const { return state_; }
  uint64_t start_position() const { return start_; }
  uint64_t device_bytes() const { return device_bytes_; }

 private:
  void check_recordable(uint32_t layer) const;
  void pick_decode_kernel();
  void pick_coop_prefill();
  uint32_t splits_for(uint32_t n_keys, uint32_t granule, uint32_t query_blocks, uint32_t max_splits) const;
  void record_prefill(vk::CommandBuffer& cmd, uint32_t layer, uint32_t n, const LayerIo& io) const;
  KvAppendPC append_pc(uint32_t n, bool to_cache, const LayerIo& io) const;
  AttnDecodePC decode_pc(const RingState& cache, const LayerIo& io) const;
  AttnSplitPC split_pc(const RingState& cache, uint32_t n_queries, uint32_t n_chunk, const LayerIo& io) const;
  void record_reduce(vk::CommandBuffer& cmd, uint32_t n_queries, uint32_t splits, const LayerIo& io) const;

  vk::Context* ctx_;
  StreamConfig cfg_;
  uint64_t start_;
  RingState state_;
  // RoPE rows by stream index (own: queries and window keys) and by cache position
  // (sink keys): two position sequences, one table each.
  RopeTable own_rope_{{}}, sink_rope_{{}};
  uint32_t rot_half_ = 0;
  uint32_t wg_ = 0;          // split kernel workgroup size = keys per tile
  uint32_t bq_prefill_ = 1;  // queries per prefill workgroup
  uint32_t decode_keys_step_ = 0;  // keys a decode workgroup takes per step (0: no subgroup decode kernel)
  uint32_t target_workgroups_ = 0;
  uint32_t partial_rows_ = 0;  // (query, head, split) rows the partial buffers hold

  const vk::Kernel *append_, *split_decode_, *split_prefill_, *reduce_;  // owned by the context
  const vk::Kernel* decode_ = nullptr;  // subgroup fast path, when the device has shuffles
  struct PrefillKernel {
    const vk::Kernel* kernel = nullptr;
    uint32_t queries = 1;  // per workgroup
  };
  PrefillKernel portable_, coop_;  // the chunk attention kernels split_prefill_ picks from
  // q8_0: each K/V buffer is quants (rows, head_dim) int8 then scales (rows, blocks of 32) float16.
  std::vector<vk::GpuBuffer> k_, v_;  // per layer: (kv_head, slot, head_dim)
  vk::GpuBuffer k_stage_, v_stage_;   // (kv_head, chunk token, head_dim)
  vk::GpuBuffer rope_;                // (token, set, rot_half) (cos, sin); host-written
  vk::GpuBuffer part_acc_, part_ml_;  // (query, head, split, head_dim) and (query, head, split, 2)
  vk::GpuBuffer q_rot_;               // decode: (set, head, head_dim), the query rotated both ways
  vk::GpuBuffer done_;                // decode: (kv_head) finished splits, zero between dispatches
  uint64_t device_bytes_ = 0;

  vk::DescriptorPool pool_;
  std::vector<vk::BindingSet> stage_sets_, commit_sets_, decode_sets_, prefill_sets_, fast_sets_;  // per layer
  vk::BindingSet reduce_set_;
  const vk::Kernel* probe_ = nullptr;
  uint32_t probe_first_ = 0;
  vk::DescriptorPool probe_pool_;
  std::vector<vk::BindingSet> probe_sets_;  // per layer
};

}  // namespace sinkstream::kv
