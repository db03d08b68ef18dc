#include "engine/engine.hpp"

#include <algorithm>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "sinkstream/error.hpp"
#include "vk/context.hpp"

namespace sinkstream::model {
namespace {

ForwardConfig forward_config(const EngineConfig& c) {
  return {c.max_chunk, c.check_finite, c.fused_decode, c.coop_prefill};
}

// The K and V bytes of both of a stream's caches.
uint64_t kv_bytes(const HParams& h, const StreamConfig& s) {
  const kv::LayerSplit split = make_layer_split(h);
  const auto bytes = [](const StreamConfig& c) {
    return 2ull * c.layers * c.kv_heads * (uint64_t{c.sinks} + c.window) * kv_row_bytes(c.kv_type, c.head_dim);
  };
  const auto ring = kv::StreamCache::ring_config(s, split);
  return bytes(kv::StreamCache::full_config(s, split)) + (ring ? bytes(*ring) : 0);
}

// Fails before anything is allocated when the stream's cache and activations
// (and the weights, when `weights` > 0: they are not on the GPU yet) cannot fit,
// with what each part needs, instead of an allocation error halfway through.
void check_fits(const vk::Context& ctx, const std::string& path, uint64_t weights,
                const HParams& h, const StreamConfig& s) {
  const uint64_t kv = kv_bytes(h, s);
  const uint64_t act = forward_activation_bytes(ctx, h, s.max_chunk);
  const uint64_t need = weights + kv + act;
  const uint64_t used = ctx.allocated_bytes();
  const uint64_t cap = ctx.memory_limit() ? ctx.memory_limit() : ctx.info().device_local_bytes;
  const uint64_t have = cap > used ? cap - used : 0;
  if (cap == 0 || need <= have) return;
  const std::string kv_hint = s.kv_type == KvType::f32   ? ", --kv-type f16"
                              : s.kv_type == KvType::f16 ? ", --kv-type q8_0"
                                                         : "";
  throw OutOfDeviceMemory(
      "'" + path + "' needs about " + mib(need) + " of device memory (" +
      (weights ? "weights " + mib(weights) + ", " : "") + "KV cache " + mib(kv) + " for " +
      std::to_string(s.sinks + s.window) + " slots, activations " + mib(act) + ") but " +
      ctx.info().name + " has " + mib(have) +
      (ctx.memory_limit() ? " left under the memory limit" : " available") +
      ": try a smaller --window" + kv_hint + (weights ? ", or a more quantised model file" : ""));
}

}  // namespace

StreamConfig make_cache_config(const HParams& h, const EngineConfig& c) {
  StreamConfig s;
  s.layers = h.layers;
  s.heads = h.heads;
  s.kv_heads = h.kv_heads;
  s.head_dim = h.head_dim;
  s.sinks = c.sinks;
  const uint32_t context = h.context ? h.context : 2048;
  s.window = c.window ? c.window : (context > c.sinks ? context - c.sinks : 1);
  s.kv_type = c.kv_type;
  set_cache_rope(h, s);
  s.max_chunk = c.max_chunk;
  s.learned_sinks = h.attn_sinks;
  return s;
}

kv::LayerSplit make_layer_split(const HParams& h) {
  if (h.sliding.empty()) return {};
  return {h.sliding, h.sliding_window, h.rope_sliding};
}

std::shared_ptr<const GpuModel> upload_for_stream(vk::Context& ctx, const ModelFile& m, const EngineConfig& cfg) {
  const StreamConfig s = make_cache_config(m.hp, cfg);
  validate(s);
  check_fits(ctx, m.path, m.weight_bytes(), m.hp, s);
  return std::make_shared<const GpuModel>(ctx, m);
}

Engine::Engine(Gpu& gpu, const ModelFile& m, const EngineConfig& cfg)
    : Engine(upload_for_stream(gpu.context(), m, cfg), cfg) {}

Engine::Engine(std::shared_ptr<const GpuModel> model, const EngineConfig& cfg)
    : Engine(model, cfg, make_cache_config(model->hparams(), cfg)) {}

Engine::Engine(std::shared_ptr<const GpuModel> model, const EngineConfig& cfg,
               const StreamConfig& cache)
    : model_(std::move(model)),
      ctx_(model_->context()),
      hp_(model_->hparams()),
      cache_cfg_(cache),
      max_chunk_(cfg.max_chunk),
      gpu_greedy_(cfg.gpu_greedy),
      cmd_(ctx_),
      cmd2_(ctx_) {
  validate(cache_cfg_);
  check_fits(ctx_, model_->path(), 0, hp_, cache_cfg_);
  fwd_ = std::make_unique<Forward>(*model_, forward_config(cfg));
  cache_ = std::make_unique<kv::StreamCache>(ctx_, cache_cfg_, make_layer_split(hp_), cfg.start_position);
  cache_->use_coop_prefill(fwd_->coop_prefill());
  cache_->bind(fwd_->step_buffers());
}

Engine::~Engine() = default;

void Engine::record_layer(vk::CommandBuffer& cmd, uint32_t layer, uint32_t n, const kv::LayerIo& io) {
  cache_->record_layer(cmd, layer, n, io);
  if (probe_first_ && n == 1) cache_->record_probe(cmd, layer, io, layer * hp_.heads * probe_first_);
}

void Engine::record_chunk(uint32_t n, bool all_logits) {
  logit_rows_.clear();
  for (uint32_t i = all_logits ? 0 : n - 1; i < n; ++i) logit_rows_.push_back(i);
  fwd_->begin(cmd_);
  fwd_->record(n, logit_rows_, *this);
  fwd_->finish(all_logits ? n : 1);
}

void Engine::check_token_ids(std::span<const int32_t> tokens) const {
  for (int32_t t : tokens)
    if (t < 0 || static_cast<uint32_t>(t) >= hp_.vocab)
      throw InvalidArgument("token id " + std::to_string(t) + " is outside the vocabulary (0.." +
                            std::to_string(hp_.vocab - 1) + ")");
}

std::span<const float> Engine::feed(std::span<const int32_t> tokens, bool all_logits) {
  if (tokens.empty()) throw InvalidArgument("feed() needs at least one token");
  check_token_ids(tokens);
  if (tokens.size() == 1 && !all_logits && can_prerecord()) return feed_one(tokens[0]);
  next_recorded_ = false;  // cmd_ is recorded anew below
  all_logits_.clear();
  const float* logits = fwd_->logits();
  for (size_t done = 0; done < tokens.size();) {
    const uint32_t n = static_cast<uint32_t>(std::min<size_t>(max_chunk_, tokens.size() - done));
    std::memcpy(fwd_->ids(), tokens.data() + done, n * 4);
    cache_->prepare(n);
    record_chunk(n, all_logits);
    cmd_.submit_and_wait();
    fwd_->after_step(cache_->state().appended, n);
    cache_->advance(n);
    done += n;
    if (all_logits) all_logits_.insert(all_logits_.end(), logits, logits + uint64_t{n} * hp_.vocab);
  }
  if (all_logits) return all_logits_;
  return {logits, hp_.vocab};
}

// The command buffer of a one-token step depends on the ring state, not on the
// token (its id and RoPE row are buffer data), so the next step can be recorded
// while this one runs. Not with the NaN guard, timestamps or the probe, whose
// per-step reads share one pool or buffer.
bool Engine::can_prerecord() const {
  return !fwd_->timing_or_checks() && !probe_first_;
}

std::span<const float> Engine::feed_one(int32_t token) {
  std::memcpy(fwd_->ids(), &token, 4);
  cache_->prepare(1);
  if (!next_recorded_ || next_at_ != cache_->state().appended) record_chunk(1, false);
  next_recorded_ = false;
  cmd_.submit();
  try {
    cache_->advance(1);
    std::swap(cmd_, cmd2_);
    record_chunk(1, false);
    next_recorded_ = true;
    next_at_ = cache_->state().appended;
    cmd2_.wait();
  } catch (...) {
    next_recorded_ = false;
    try {
      cmd2_.wait();
    } catch (...) {
    }
    throw;
  }
  return {fwd_->logits(), hp_.vocab};
}

void Engine::enable_attention_probe(uint32_t first) {
  if (first == 0) throw InvalidArgument("the attention probe needs at least one position");
  probe_ = ctx_.create_buffer(uint64_t{hp_.layers} * hp_.heads * first * 4, vk::MemoryUse::readback,
                              "attention probe");
  cache_->enable_probe(probe_, model_->sink_logits(), first);
  probe_first_ = first;
}

std::span<const float> Engine::attention_probe() const {
  if (!probe_first_)
    throw Error("internal error: attention_probe() before enable_attention_probe()");
  return {static_cast<const float*>(probe_.mapped()),
          uint64_t{hp_.layers} * hp_.heads * probe_first_};
}

EngineCounters Engine::counters() const {
  const auto& s = cache_->state();
  EngineCounters c;
  c.tokens = s.appended;
  c.evicted = s.evicted();
  c.slots_used = s.slots_used();
  c.capacity = s.sinks + s.window;
  c.device_bytes = ctx_.allocated_bytes();
  c.k_split_products = fwd_->k_split_products();
  c.grouped_expert_layers = fwd_->grouped_expert_layers();
  return c;
}

}  // namespace sinkstream::model
