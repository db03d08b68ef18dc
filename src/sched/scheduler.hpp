// Many endless streams on one copy of the weights. Each stream has its own
// sinks + window cache (fixed size: its memory is known when it is created and
// never grows), position counter, sampler and stop conditions; the scheduler
// builds every GPU step from the work of all live streams:
//   - the next token of every generating stream is one row of the step, so the
//     weights are read once for all of them;
//   - prompt ingestion is cut into chunks of at most `step_tokens` tokens, one
//     chunk per step beside the decode rows, taken round-robin from the streams
//     that are ingesting, so a long prompt delays running streams by one chunk
//     per step at most;
//   - tokens are picked on the GPU: greedy ones by argmax, sampled ones by the
//     GPU sampler (each stream's settings, history and seeded draws; a row
//     whose nucleus outgrows it is sampled on the host with the same draw);
//   - while a step runs, the next one is recorded when it can be foreseen (the
//     same streams go on decoding): its command buffer depends on the rings'
//     state, not on the tokens, so once the step ends only its inputs (ids,
//     RoPE rows, attention rows, sampling rows) are written before it is submitted.
// A stream's tokens are those of the single-stream Engine (same kernels per
// row, attention splits chosen from the stream's own cache alone).
//
// Thread safety: create(), submit(), cancel(), destroy(), info() and counters()
// may be called from any thread at any time. step() and run() are called by
// one thread at a time (the driver); the callbacks of a request run on that
// thread, with no lock held, so they may call any of the functions above.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/forward.hpp"
#include "engine/gpu_model.hpp"
#include "sample/gpu_sampler.hpp"
#include "sample/sampler.hpp"
#include "sched/step_attention.hpp"

namespace sinkstream::sched {

using StreamId = uint64_t;

struct SchedulerConfig {
  uint32_t max_streams = 64;  // most live streams (and decode rows per step)
  uint32_t step_tokens = 64;  // most prompt tokens ingested per step (one chunk)
  bool check_finite = false;  // the NaN/Inf guard (also SINKSTREAM_CHECK_FINITE=1)
  bool fused_decode = true;   // a step of one row through the fused matvec kernels
  bool coop_prefill = true;   // several rows on cooperative matrices where the device has them
  // Decode rows' attention in one dispatch per layer for all streams, where the
  // device has buffer addresses (false, or SINKSTREAM_BATCH_DECODE=0: one per stream).
  bool batch_decode = true;
  // Sampled streams picked on the GPU (sample_rows.comp), all rows in one
  // dispatch (false, or SINKSTREAM_GPU_SAMPLING=0: on the host from their logits).
  bool gpu_sampling = true;
  // Steps of up to this many rows run the fused matvec kernels (weights in
  // registers, dotted with each row), more the matrix-product kernels of prompt
  // chunks; one-row steps always the former. SINKSTREAM_MATVEC_ROWS overrides.
  // 1 until measured on a GPU: on lavapipe 8 streams stepped 2.2x slower with 8.
  uint32_t matvec_rows = 1;
  // Record the next step while one runs, where it can be foreseen (false, or
  // SINKSTREAM_RECORD_AHEAD=0: each step is recorded when it runs).
  bool record_ahead = true;
  // While streams decode, a step's prompt chunk is cut so that the step takes
  // about this many times a step of the decode rows alone, from the measured
  // times of both (chunk_budget.hpp). 0: every chunk takes step_tokens, as a
  // stream alone would (its tokens then do not depend on timing).
  // SINKSTREAM_INGEST_LATENCY=F overrides.
  double ingest_latency = 0;
};

struct StreamSettings {
  uint32_t sinks = 4;
  uint32_t window = 0;  // 0: the model's training context minus the sinks
  KvType kv_type = KvType::f16;
  uint64_t start_position = 0;  // stream index of the first token (tests: streams at 10^9)
};

enum class FinishReason { length, stop_token, callback, cancelled, error };
const char* finish_reason_name(FinishReason r);

struct Finish {
  FinishReason reason = FinishReason::length;
  uint32_t generated = 0;  // tokens handed to on_token
  int32_t stop_token = -1; // the stop token that ended it (not fed, not handed to on_token)
  std::string error;       // FinishReason::error: what went wrong (the stream is then unusable)
};

// One piece of work for a stream: feed `prompt`, then generate up to
// max_tokens tokens. A generated token is fed to the stream on the next step,
// so when a request ends its last token is not yet in the cache: a later
// request that continues the text starts its prompt with it.
struct Request {
  std::vector<int32_t> prompt;
  uint32_t max_tokens = 0;          // 0: ingest only
  model::SamplerConfig sampler{0.0f, 0, 1.0f, 0.0f, 1.0f, 64, 0};  // greedy by default
  std::vector<int32_t> stop_tokens; // end the request (e.g. EOS); never handed to on_token
  std::function<bool(int32_t token)> on_token;  // false: stop after this token
  std::function<void(const Finish&)> on_finish;
};

struct StreamInfo {
  StreamSettings settings;
  uint32_t capacity = 0;       // sinks + window slots
  uint32_t slots_used = 0;
  uint64_t tokens = 0;         // fed since the stream started
  uint64_t evicted = 0;        // left the window
  uint64_t generated = 0;      // over all requests
  uint64_t device_bytes = 0;   // this stream's cache and state
  bool busy = false;           // a request is running
};

struct SchedulerCounters {
  uint64_t steps = 0;
  uint64_t prompt_tokens = 0, generated_tokens = 0;
  uint64_t evicted = 0;             // over all streams, live or freed
  uint64_t sampled_on_gpu = 0;      // picks of sampled streams by the GPU sampler
  uint64_t sampled_on_host = 0;     // and by the host (settings or a nucleus it does not take)
  uint64_t steps_recorded_ahead = 0;  // steps submitted as recorded while the previous one ran
  uint64_t prompt_chunks = 0;       // prompt chunks ingested (prompt_tokens / prompt_chunks: their mean size)
  uint32_t live_streams = 0;
  uint64_t device_bytes = 0;        // everything the device context holds
  uint64_t weight_bytes = 0;      // the weights on the device
  uint64_t activation_bytes = 0;  // the step's buffers: activations and attention scratch
  double last_step_ms = 0;          // host wall time of the last step
};

class Scheduler {
 public:
  Scheduler(std::shared_ptr<const model::GpuModel> model, const SchedulerConfig& cfg);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Device bytes a stream of these settings takes (its cache and state).
  uint64_t stream_bytes(const StreamSettings& s) const;
  // How many more streams of these settings fit now (device memory and max_streams).
  uint32_t streams_that_fit(const StreamSettings& s) const;
  // Allocates a stream's cache. Throws OutOfDeviceMemory saying how many such
  // streams still fit and what would make it fit, or InvalidArgument.
  StreamId create(const StreamSettings& s);
  // Queues a request; the stream must be idle (InvalidArgument otherwise).
  void submit(StreamId id, Request r);
  // Ends the stream's request before its next step (FinishReason::cancelled).
  void cancel(StreamId id);
  // Cancels, then frees the stream before the next step; its id is gone.
  void destroy(StreamId id);
  StreamInfo info(StreamId id) const;
  // Benchmarks only: the stream's cache counts `tokens` tokens as appended,
  // whatever its slots hold, so a full ring can be timed without filling it.
  void assume_appended(StreamId id, uint64_t tokens);
  SchedulerCounters counters() const;
  const model::HParams& hparams() const { return model_->hparams(); }

  // Profiling: GPU time per op of the steps from now on (see Engine::op_profile).
  void enable_op_profile() { fwd_->enable_op_profile(); }
  std::vector<std::pair<std::string, double>> op_profile() const { return fwd_->op_profile(); }
  uint64_t op_profile_steps() const { return fwd_->op_profile_chunks(); }
  void reset_op_profile() { fwd_->reset_op_profile(); }

  // One GPU step over the work of all streams; false when there was none.
  bool step();
  // Steps until no stream has work.
  void run();
  // Blocks until some stream has work or `timeout` passes (for a driver thread).
  void wait_for_work(std::chrono::milliseconds timeout);

 private:
  struct Stream;
  struct Plan;
  Stream& find(StreamId id) const;
  void free_destroyed();
  uint64_t free_device_bytes() const;  // what the device (or the memory limit) has left
  Plan plan_step(std::vector<std::function<void()>>& events);
  // ahead: recorded while the previous step runs, which reads the step's input
  // buffers, so they are left to write_step_inputs().
  void record_step(Plan& plan, vk::CommandBuffer& cmd, bool ahead);
  void write_step_inputs(Plan& plan);
  void write_decode_inputs(const Plan& plan);
  void add_sampled_row(Stream& s, Plan& plan, uint32_t logit_row);
  bool sampled_on_gpu(const Stream& s) const;
  void record_ahead(const Plan& submitted);
  bool ahead_matches(const Plan& plan) const;
  void note_step_time(const Plan& plan, double ms);
  void finish_step(const Plan& plan, std::vector<std::function<void()>>& events);
  void deliver(Stream& s, int32_t token, std::vector<std::function<void()>>& events);
  void end_request(Stream& s, Finish f, std::vector<std::function<void()>>& events);

  std::shared_ptr<const model::GpuModel> model_;
  vk::Context& ctx_;
  SchedulerConfig cfg_;
  std::unique_ptr<model::Forward> fwd_;
  vk::CommandBuffer cmd_;        // the step in flight (or the last one)
  vk::CommandBuffer ahead_cmd_;  // the next step, when ahead_rows_ is not empty
  struct AheadRow {
    StreamId stream;
    uint64_t appended;  // its cache's tokens when recorded
    bool on_gpu;        // picked by the GPU sampler
  };
  std::vector<AheadRow> ahead_rows_;  // (row) of the step recorded in ahead_cmd_; empty: none
  StepAttention attention_;
  std::unique_ptr<kv::BatchDecode> batch_;       // null: each stream's decode step on its own
  std::unique_ptr<kv::BatchDecode> ring_batch_;  // the sliding-window layers' (gemma3)
  std::unique_ptr<model::GpuSampler> sampler_;  // null: sampled streams sampled on the host
  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable work_;
  std::map<StreamId, std::unique_ptr<Stream>> streams_;
  StreamId next_id_ = 1;
  StreamId ingest_cursor_ = 0;  // round-robin: the stream after this one ingests next
  SchedulerCounters counters_;
  bool in_step_ = false;  // a submitted step references the streams' caches
  // For ingest_latency: a step of n decode rows alone (decode_ms_[n]), and what
  // a chunk token adds to one (moving averages of the submissions' wall times, 0: none yet).
  std::vector<double> decode_ms_;  // (decode rows)
  double token_ms_ = 0;
};

}  // namespace sinkstream::sched
