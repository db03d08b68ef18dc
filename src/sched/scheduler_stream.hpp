// What scheduler.cpp and scheduler_step.cpp share: a stream's state and the
// plan of one step.
#pragma once
#include <memory>
#include <optional>
#include <vector>

#include "kv/kv_cache.hpp"
#include "sched/scheduler.hpp"

namespace sinkstream::sched {

struct Scheduler::Stream {
  StreamId id = 0;
  StreamSettings settings;
  std::unique_ptr<kv::KvCache> cache;
  bool busy = false;       // a request is running
  bool broken = false;     // a step it was in failed: its cache is unknown
  bool cancel = false;     // end the request before the next step, for cancel_reason
  FinishReason cancel_reason = FinishReason::cancelled;
  bool destroyed = false;  // free before the next step
  uint64_t serial = 0;     // requests submitted so far (tells a stale callback verdict)
  Request req;
  size_t prompt_fed = 0;    // tokens of req.prompt in the cache
  int32_t next = -1;        // generated token the next step feeds (-1: none)
  uint32_t generated = 0;   // this request
  uint64_t generated_total = 0;
  std::optional<model::Sampler> sampler;  // host sampling; none for plain greedy

  bool ingesting() const { return busy && prompt_fed < req.prompt.size(); }
  bool decoding() const { return busy && next >= 0; }
};

// What one step runs: a prompt chunk of one stream (rows [0, chunk)), then one
// row per generating stream.
struct Scheduler::Plan {
  Stream* chunk_stream = nullptr;
  uint32_t chunk = 0;
  std::vector<Stream*> decode;
  uint32_t rows() const { return chunk + static_cast<uint32_t>(decode.size()); }
  uint32_t logit_row0() const { return chunk ? chunk - 1 : 0; }
  bool chunk_picks() const {
    return chunk_stream && chunk_stream->prompt_fed + chunk == chunk_stream->req.prompt.size() &&
           chunk_stream->req.max_tokens > 0;
  }
};

}  // namespace sinkstream::sched
