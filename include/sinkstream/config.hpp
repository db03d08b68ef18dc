// Configuration of a streaming KV cache: shapes, attention sinks, window, RoPE.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "sinkstream/export.hpp"

namespace sinkstream {

// Cache element type. q8_0: ggml's q8_0 blocks of 32 values along head_dim (one
// float16 scale, amax / 127, and 32 int8), quantised once when a token is appended;
// a head_dim that is not a multiple of 32 ends each row with one shorter block.
// The values are also the shaders' kv type codes (DecodeRow::kv_type).
enum class KvType : uint32_t { f32 = 0, f16 = 1, q8_0 = 2 };

SINKSTREAM_API const char* kv_type_name(KvType t);  // "f32", "f16", "q8_0"
SINKSTREAM_API std::optional<KvType> parse_kv_type(std::string_view name);
// Device bytes of one cached K (or V) row: one slot of one KV head.
SINKSTREAM_API uint64_t kv_row_bytes(KvType t, uint32_t head_dim);

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
  float softcap = 0.0f;  // scores s become softcap * tanh(s / softcap) before the softmax (gemma2); 0: none
};

// Throws InvalidArgument naming the first bad field.
SINKSTREAM_API void validate(const StreamConfig& cfg);

}  // namespace sinkstream
