#include "sched/step_attention.hpp"

#include <string>

#include "sinkstream/error.hpp"

namespace sinkstream::sched {

void StepAttention::add_decode_row(const kv::StreamCache* cache) {
  if (!chunks_.empty()) throw Error("internal error: decode rows come before the chunks");
  decode_.push_back(cache);
  ++rows_;
}

void StepAttention::add_chunk(const kv::StreamCache* cache, uint32_t n) {
  chunks_.push_back({cache, rows_, n});
  rows_ += n;
}

// Every stream of a model has the same layer split: row 0's tells whether the
// sliding layers' batch is needed.
bool StepAttention::batched() const {
  return batch_ && !decode_.empty() && (!decode_[0]->ring() || ring_batch_);
}

void StepAttention::prepare_batch(bool write) {
  if (!batched()) return;
  full_rows_.clear();
  ring_rows_.clear();
  for (const kv::StreamCache* c : decode_) {
    full_rows_.push_back(&c->full());
    if (c->ring()) ring_rows_.push_back(c->ring());
  }
  batch_->set_rows(full_rows_, write);
  if (!ring_rows_.empty()) ring_batch_->set_rows(ring_rows_, write);
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
  if (batched()) {
    const kv::StreamCache::Route r = decode_[0]->route(layer);
    (r.cache == &decode_[0]->full() ? batch_ : ring_batch_)->record_layer(cmd, r.layer, io.sink_offset);  // ends with a barrier
  } else {
    for (size_t i = 0; i < decode_.size(); ++i)
      decode_[i]->record_decode_append(cmd, layer, row_io(io, static_cast<uint32_t>(i)));
    if (!decode_.empty()) cmd.compute_barrier();
    for (size_t i = 0; i < decode_.size(); ++i)
      decode_[i]->record_decode_attend(cmd, layer, row_io(io, static_cast<uint32_t>(i)));
    cmd.compute_barrier();
  }
  for (const Chunk& c : chunks_) c.cache->record_layer(cmd, layer, c.n, row_io(io, c.row0));  // each ends with a barrier
  if (io.mark) io.mark("kv_append+attention (all streams)");
}

}  // namespace sinkstream::sched
