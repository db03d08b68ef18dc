#include "sched/step_attention.hpp"

#include <string>

#include "sinkstream/error.hpp"

namespace sinkstream::sched {

void StepAttention::reset(const kv::KvCache* chunk_cache, uint32_t chunk) {
  chunk_cache_ = chunk_cache;
  chunk_ = chunk_cache ? chunk : 0;
  decode_.clear();
}

kv::LayerIo StepAttention::row_io(const kv::LayerIo& io, uint32_t row) const {
  kv::LayerIo r = io;
  r.q_offset = io.q_offset + row * qd_;
  r.out_offset = io.out_offset + row * qd_;
  r.k_offset = io.k_offset + row * kvd_;
  r.v_offset = io.v_offset + row * kvd_;
  r.rope_token = 0;  // each stream's own RoPE table, written by its prepare()
  r.mark = {};
  return r;
}

void StepAttention::record_layer(vk::CommandBuffer& cmd, uint32_t layer, uint32_t n, const kv::LayerIo& io) {
  if (n != rows()) throw Error("internal error: a step of " + std::to_string(n) + " rows planned as " + std::to_string(rows()));
  if (!decode_.empty()) {
    for (size_t i = 0; i < decode_.size(); ++i)
      decode_[i]->record_decode_append(cmd, layer, row_io(io, chunk_ + static_cast<uint32_t>(i)));
    cmd.compute_barrier();
    for (size_t i = 0; i < decode_.size(); ++i)
      decode_[i]->record_decode_attend(cmd, layer, row_io(io, chunk_ + static_cast<uint32_t>(i)));
  }
  if (chunk_) chunk_cache_->record_layer(cmd, layer, chunk_, row_io(io, 0));  // ends with a barrier
  else cmd.compute_barrier();
  if (io.mark) io.mark("kv_append+attention (all streams)");
}

}  // namespace sinkstream::sched
