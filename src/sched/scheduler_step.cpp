// One scheduler step: plan the rows from the streams' work, record and run
// them, then hand out the picked tokens. The lock is held while planning,
// recording and reading the results, never while the GPU runs or a callback.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <span>
#include <string>

#include "sched/chunk_budget.hpp"
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
// token, then prompt chunks of up to step_tokens tokens in all, taken round
// robin (by id) from the stream after the last one served.
Scheduler::Plan Scheduler::plan_step(Events& events) {
  for (auto& [id, s] : streams_)
    if (s->busy && s->cancel) end_request(*s, {s->cancel_reason}, events);
  free_destroyed();
  Plan p;
  for (auto& [id, s] : streams_)
    if (s->decoding()) {
      p.logit_rows.push_back(p.rows++);
      p.decode.push_back(s.get());
    }
  std::vector<Stream*> order;  // ingesting streams, the one after the cursor first
  for (auto& [id, s] : streams_)
    if (s->ingesting() && id > ingest_cursor_) order.push_back(s.get());
  for (auto& [id, s] : streams_)
    if (s->ingesting() && id <= ingest_cursor_) order.push_back(s.get());
  uint32_t budget = p.decode.empty() ? cfg_.step_tokens
                                     : chunk_budget(decode_ms_[p.decode.size()], token_ms_,
                                                    cfg_.ingest_latency, cfg_.step_tokens);
  for (Stream* s : order) {
    if (budget == 0) break;
    const size_t left = s->req.prompt.size() - s->prompt_fed;
    Plan::Chunk c{s, p.rows, static_cast<uint32_t>(std::min<size_t>(left, budget))};
    if (c.n == left && s->req.max_tokens > 0) {
      c.logit = static_cast<int32_t>(p.logit_rows.size());
      p.logit_rows.push_back(c.row0 + c.n - 1);
    }
    p.chunks.push_back(c);
    p.rows += c.n;
    budget -= c.n;
    ingest_cursor_ = s->id;
  }
  return p;
}

bool Scheduler::sampled_on_gpu(const Stream& s) const {
  return s.sampler && sampler_ && model::GpuSampler::takes(s.sampler->config(), s.sampler->recent_counts().size());
}

// A sampled row's draw and settings for the GPU sampler, taken when the step runs.
void Scheduler::add_sampled_row(Stream& s, Plan& p, uint32_t at) {
  const model::SamplerConfig& sc = s.sampler->config();
  p.draws[at] = sc.temperature == 0.0f ? 0.0 : s.sampler->next_uniform();
  sampler_->add(sc, s.sampler->recent_counts(), p.draws[at], at, at);
}

void Scheduler::record_step(Plan& p, vk::CommandBuffer& cmd, bool ahead) {
  int32_t* ids = fwd_->ids();  // (row)
  attention_.reset();
  if (!ahead) write_decode_inputs(p);
  for (const Stream* s : p.decode) attention_.add_decode_row(s->cache.get());
  for (const Plan::Chunk& c : p.chunks) {
    std::memcpy(ids + c.row0, c.stream->req.prompt.data() + c.stream->prompt_fed, c.n * 4ull);
    c.stream->cache->prepare(c.n);
    attention_.add_chunk(c.stream->cache.get(), c.n);
  }
  attention_.prepare_batch(!ahead);
  fwd_->begin(cmd);
  fwd_->record(p.rows, p.logit_rows, attention_);
  // Picks on the GPU, history slot = logits row: argmax for plain greedy, the
  // GPU sampler (one dispatch for all) for the rest where it takes them.
  p.on_gpu.assign(p.logit_rows.size(), 0);
  p.draws.assign(p.logit_rows.size(), 0.0);
  if (sampler_) sampler_->clear();
  const auto pick_on_gpu = [&](Stream& s, uint32_t at, uint32_t id_row) {
    if (!s.sampler) return fwd_->record_argmax(at, id_row, at);
    if (!sampled_on_gpu(s)) return;
    p.on_gpu[at] = 1;
    if (ahead) return sampler_->reserve_row();
    add_sampled_row(s, p, at);
  };
  for (size_t i = 0; i < p.decode.size(); ++i)
    pick_on_gpu(*p.decode[i], static_cast<uint32_t>(i), static_cast<uint32_t>(i));
  for (const Plan::Chunk& c : p.chunks) {
    Stream& s = *c.stream;
    if (s.sampler)  // the chunk's prompt is history for the penalty of its own pick
      for (uint32_t i = 0; i < c.n; ++i) s.sampler->accept(s.req.prompt[s.prompt_fed + i]);
    if (c.logit >= 0) pick_on_gpu(s, static_cast<uint32_t>(c.logit), c.row0);
  }
  if (sampler_) sampler_->record(cmd);
  fwd_->finish(static_cast<uint32_t>(p.logit_rows.size()));
}

// Each decode row's token and its stream's next cache slot: written as the step
// is recorded, or, for a step recorded ahead, once the step before it is done.
void Scheduler::write_decode_inputs(const Plan& p) {
  int32_t* ids = fwd_->ids();  // (row)
  for (size_t i = 0; i < p.decode.size(); ++i) {
    ids[i] = p.decode[i]->next;
    p.decode[i]->cache->prepare(1);
  }
}

// The inputs of a step recorded ahead (a plan of decode rows only), written
// once the step before it, which read the same buffers, has finished.
void Scheduler::write_step_inputs(Plan& p) {
  write_decode_inputs(p);
  attention_.prepare_batch(true);
  p.on_gpu.assign(p.logit_rows.size(), 0);
  p.draws.assign(p.logit_rows.size(), 0.0);
  if (!sampler_) return;
  sampler_->clear();
  for (uint32_t i = 0; i < p.decode.size(); ++i)
    if (ahead_rows_[i].on_gpu) {
      p.on_gpu[i] = 1;
      add_sampled_row(*p.decode[i], p, i);
    }
}

// Called with the step `submitted` in flight and the caches advanced past it:
// records the step that follows if every stream in it goes on decoding (no
// request ends by length, none is cancelled, no prompt waits). A stop token
// picked meanwhile only makes the recording unused (ahead_matches).
void Scheduler::record_ahead(const Plan& submitted) {
  ahead_rows_.clear();
  if (!cfg_.record_ahead || fwd_->timing_or_checks() || !submitted.chunks.empty()) return;
  for (const auto& [id, s] : streams_)
    if (s->ingesting() || s->destroyed) return;
  Plan next;
  for (Stream* s : submitted.decode)
    if (s->busy && !s->cancel && s->generated + 1 < s->req.max_tokens) {
      next.decode.push_back(s);
      next.logit_rows.push_back(next.rows++);
    }
  if (next.decode.empty()) return;
  record_step(next, ahead_cmd_, true);
  for (uint32_t i = 0; i < next.decode.size(); ++i)
    ahead_rows_.push_back({next.decode[i]->id, next.decode[i]->cache->state().appended, next.on_gpu[i] != 0});
}

bool Scheduler::ahead_matches(const Plan& p) const {
  if (ahead_rows_.empty() || !p.chunks.empty() || p.decode.size() != ahead_rows_.size() ||
      fwd_->timing_or_checks())  // turned on since it was recorded
    return false;
  for (size_t i = 0; i < p.decode.size(); ++i) {
    const Stream& s = *p.decode[i];
    const AheadRow& a = ahead_rows_[i];
    if (s.id != a.stream || s.cache->state().appended != a.appended || sampled_on_gpu(s) != a.on_gpu) return false;
  }
  return true;
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
  const auto pick = [&](Stream& s, uint32_t at) {  // from logits() row `at`
    const int32_t picked = fwd_->history()[at];
    if (!s.sampler) return picked;
    if (p.on_gpu[at] && picked >= 0) {
      ++counters_.sampled_on_gpu;
      return picked;
    }
    ++counters_.sampled_on_host;
    const std::span<const float> row{fwd_->logits() + uint64_t{at} * hparams().vocab, hparams().vocab};
    // Left to the host by the GPU sampler (or a non-finite logit, which the host names): the same draw.
    return p.on_gpu[at] ? s.sampler->sample(row, p.draws[at]) : s.sampler->sample(row);
  };
  for (size_t i = 0; i < p.decode.size(); ++i) {
    Stream& s = *p.decode[i];
    s.next = -1;
    if (s.busy) deliver(s, pick(s, static_cast<uint32_t>(i)), events);
  }
  for (const Plan::Chunk& c : p.chunks) {
    Stream& s = *c.stream;
    s.prompt_fed += c.n;
    counters_.prompt_tokens += c.n;
    ++counters_.prompt_chunks;
    if (c.logit >= 0)
      deliver(s, pick(s, static_cast<uint32_t>(c.logit)), events);
    else if (s.prompt_fed == s.req.prompt.size())
      end_request(s, {FinishReason::length}, events);  // ingest only
  }
}

// Moving averages (weight 1/4 to the newest) of a step of n decode rows alone
// and of what each chunk token adds to such a step, for chunk_budget().
void Scheduler::note_step_time(const Plan& p, double ms) {
  if (p.decode.empty() || cfg_.ingest_latency <= 0) return;
  const auto average = [](double& avg, double x) { avg = avg > 0 ? avg + (x - avg) / 4 : x; };
  double& decode_ms = decode_ms_[p.decode.size()];
  if (p.chunks.empty()) return average(decode_ms, ms);
  if (decode_ms <= 0) return;
  uint32_t tokens = 0;
  for (const Plan::Chunk& c : p.chunks) tokens += c.n;
  average(token_ms_, std::max(ms - decode_ms, 1e-3) / tokens);
}

bool Scheduler::step() {
  const auto t0 = std::chrono::steady_clock::now();
  auto submitted = t0;
  Events events;
  Plan plan;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    plan = plan_step(events);
    if (plan.rows) {
      if (ahead_matches(plan)) {
        write_step_inputs(plan);
        std::swap(cmd_, ahead_cmd_);
        ++counters_.steps_recorded_ahead;
      } else {
        record_step(plan, cmd_, false);
      }
      ahead_rows_.clear();
      cmd_.submit();
      submitted = std::chrono::steady_clock::now();
      in_step_ = true;
      // The rings' state moves on now (the tokens do not matter to it), so the
      // next step can be recorded while this one runs.
      for (Stream* s : plan.decode) s->cache->advance(1);
      for (const Plan::Chunk& c : plan.chunks) c.stream->cache->advance(c.n);
      try {
        record_ahead(plan);
      } catch (...) {
        ahead_rows_.clear();  // recorded when it runs, where an error surfaces
      }
    } else {
      ahead_rows_.clear();
    }
  }
  const bool ran = plan.rows > 0;
  std::exception_ptr failure;
  double gpu_ms = 0;  // from the submission to its end
  if (ran) {
    try {
      cmd_.wait();
      gpu_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - submitted).count();
      fwd_->after_step(0, plan.rows);
    } catch (...) {
      failure = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    in_step_ = false;
    if (failure) {
      ahead_rows_.clear();
      std::string what = "the step failed";
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        what = e.what();
      }
      std::vector<Stream*> all = plan.decode;
      for (const Plan::Chunk& c : plan.chunks) all.push_back(c.stream);
      for (Stream* s : all) {
        s->broken = true;
        Finish f{FinishReason::error};
        f.error = what;
        if (s->busy) end_request(*s, f, events);
      }
    } else {
      finish_step(plan, events);
      note_step_time(plan, gpu_ms);
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
