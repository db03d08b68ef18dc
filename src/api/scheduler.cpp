#include "sinkstream/scheduler.hpp"

#include "api/model_impl.hpp"
#include "sched/scheduler.hpp"

namespace sinkstream {
namespace {

sched::StreamSettings settings_in(const StreamSettings& s) { return {s.sinks, s.window, s.kv_type, 0}; }

StopReason reason_out(sched::FinishReason r) {
  switch (r) {
    case sched::FinishReason::length: return StopReason::max_tokens;
    case sched::FinishReason::stop_token: return StopReason::end_of_generation;
    case sched::FinishReason::callback: return StopReason::callback;
    case sched::FinishReason::cancelled: return StopReason::cancelled;
    case sched::FinishReason::error: return StopReason::error;
  }
  return StopReason::error;
}

}  // namespace

struct Scheduler::Impl {
  Model model;  // declared first: the scheduler runs on its device
  uint32_t chunk;
  bool check_finite;
  std::unique_ptr<sched::Scheduler> sched;
};

Scheduler::Scheduler(const Model& m, const SchedulerOptions& o)
    : impl_(std::make_unique<Impl>(Impl{m, o.step_tokens, o.check_finite, nullptr})) {
  sched::SchedulerConfig c;
  c.max_streams = o.max_streams;
  c.step_tokens = o.step_tokens;
  c.check_finite = o.check_finite;
  c.ingest_latency = o.ingest_latency;
  impl_->sched = std::make_unique<sched::Scheduler>(m.impl()->weights(), c);
}

Scheduler::~Scheduler() = default;

uint64_t Scheduler::stream_bytes(const StreamSettings& s) const { return impl_->sched->stream_bytes(settings_in(s)); }
uint32_t Scheduler::streams_that_fit(const StreamSettings& s) const {
  return impl_->sched->streams_that_fit(settings_in(s));
}
StreamId Scheduler::create_stream(const StreamSettings& s) { return impl_->sched->create(settings_in(s)); }

void Scheduler::submit(StreamId id, Request r) {
  sched::Request q;
  q.prompt = std::move(r.prompt);
  q.max_tokens = r.max_tokens;
  q.sampler = detail::sampler_config(r.sampler);
  q.stop_tokens = std::move(r.stop_tokens);
  q.on_token = std::move(r.on_token);
  if (r.on_finish)
    q.on_finish = [f = std::move(r.on_finish)](const sched::Finish& x) {
      f(Finish{reason_out(x.reason), x.generated, x.stop_token, x.error});
    };
  impl_->sched->submit(id, std::move(q));
}

void Scheduler::cancel(StreamId id) { impl_->sched->cancel(id); }
void Scheduler::destroy(StreamId id) { impl_->sched->destroy(id); }

StreamInfo Scheduler::info(StreamId id) const {
  const sched::StreamInfo i = impl_->sched->info(id);
  StreamInfo o;
  o.settings = {i.settings.sinks, i.settings.window, i.settings.kv_type, impl_->chunk, impl_->check_finite};
  o.capacity = i.capacity;
  o.slots_used = i.slots_used;
  o.position = i.tokens;
  o.evicted = i.evicted;
  o.generated = i.generated;
  o.device_bytes = i.device_bytes;
  o.busy = i.busy;
  return o;
}

SchedulerCounters Scheduler::counters() const {
  const sched::SchedulerCounters c = impl_->sched->counters();
  return {c.steps,        c.prompt_tokens,  c.generated_tokens, c.evicted,     c.live_streams,
          c.device_bytes, c.weight_bytes,   c.activation_bytes, c.last_step_ms};
}

const Model& Scheduler::model() const { return impl_->model; }
bool Scheduler::step() { return impl_->sched->step(); }
void Scheduler::run() { impl_->sched->run(); }
void Scheduler::wait_for_work(std::chrono::milliseconds timeout) { impl_->sched->wait_for_work(timeout); }

void Scheduler::run_until(const std::atomic<bool>& stop, std::chrono::milliseconds poll) {
  while (!stop.load()) {
    if (!impl_->sched->step()) impl_->sched->wait_for_work(poll);
  }
}

}  // namespace sinkstream
