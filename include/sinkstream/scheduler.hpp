// Many endless streams on one copy of a Model's weights. Each stream has its
// own sinks + window cache (fixed size: its memory is known when it is created
// and never grows), position, sampler and stop conditions; every GPU step
// carries the next token of all generating streams (the weights are read once
// for all of them) plus a chunk of at most `step_tokens` prompt tokens, taken
// round-robin from the streams that are ingesting, so a long prompt delays the
// running streams by one chunk per step at most. A stream's tokens are those a
// Stream (session.hpp) of the same settings would produce.
//
// Thread safety: create_stream(), submit(), cancel(), destroy(), info(),
// counters(), stream_bytes() and streams_that_fit() may be called from any
// thread at any time. step(), run() and run_until() are called by one thread at
// a time (the driver); a request's callbacks run on that thread with no lock
// held, so they may call any of the functions above (a callback may submit the
// next request of its stream from on_finish).
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sinkstream/export.hpp"
#include "sinkstream/model.hpp"
#include "sinkstream/sampler.hpp"
#include "sinkstream/session.hpp"

namespace sinkstream {

using StreamId = uint64_t;

struct SchedulerOptions {
  uint32_t max_streams = 64;  // most live streams (and decode rows per step)
  uint32_t step_tokens = 64;  // most prompt tokens ingested per step
  bool check_finite = false;  // the NaN/Inf guard (also SINKSTREAM_CHECK_FINITE=1)
  // While streams generate, cut a step's prompt chunk so that the step takes
  // about this many times a step without it (measured as it runs): a long
  // prompt then slows generating streams by this factor at most, and its own
  // first token comes later. 0: every chunk takes step_tokens, and a stream's
  // tokens do not depend on what runs beside it or on timing.
  double ingest_latency = 0;
};

struct Finish {
  StopReason reason = StopReason::max_tokens;  // max_tokens, end_of_generation (a stop token), callback, cancelled, error
  uint32_t generated = 0;   // tokens handed to on_token
  int32_t stop_token = -1;  // the stop token that ended it (not fed, not handed to on_token)
  std::string error;        // StopReason::error: what went wrong (the stream is then unusable)
};

// One piece of work for a stream: feed `prompt`, then generate up to
// max_tokens tokens. A generated token is fed on the next step, so when a
// request ends its last token is not yet in the cache: a request that
// continues the text starts its prompt with it.
struct Request {
  std::vector<int32_t> prompt;
  uint32_t max_tokens = 0;                            // 0: ingest only
  SamplerParams sampler = SamplerParams::greedy();
  std::vector<int32_t> stop_tokens;                   // end the request (e.g. EOS); never handed to on_token
  std::function<bool(int32_t token)> on_token;        // false: stop after this token
  std::function<void(const Finish&)> on_finish;       // exactly once per submitted request
};

struct StreamInfo {
  StreamSettings settings;
  uint32_t capacity = 0;      // sinks + window slots
  uint32_t slots_used = 0;
  uint64_t position = 0;      // tokens fed since the stream started: the next token's position
  uint64_t evicted = 0;       // tokens that have left the window
  uint64_t generated = 0;     // over all requests
  uint64_t device_bytes = 0;  // this stream's cache and state
  bool busy = false;          // a request is running
};

struct SchedulerCounters {
  uint64_t steps = 0;
  uint64_t prompt_tokens = 0, generated_tokens = 0;
  uint64_t evicted = 0;  // over all streams, live or freed
  uint32_t live_streams = 0;
  uint64_t device_bytes = 0;      // everything the device context holds
  uint64_t weight_bytes = 0;      // the weights on the device
  uint64_t activation_bytes = 0;  // the step's buffers
  double last_step_ms = 0;        // host wall time of the last step
};

class SINKSTREAM_API Scheduler {
 public:
  // Uploads the model's weights if no stream did yet. StreamSettings::chunk
  // and check_finite of the streams are the scheduler's (step_tokens, check_finite).
  Scheduler(const Model& model, const SchedulerOptions& options = {});
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Device bytes a stream of these settings takes (its cache and state).
  uint64_t stream_bytes(const StreamSettings& s) const;
  // How many more streams of these settings fit now (device memory and max_streams).
  uint32_t streams_that_fit(const StreamSettings& s) const;
  // Allocates a stream's cache. Throws OutOfDeviceMemory saying how many such
  // streams still fit and what would make it fit, StreamLimitReached when
  // max_streams streams live (a destroyed one frees its place before the next
  // step), or InvalidArgument for bad settings.
  StreamId create_stream(const StreamSettings& s = {});
  // Queues a request; the stream must be idle (InvalidArgument otherwise).
  // Throws InvalidArgument for an unknown id or token ids out of range.
  void submit(StreamId id, Request r);
  // Ends the stream's request before its next step (StopReason::cancelled).
  void cancel(StreamId id);
  // Cancels, then frees the stream before the next step; its id is gone.
  void destroy(StreamId id);
  StreamInfo info(StreamId id) const;
  SchedulerCounters counters() const;
  const Model& model() const;

  // One GPU step over the work of all streams; false when there was none.
  bool step();
  // Steps until no stream has work.
  void run();
  // A driver thread's loop: steps while there is work, waits for work
  // otherwise, until `stop` turns true (checked at least every `poll`).
  void run_until(const std::atomic<bool>& stop, std::chrono::milliseconds poll = std::chrono::milliseconds(50));
  // Blocks until some stream has work or `timeout` passes.
  void wait_for_work(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sinkstream
