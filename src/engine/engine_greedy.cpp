// Greedy decoding with several steps per submission: each step's argmax runs on
// the GPU and writes the next step's token id, so the host neither waits for nor
// reads the logits in between (the per-token host round trip is most of the
// decode time of small and mid-sized models).
#include <algorithm>
#include <cstring>

#include "engine/engine.hpp"

namespace sinkstream::model {

std::span<const float> Engine::last_logits() const {
  return {fwd_->logits(), hp_.vocab};
}

// Per-step GPU picks need the attention kernel that reads a pre-rotated query
// (its RoPE row is per step), and no per-step host reads (attention probe) or
// per-op timestamps (the profiler's pool holds one step).
bool Engine::greedy_on_gpu() const {
  return gpu_greedy_ && cache_->decode_rotates_query() && !fwd_->profiling() && !probe_first_;
}

// k steps into cmd_, using RoPE table rows and history slots row0..row0+k-1.
// The cache's host-side ring state advances as each step is recorded: the GPU
// runs the steps in order, so step j sees the cache after steps 0..j-1.
void Engine::record_greedy_batch(uint32_t k, uint32_t row0) {
  fwd_->begin(cmd_);
  // The previous batch may still be running: its last pick (ids row 0) and its
  // cache writes must land before this batch reads them.
  cmd_.compute_barrier();
  for (uint32_t j = 0; j < k; ++j) {
    cache_->prepare(1, row0 + j);
    const uint32_t row = 0;
    fwd_->record(1, {&row, 1}, *this, row0 + j);
    fwd_->record_argmax(0, 0, row0 + j);
    cmd_.compute_barrier();
    cache_->advance(1);
  }
  fwd_->finish(1);
}

std::span<const int32_t> Engine::picked(uint32_t k, uint32_t row0) const {
  return {fwd_->history() + row0, k};
}

std::vector<int32_t> Engine::decode_greedy(int32_t first, uint32_t steps) {
  std::vector<int32_t> out;
  out.reserve(steps);
  decode_greedy(first, steps, [&out](std::span<const int32_t> batch) {
    out.insert(out.end(), batch.begin(), batch.end());
    return true;
  });
  return out;
}

void Engine::decode_greedy(int32_t first, uint64_t steps, const GreedyBatchFn& on_batch) {
  int32_t next = first;
  if (!greedy_on_gpu()) {
    for (uint64_t i = 0; i < steps; ++i) {
      const auto l = feed({&next, 1});
      next = static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
      if (!on_batch({&next, 1})) return;
    }
    return;
  }
  check_token_ids({&first, 1});
  next_recorded_ = false;  // cmd_ is recorded anew below
  std::memcpy(fwd_->ids(), &next, 4);
  // Batches overlap: the next one is recorded and queued while the GPU runs the
  // previous one, which needs no host input (the tokens stay on the GPU). The
  // two alternate halves of the RoPE table and the history. The NaN guard and
  // GPU timing keep one status / one timestamp pair, so they run batches one
  // at a time.
  const bool overlap = !fwd_->timing_or_checks() && max_chunk_ >= 2;
  const uint32_t per = overlap ? max_chunk_ / 2 : max_chunk_;
  uint32_t in_flight = 0, in_flight_row = 0;  // steps of the batch in cmd2_
  bool more = true;
  try {
    for (uint64_t done = 0, half = 0; done < steps && more; done += in_flight, half ^= 1) {
      const auto k = static_cast<uint32_t>(std::min<uint64_t>(steps - done, per));
      const uint32_t row0 = overlap ? static_cast<uint32_t>(half) * per : 0;
      const uint64_t start = cache_->state().appended;
      record_greedy_batch(k, row0);
      cmd_.submit();
      if (!overlap) {
        cmd_.wait();
        fwd_->after_step(start, k);
        more = on_batch(picked(k, row0));
        in_flight = k;
        continue;
      }
      cmd2_.wait();
      if (in_flight) more = on_batch(picked(in_flight, in_flight_row));
      std::swap(cmd_, cmd2_);
      in_flight = k;
      in_flight_row = row0;
    }
    if (overlap) {
      cmd2_.wait();
      if (more && in_flight) on_batch(picked(in_flight, in_flight_row));
    }
  } catch (...) {
    // Nothing may be re-recorded while the GPU still runs it.
    try {
      cmd_.wait();
      cmd2_.wait();
    } catch (...) {
    }
    throw;
  }
}

}  // namespace sinkstream::model
