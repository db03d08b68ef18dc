// The attention of one scheduler step: every row reads and appends to its own
// stream's cache. Rows [0, decode) are each one generating stream's next
// token; prompt chunks of other streams follow. Within a layer the decode
// rows' appends run together, then their attentions together, then the chunks.
#pragma once
#include <cstdint>
#include <vector>

#include "kv/batch_decode.hpp"
#include "kv/stream_cache.hpp"
#include "engine/forward.hpp"

namespace sinkstream::sched {

class StepAttention : public model::LayerAttention {
 public:
  StepAttention(uint32_t q_row_floats, uint32_t kv_row_floats)
      : qd_(q_row_floats), kvd_(kv_row_floats) {}

  // Decode rows through one batched dispatch per layer (null: each cache's own
  // step): `full` for the full-attention layers, `ring` for a model's sliding ones.
  void use_batch(kv::BatchDecode* full, kv::BatchDecode* ring) {
    batch_ = full;
    ring_batch_ = ring;
  }
  // Starts a step: decode rows first, then the chunks, in the order added.
  void reset() {
    decode_.clear();
    chunks_.clear();
    rows_ = 0;
  }
  void add_decode_row(const kv::StreamCache* cache);
  void add_chunk(const kv::StreamCache* cache, uint32_t n);
  uint32_t rows() const { return rows_; }
  // Host side of the batched decode rows, once every row's cache is prepared;
  // write false: what recording needs only (see BatchDecode::set_rows).
  void prepare_batch(bool write = true);

  void record_layer(vk::CommandBuffer& cmd, uint32_t layer, uint32_t n, const kv::LayerIo& io) override;

 private:
  kv::LayerIo row_io(const kv::LayerIo& io, uint32_t row) const;

  uint32_t qd_, kvd_;  // floats per row of q (and the output), of k and v
  struct Chunk {
    const kv::StreamCache* cache;
    uint32_t row0, n;
  };
  bool batched() const;

  kv::BatchDecode *batch_ = nullptr, *ring_batch_ = nullptr;
  std::vector<const kv::StreamCache*> decode_;  // row i: decode_[i]'s next token
  std::vector<const kv::KvCache*> full_rows_, ring_rows_;  // decode_'s caches, kept to reuse their memory
  std::vector<Chunk> chunks_;
  uint32_t rows_ = 0;
};

}  // namespace sinkstream::sched
