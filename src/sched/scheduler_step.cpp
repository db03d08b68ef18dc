// One scheduler step: plan the rows from the streams' work, record and run
// them, then hand out the picked tokens. The lock is held while planning,
// recording and reading the results, never while the GPU runs or a callback.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <string>

#include "sched/scheduler.hpp"
#include "sched/scheduler_stream.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::sched {

using Events = std::vector<std::function<void()>>;

void Scheduler::end_request(Stream& s, Finish f, Events& events) {
  s.busy = false;
  s.cancel = false;
  s.cancel_reason = FinishReason::cancelled;
  s.next = -1;
  f.generated = s.generated;
  if (s.req.on_finish) events.push_back([cb = s.req.on_finish, f] { cb(f); });
}

void Scheduler::free_destroyed() {
  for (auto it = streams_.begin(); it != streams_.end();) {
    if (it->second->destroyed) {
      counters_.evicted += it->second->cache->state().evicted();
      it = streams_.erase(it);
    } else {
      ++it;
    }
  }
  counters_.live_streams = static_cast<uint32_t>(streams_.size());
}

// Ends cancelled requests, then picks the rows: every generating stream's next
// token, and one prompt chunk from the next ingesting stream after the last one
// served (round robin by id).
Scheduler::Plan Scheduler::plan_step(Events& events) {
  for (auto& [id, s] : streams_)
    if (s->busy && s->cancel) end_request(*s, {s->cancel_reason}, events);
  free_destroyed();
  Plan p;
  for (auto& [id, s] : streams_)
    if (s->decoding()) p.decode.push_back(s.get());
  Stream* pick = nullptr;
  for (auto& [id, s] : streams_)
    if (s->ingesting() && (!pick || (pick->id <= ingest_cursor_ && id > ingest_cursor_))) pick = s.get();
  if (pick) {
    ingest_cursor_ = pick->id;
    const size_t left = pick->req.prompt.size() - pick->prompt_fed;
    p.chunk_stream = pick;
    p.chunk = static_cast<uint32_t>(std::min<size_t>(left, cfg_.step_tokens));
  }
  return p;
}

void Scheduler::record_step(const Plan& p) {
  int32_t* ids = fwd_->ids();  // (row)
  attention_.reset(p.chunk_stream ? p.chunk_stream->cache.get() : nullptr, p.chunk);
  if (p.chunk) {
    std::memcpy(ids, p.chunk_stream->req.prompt.data() + p.chunk_stream->prompt_fed, p.chunk * 4ull);
    p.chunk_stream->cache->prepare(p.chunk);
  }
  for (size_t i = 0; i < p.decode.size(); ++i) {
    ids[p.chunk + i] = p.decode[i]->next;
    p.decode[i]->cache->prepare(1);
    attention_.add_decode_row(p.decode[i]->cache.get());
  }
  const uint32_t n = p.rows(), l0 = p.logit_row0();
  fwd_->begin(cmd_);
  fwd_->record(n, l0, attention_);
  // Greedy picks on the GPU: history slot = logits row.
  if (p.chunk_picks() && !p.chunk_stream->sampler) fwd_->record_argmax(0, 0, 0);
  for (size_t i = 0; i < p.decode.size(); ++i)
    if (!p.decode[i]->sampler) {
      const auto row = static_cast<uint32_t>(p.chunk + i);
      fwd_->record_argmax(row - l0, row, row - l0);
    }
  fwd_->finish(n - l0);
}

// A picked token: a stop token ends the request; any other is handed out and
// fed on the next step unless the request has its tokens.
void Scheduler::deliver(Stream& s, int32_t token, Events& events) {
  const auto& stops = s.req.stop_tokens;
  if (std::find(stops.begin(), stops.end(), token) != stops.end()) {
    Finish f{FinishReason::stop_token};
    f.stop_token = token;
    return end_request(s, f, events);
  }
  ++s.generated;
  ++s.generated_total;
  ++counters_.generated_tokens;
  if (s.sampler) s.sampler->accept(token);
  if (s.req.on_token)
    events.push_back([this, cb = s.req.on_token, token, id = s.id, serial = s.serial] {
      if (cb(token)) return;
      std::lock_guard<std::mutex> lock(mutex_);
      const auto it = streams_.find(id);
      if (it == streams_.end() || it->second->serial != serial || !it->second->busy) return;
      it->second->cancel = true;
      it->second->cancel_reason = FinishReason::callback;
    });
  if (s.generated >= s.req.max_tokens) return end_request(s, {FinishReason::length}, events);
  s.next = token;
}

void Scheduler::finish_step(const Plan& p, Events& events) {
  const uint32_t l0 = p.logit_row0();
  const auto pick = [&](Stream& s, uint32_t row) {
    const uint32_t at = row - l0;  // logits row
    if (!s.sampler) return fwd_->history()[at];
    return s.sampler->sample({fwd_->logits() + uint64_t{at} * hparams().vocab, hparams().vocab});
  };
  if (Stream* s = p.chunk_stream) {
    const bool picks = p.chunk_picks();
    if (s->sampler)
      for (uint32_t i = 0; i < p.chunk; ++i) s->sampler->accept(s->req.prompt[s->prompt_fed + i]);
    s->cache->advance(p.chunk);
    s->prompt_fed += p.chunk;
    counters_.prompt_tokens += p.chunk;
    if (picks)
      deliver(*s, pick(*s, p.chunk - 1), events);
    else if (s->prompt_fed == s->req.prompt.size())
      end_request(*s, {FinishReason::length}, events);  // ingest only
  }
  for (size_t i = 0; i < p.decode.size(); ++i) {
    Stream& s = *p.decode[i];
    s.cache->advance(1);
    s.next = -1;
    if (s.busy) deliver(s, pick(s, p.chunk + static_cast<uint32_t>(i)), events);
  }
}

bool Scheduler::step() {
  const auto t0 = std::chrono::steady_clock::now();
  Events events;
  Plan plan;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    plan = plan_step(events);
    if (plan.rows()) {
      record_step(plan);
      cmd_.submit();
      in_step_ = true;
    }
  }
  const bool ran = plan.rows() > 0;
  std::exception_ptr failure;
  if (ran) {
    try {
      cmd_.wait();
      fwd_->after_step(plan.chunk_stream ? plan.chunk_stream->cache->state().appended : 0, plan.rows());
    } catch (...) {
      failure = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    in_step_ = false;
    if (failure) {
      std::string what = "the step failed";
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        what = e.what();
      }
      std::vector<Stream*> all = plan.decode;
      if (plan.chunk_stream) all.push_back(plan.chunk_stream);
      for (Stream* s : all) {
        s->broken = true;
        Finish f{FinishReason::error};
        f.error = what;
        if (s->busy) end_request(*s, f, events);
      }
    } else {
      finish_step(plan, events);
      ++counters_.steps;
      counters_.last_step_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
  }
  for (auto& e : events) e();
  if (failure) std::rethrow_exception(failure);
  return ran || !events.empty();
}

void Scheduler::run() {
  while (step()) {
  }
}

}  // namespace sinkstream::sched
