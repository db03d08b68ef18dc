// What scheduler.cpp and scheduler_step.cpp share: a stream's state and the
// plan of one step.
#pragma once
#include <memory>
#include <optional>
#include <vector>

#include "kv/stream_cache.hpp"
#include "sched/scheduler.hpp"

namespace sinkstream::sched {

struct Scheduler::Stream {
  StreamId id = 0;
  StreamSettings settings;
  std::unique_ptr<kv::StreamCache> cache;
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

// What one step runs: one row per generating stream (rows [0, decode)), then
// prompt chunks. logit_rows lists the rows whose logits are read, in the order
// of logits() rows: every decode row, then the last row of each chunk that
// completes its prompt and generates.
struct Scheduler::Plan {
  struct Chunk {
    Stream* stream;
    uint32_t row0, n;
    int32_t logit = -1;  // its logits() row, or -1
  };
  std::vector<Stream*> decode;
  std::vector<Chunk> chunks;
  std::vector<uint32_t> logit_rows;
  uint32_t rows = 0;
  // By logits row, for sampled streams: picked by the GPU sampler, with draw.
  std::vector<uint8_t> on_gpu;
  std::vector<double> draws;
};

}  // namespace sinkstream::sched
