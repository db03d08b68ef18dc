// A stream's attention state over every layer of a model: the sinks + window
// cache of its full-attention layers and, for a model trained with sliding-window
// layers (gemma3), a plain ring of the trained width for those, with its own
// RoPE. Each is a KvCache of its own layers; a model layer is routed to one of
// them by the layer split. The kernels are the same for both: a ring of w slots
// and no sinks is exactly the attention such a layer was trained with.
#pragma once
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "kv/kv_cache.hpp"

namespace sinkstream::kv {

struct LayerSplit {
  std::vector<uint8_t> sliding;  // (model layer) 1: the layer attends the ring; empty: none does
  uint32_t window = 0;           // the ring's slots (the width those layers were trained with)
  RopeConfig rope;               // the ring's RoPE
  bool any() const;
};

class StreamCache {
 public:
  // cfg: the stream's sinks + window cache with cfg.layers = the model's layers.
  StreamCache(vk::Context& ctx, const StreamConfig& cfg, const LayerSplit& split, uint64_t start_position);
  // Device bytes both caches allocate.
  static uint64_t required_bytes(const StreamConfig& cfg, const LayerSplit& split);
  // The two caches' configurations (ring: nullopt without sliding layers).
  static StreamConfig full_config(const StreamConfig& cfg, const LayerSplit& split);
  static std::optional<StreamConfig> ring_config(const StreamConfig& cfg, const LayerSplit& split);

  // Each cache and the layer of it that a model layer is.
  struct Route {
    const KvCache* cache;
    uint32_t layer;
  };
  Route route(uint32_t model_layer) const;
  KvCache& full() { return *full_; }
  const KvCache& full() const { return *full_; }
  KvCache* ring() { return ring_.get(); }
  const KvCache* ring() const { return ring_.get(); }

  void use_coop_prefill(bool on);
  void bind(const StepBuffers& io);
  void prepare(uint32_t n, uint32_t row = 0);
  void advance(uint32_t n);
  void reset();
  void assume_appended(uint64_t tokens);
  bool decode_rotates_query() const;
  // The model layer's append + attention (KvCache::record_layer on its cache).
  void record_layer(vk::CommandBuffer& cmd, uint32_t layer, uint32_t n, const LayerIo& io) const;
  void record_decode_append(vk::CommandBuffer& cmd, uint32_t layer, const LayerIo& io) const;
  void record_decode_attend(vk::CommandBuffer& cmd, uint32_t layer, const LayerIo& io) const;
  // The attention probe (`sinkstream sinks`) of the full-attention layers;
  // sliding layers have no sinks and record nothing.
  void enable_probe(const vk::GpuBuffer& out, const vk::GpuBuffer& sink_logits, uint32_t first);
  void record_probe(vk::CommandBuffer& cmd, uint32_t layer, const LayerIo& io, uint32_t out_offset) const;

  // The stream's ring (what a user chose: sinks, window, evictions).
  const RingState& state() const { return full_->state(); }
  uint64_t start_position() const { return full_->start_position(); }
  uint64_t device_bytes() const;

 private:
  std::unique_ptr<KvCache> full_, ring_;
  std::vector<Route> routes_;  // (model layer)
};

}  // namespace sinkstream::kv
