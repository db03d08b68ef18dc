// Configuration of a streaming KV cache: shapes, attention sinks, window, RoPE.
#pragma once
#include <cstdint>
#include <vector>

#include "sinkstream/export.hpp"

namespace sinkstream {

enum class KvType : uint32_t { f32 = 0, f16 = 1 };

enum class RopeStyle : uint32_t {
  adjacent = 0,  // pairs (2i, 2i+1): llama2.c, GGUF llama
  neox = 1,      // pairs (i, i + rotary_dims/2): NeoX, qwen2
};

struct RopeConfig {
  RopeStyle style = RopeStyle::adjacent;
  double theta = 10000.0;
  uint32_t rotary_dims = 0;         // 0 = head_dim; fewer rotates only the leading dims
  std::vector<float> freq_factors;  // empty, or rotary_dims/2 divisors of the frequencies (llama3 style)
};

struct StreamConfig {
  uint32_t layers = 1;
  uint32_t heads = 1;     // query heads
  uint32_t kv_heads = 1;  // heads / kv_heads = GQA ratio (1..16)
  uint32_t head_dim = 64; // multiple of 4, 4..256
  uint32_t sinks = 4;     // pinned slots: the first `sinks` tokens of the stream
  uint32_t window = 1020; // circular window of the most recent tokens (>= 1)
  KvType kv_type = KvType::f16;
  RopeConfig rope;
  float scale = 0.0f;     // softmax scale; 0 = 1/sqrt(head_dim)
  uint32_t max_chunk = 64;  // most tokens one step may append
  bool learned_sinks = false;  // per-head sink logits (gpt-oss), set with set_sink_logits
};

// Throws InvalidArgument naming the first bad field.
SINKSTREAM_API void validate(const StreamConfig& cfg);

}  // namespace sinkstream
