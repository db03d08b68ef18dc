#include "kv/stream_cache.hpp"

#include <algorithm>
#include <string>

#include "sinkstream/error.hpp"

namespace sinkstream::kv {
namespace {

uint32_t sliding_layers(const LayerSplit& split) {
  return static_cast<uint32_t>(std::count(split.sliding.begin(), split.sliding.end(), uint8_t{1}));
}

}  // namespace

bool LayerSplit::any() const { return sliding_layers(*this) > 0; }

StreamConfig StreamCache::full_config(const StreamConfig& cfg, const LayerSplit& split) {
  if (!split.sliding.empty() && split.sliding.size() != cfg.layers)
    throw Error("internal error: a layer split of " + std::to_string(split.sliding.size()) + " layers for " +
                std::to_string(cfg.layers));
  StreamConfig c = cfg;
  c.layers = cfg.layers - sliding_layers(split);
  if (c.layers == 0) throw InvalidArgument("a model whose every layer is a sliding-window layer is not supported");
  return c;
}

std::optional<StreamConfig> StreamCache::ring_config(const StreamConfig& cfg, const LayerSplit& split) {
  if (!split.any()) return std::nullopt;
  StreamConfig c = cfg;  // shapes, KV type, scale, soft-cap, chunk: the stream's
  c.layers = sliding_layers(split);
  c.sinks = 0;
  c.window = split.window;
  c.rope = split.rope;
  return c;
}

uint64_t StreamCache::required_bytes(const StreamConfig& cfg, const LayerSplit& split) {
  const auto ring = ring_config(cfg, split);
  return KvCache::required_bytes(full_config(cfg, split)) + (ring ? KvCache::required_bytes(*ring) : 0);
}

StreamCache::StreamCache(vk::Context& ctx, const StreamConfig& cfg, const LayerSplit& split, uint64_t start_position) {
  const StreamConfig full = full_config(cfg, split);
  const auto ring = ring_config(cfg, split);
  full_ = std::make_unique<KvCache>(ctx, full, start_position);
  if (ring) ring_ = std::make_unique<KvCache>(ctx, *ring, start_position);
  uint32_t next_full = 0, next_ring = 0;
  for (uint32_t l = 0; l < cfg.layers; ++l) {
    const bool sliding = l < split.sliding.size() && split.sliding[l];
    routes_.push_back(sliding ? Route{ring_.get(), next_ring++} : Route{full_.get(), next_full++});
  }
}

StreamCache::Route StreamCache::route(uint32_t model_layer) const {
  if (model_layer >= routes_.size()) throw Error("internal error: layer " + std::to_string(model_layer) + " past the cache");
  return routes_[model_layer];
}

void StreamCache::use_coop_prefill(bool on) {
  full_->use_coop_prefill(on);
  if (ring_) ring_->use_coop_prefill(on);
}

void StreamCache::bind(const StepBuffers& io) {
  full_->bind(io);
  if (ring_) ring_->bind(io);
}

void StreamCache::prepare(uint32_t n, uint32_t row) {
  full_->prepare(n, row);
  if (ring_) ring_->prepare(n, row);
}

void StreamCache::advance(uint32_t n) {
  full_->advance(n);
  if (ring_) ring_->advance(n);
}

void StreamCache::reset() {
  full_->reset();
  if (ring_) ring_->reset();
}

void StreamCache::assume_appended(uint64_t tokens) {
  full_->assume_appended(tokens);
  if (ring_) ring_->assume_appended(tokens);
}

bool StreamCache::decode_rotates_query() const {
  return full_->decode_rotates_query() && (!ring_ || ring_->decode_rotates_query());
}

void StreamCache::record_layer(vk::CommandBuffer& cmd, uint32_t layer, uint32_t n, const LayerIo& io) const {
  const Route r = route(layer);
  r.cache->record_layer(cmd, r.layer, n, io);
}

void StreamCache::record_decode_append(vk::CommandBuffer& cmd, uint32_t layer, const LayerIo& io) const {
  const Route r = route(layer);
  r.cache->record_decode_append(cmd, r.layer, io);
}

void StreamCache::record_decode_attend(vk::CommandBuffer& cmd, uint32_t layer, const LayerIo& io) const {
  const Route r = route(layer);
  r.cache->record_decode_attend(cmd, r.layer, io);
}

void StreamCache::enable_probe(const vk::GpuBuffer& out, const vk::GpuBuffer& sink_logits, uint32_t first) {
  full_->enable_probe(out, sink_logits, first);
}

void StreamCache::record_probe(vk::CommandBuffer& cmd, uint32_t layer, const LayerIo& io, uint32_t out_offset) const {
  const Route r = route(layer);
  if (r.cache == full_.get()) full_->record_probe(cmd, r.layer, io, out_offset);
}

uint64_t StreamCache::device_bytes() const { return full_->device_bytes() + (ring_ ? ring_->device_bytes() : 0); }

}  // namespace sinkstream::kv
