#include "sched/scheduler.hpp"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>

#include "engine/engine.hpp"
#include "sched/scheduler_stream.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::sched {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::length: return "length";
    case FinishReason::stop_token: return "stop_token";
    case FinishReason::callback: return "callback";
    case FinishReason::cancelled: return "cancelled";
    case FinishReason::error: return "error";
  }
  return "?";
}

namespace {

StreamConfig cache_config(const model::HParams& h, const StreamSettings& s, uint32_t chunk) {
  model::EngineConfig ec;
  ec.sinks = s.sinks;
  ec.window = s.window;
  ec.kv_type = s.kv_type;
  ec.max_chunk = chunk;
  return model::make_cache_config(h, ec);
}

// Device bytes of a stream's caches under c.
uint64_t cache_bytes(const model::HParams& h, const StreamConfig& c) {
  return kv::StreamCache::required_bytes(c, model::make_layer_split(h));
}

// The largest window of c's shape whose cache fits in `have` bytes (0: none).
uint32_t largest_window(const model::HParams& h, StreamConfig c, uint64_t have) {
  uint32_t lo = 0, hi = c.window;  // windows <= lo fit, windows > hi do not
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo + 1) / 2;
    c.window = mid;
    if (cache_bytes(h, c) <= have)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

}  // namespace

Scheduler::Scheduler(std::shared_ptr<const model::GpuModel> model, const SchedulerConfig& cfg)
    : model_(std::move(model)),
      ctx_(model_->context()),
      cfg_(cfg),
      cmd_(ctx_),
      ahead_cmd_(ctx_),
      attention_(model_->hparams().heads * model_->hparams().head_dim,
                 model_->hparams().kv_heads * model_->hparams().head_dim) {
  if (cfg_.max_streams == 0 || cfg_.step_tokens == 0)
    throw InvalidArgument("a scheduler needs at least one stream and one prompt token per step");
  model::ForwardConfig fc{cfg_.max_streams + cfg_.step_tokens, cfg_.check_finite, cfg_.fused_decode,
                          cfg_.coop_prefill, cfg_.matvec_rows};
  const uint64_t act = model::forward_activation_bytes(ctx_, model_->hparams(), fc.rows);
  const uint64_t cap = ctx_.memory_limit() ? ctx_.memory_limit() : ctx_.info().device_local_bytes;
  if (cap && ctx_.allocated_bytes() + act > cap)
    throw OutOfDeviceMemory("the scheduler's activations for " + std::to_string(fc.rows) + " rows need " +
                            model::mib(act) + " beside the weights, more than the device has left: try fewer --streams");
  decode_ms_.assign(cfg_.max_streams + 1, 0.0);
  const uint64_t before = ctx_.allocated_bytes();
  fwd_ = std::make_unique<model::Forward>(*model_, fc);
  if (cfg_.batch_decode) {
    const StreamConfig shape = cache_config(model_->hparams(), {}, cfg_.step_tokens);
    const kv::LayerSplit split = model::make_layer_split(model_->hparams());
    batch_ = kv::BatchDecode::make(ctx_, kv::StreamCache::full_config(shape, split), cfg_.max_streams);
    if (const auto ring = kv::StreamCache::ring_config(shape, split))
      ring_batch_ = kv::BatchDecode::make(ctx_, *ring, cfg_.max_streams);
    for (auto* b : {batch_.get(), ring_batch_.get()})
      if (b) b->bind(fwd_->step_buffers());
    attention_.use_batch(batch_.get(), ring_batch_.get());
  }
  if (vk::env("SINKSTREAM_RECORD_AHEAD") == "0") cfg_.record_ahead = false;
  if (const std::string f = vk::env("SINKSTREAM_INGEST_LATENCY"); !f.empty()) {
    char* end = nullptr;
    cfg_.ingest_latency = std::strtod(f.c_str(), &end);
    if (end == f.c_str() || *end || !(cfg_.ingest_latency >= 0))
      throw InvalidArgument("SINKSTREAM_INGEST_LATENCY='" + f + "': expected a factor >= 0 (0: off), like 2");
  }
  if (cfg_.gpu_sampling && vk::env("SINKSTREAM_GPU_SAMPLING") != "0") {
    sampler_ = std::make_unique<model::GpuSampler>(ctx_, model_->hparams().vocab, fc.rows);
    sampler_->bind(fwd_->logits_buffer(), fwd_->history_buffer());
  }
  // What the step's buffers took (activations, the NaN guard's, the batched
  // attention's): the scheduler's share of device memory beside weights and streams.
  const uint64_t step_bytes = ctx_.allocated_bytes() - before;
  counters_.weight_bytes = model_->device_bytes();
  counters_.activation_bytes = step_bytes;
}

Scheduler::~Scheduler() {
  try {
    cmd_.wait();
  } catch (...) {
  }
}

uint64_t Scheduler::stream_bytes(const StreamSettings& s) const {
  return cache_bytes(model_->hparams(), cache_config(model_->hparams(), s, cfg_.step_tokens));
}

uint64_t Scheduler::free_device_bytes() const {
  const uint64_t cap = ctx_.memory_limit() ? ctx_.memory_limit() : ctx_.info().device_local_bytes;
  if (cap == 0) return ~uint64_t{0};  // the device reports no size: let allocation decide
  const uint64_t used = ctx_.allocated_bytes();
  return cap > used ? cap - used : 0;
}

uint32_t Scheduler::streams_that_fit(const StreamSettings& s) const {
  const uint64_t per = stream_bytes(s);
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t room = cfg_.max_streams > streams_.size() ? cfg_.max_streams - streams_.size() : 0;
  return static_cast<uint32_t>(std::min<uint64_t>(room, free_device_bytes() / std::max<uint64_t>(per, 1)));
}

StreamId Scheduler::create(const StreamSettings& s) {
  const StreamConfig cc = cache_config(model_->hparams(), s, cfg_.step_tokens);
  validate(cc);
  std::lock_guard<std::mutex> lock(mutex_);
  if (streams_.size() >= cfg_.max_streams)
    throw StreamLimitReached("the scheduler already serves " + std::to_string(streams_.size()) +
                          " streams, its limit (max_streams, --streams)");
  const uint64_t need = cache_bytes(model_->hparams(), cc), have = free_device_bytes();
  if (need > have) {
    const uint32_t lo = largest_window(model_->hparams(), cc, have);
    throw OutOfDeviceMemory(
        "a stream of " + std::to_string(cc.sinks) + " sinks + " + std::to_string(cc.window) +
        " window slots (" + kv_type_name(cc.kv_type) + " KV) needs " + model::mib(need) + " but " +
        model::mib(have) + " of device memory is free (weights " +
        model::mib(model_->weight_bytes()) + ", " + std::to_string(streams_.size()) +
        " live streams): no more stream of this size fits; " +
        (lo > 0 ? "a window of at most " + std::to_string(lo) + " slots would"
                : "free a stream first") +
        (cc.kv_type == KvType::f32   ? ", and f16 KV halves the cache"
         : cc.kv_type == KvType::f16 ? ", and q8_0 KV about halves it"
                                     : ""));
  }
  auto st = std::make_unique<Stream>();
  st->id = next_id_++;
  st->settings = s;
  st->cache = std::make_unique<kv::StreamCache>(ctx_, cc, model::make_layer_split(model_->hparams()), s.start_position);
  st->cache->use_coop_prefill(fwd_->coop_prefill());
  st->cache->bind(fwd_->step_buffers());
  const StreamId id = st->id;
  streams_.emplace(id, std::move(st));
  counters_.live_streams = static_cast<uint32_t>(streams_.size());
  return id;
}

Scheduler::Stream& Scheduler::find(StreamId id) const {
  const auto it = streams_.find(id);
  if (it == streams_.end() || it->second->destroyed)
    throw InvalidArgument("no stream " + std::to_string(id) + " (never created, or destroyed)");
  return *it->second;
}

void Scheduler::submit(StreamId id, Request r) {
  if (r.prompt.empty())
    throw InvalidArgument("a request needs at least one prompt token (to continue after a request, "
                          "the previous request's last generated token)");
  for (int32_t t : r.prompt)
    if (t < 0 || static_cast<uint32_t>(t) >= hparams().vocab)
      throw InvalidArgument("token id " + std::to_string(t) + " is outside the vocabulary (0.." +
                            std::to_string(hparams().vocab - 1) + ")");
  const bool sample_on_host = !model::plain_greedy(r.sampler);
  if (sample_on_host) model::validate(r.sampler);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Stream& s = find(id);
    if (s.broken) throw InvalidArgument("stream " + std::to_string(id) + " failed in an earlier step; destroy it");
    if (s.busy) throw InvalidArgument("stream " + std::to_string(id) + " is still running a request");
    s.busy = true;
    s.cancel = false;
    ++s.serial;
    s.prompt_fed = 0;
    s.next = -1;
    s.generated = 0;
    s.sampler.reset();
    if (sample_on_host) s.sampler.emplace(r.sampler);
    s.req = std::move(r);
  }
  work_.notify_all();
}

void Scheduler::cancel(StreamId id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Stream& s = find(id);
  if (s.busy) s.cancel = true;
}

void Scheduler::destroy(StreamId id) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Stream& s = find(id);
    s.destroyed = true;
    if (s.busy) s.cancel = true;
    // Idle and in no step: free it now, so that its memory counts as free at once.
    if (!s.busy && !in_step_) free_destroyed();
  }
  work_.notify_all();
}

void Scheduler::assume_appended(StreamId id, uint64_t tokens) {
  std::lock_guard<std::mutex> lock(mutex_);
  Stream& s = find(id);
  if (s.busy) throw InvalidArgument("assume_appended() on a stream that is running a request");
  s.cache->assume_appended(tokens);
}

StreamInfo Scheduler::info(StreamId id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const Stream& s = find(id);
  const kv::RingState& r = s.cache->state();
  StreamInfo i;
  i.settings = s.settings;
  i.capacity = r.sinks + r.window;
  i.slots_used = r.slots_used();
  i.tokens = r.appended;
  i.evicted = r.evicted();
  i.generated = s.generated_total;
  i.device_bytes = s.cache->device_bytes();
  i.busy = s.busy;
  return i;
}

SchedulerCounters Scheduler::counters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  SchedulerCounters c = counters_;
  for (const auto& [id, s] : streams_) c.evicted += s->cache->state().evicted();  // live ones
  c.device_bytes = ctx_.allocated_bytes();
  return c;
}

void Scheduler::wait_for_work(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  work_.wait_for(lock, timeout, [&] {
    for (const auto& [id, s] : streams_)
      if (s->busy || s->destroyed) return true;
    return false;
  });
}

}  // namespace sinkstream::sched
