// The attention of one scheduler step: every row reads and appends to its own
// stream's cache. Rows [0, chunk) are one stream's prompt chunk; each later row
// is one generating stream's next token. Within a layer the decode rows'
// appends run together, then their attentions together, then the chunk.
#pragma once
#include <cstdint>
#include <vector>

#include "kv/kv_cache.hpp"
#include "model/forward.hpp"

namespace sinkstream::sched {

class StepAttention : public model::LayerAttention {
 public:
  StepAttention(uint32_t q_row_floats, uint32_t kv_row_floats)
      : qd_(q_row_floats), kvd_(kv_row_floats) {}

  // Starts a step: `chunk` rows of `chunk_cache` first (0: none), then decode rows.
  void reset(const kv::KvCache* chunk_cache, uint32_t chunk);
  void add_decode_row(const kv::KvCache* cache) { decode_.push_back(cache); }
  uint32_t rows() const { return chunk_ + static_cast<uint32_t>(decode_.size()); }
  uint32_t chunk() const { return chunk_; }

  void record_layer(vk::CommandBuffer& cmd, uint32_t layer, uint32_t n, const kv::LayerIo& io) override;

 private:
  kv::LayerIo row_io(const kv::LayerIo& io, uint32_t row) const;

  uint32_t qd_, kvd_;  // floats per row of q (and the output), of k and v
  const kv::KvCache* chunk_cache_ = nullptr;
  uint32_t chunk_ = 0;
  std::vector<const kv::KvCache*> decode_;  // row chunk_ + i: decode_[i]'s next token
};

}  // namespace sinkstream::sched
