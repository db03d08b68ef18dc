#include <string>

#include "sinkstream/config.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream {
namespace {
void require(bool ok, const std::string& what) {
  if (!ok) throw InvalidArgument("invalid stream configuration: " + what);
}
}  // namespace

const char* kv_type_name(KvType t) {
  switch (t) {
    case KvType::f32:
      return "f32";
    case KvType::f16:
      return "f16";
    case KvType::q8_0:
      return "q8_0";
  }
  return "?";
}

std::optional<KvType> parse_kv_type(std::string_view name) {
  for (KvType t : {KvType::f16, KvType::f32, KvType::q8_0})
    if (name == kv_type_name(t)) return t;
  return std::nullopt;
}

uint64_t kv_row_bytes(KvType t, uint32_t head_dim) {
  if (t == KvType::f32) return uint64_t{head_dim} * 4;
  if (t == KvType::f16) return uint64_t{head_dim} * 2;
  // A byte per value and a float16 scale per block of 32 (the last one shorter when
  // head_dim is not a multiple of 32): ggml's 34 bytes per 32 values.
  return head_dim + 2ull * ((head_dim + 31) / 32);
}

void validate(const StreamConfig& c) {
  require(c.layers >= 1 && c.layers <= 4096, "layers must be 1..4096");
  require(c.kv_heads >= 1 && c.heads >= c.kv_heads && c.heads % c.kv_heads == 0,
          "heads must be a positive multiple of kv_heads");
  require(c.heads / c.kv_heads <= 16, "at most 16 query heads per KV head");
  require(c.head_dim >= 4 && c.head_dim <= 256 && c.head_dim % 4 == 0, "head_dim must be a multiple of 4 in 4..256");
  require(c.kv_type == KvType::f32 || c.kv_type == KvType::f16 || c.kv_type == KvType::q8_0,
          "kv_type must be f32, f16 or q8_0");
  require(c.window >= 1, "window must be at least 1");
  require(uint64_t{c.sinks} + c.window <= (1u << 24), "sinks + window must not exceed 16M slots");
  require(c.max_chunk >= 1 && c.max_chunk <= 4096, "max_chunk must be 1..4096");
  const uint32_t rot = c.rope.rotary_dims ? c.rope.rotary_dims : c.head_dim;
  require(rot % 2 == 0 && rot <= c.head_dim, "rotary_dims must be even and at most head_dim");
  require(c.rope.theta > 1.0, "rope theta must be > 1");
  require(c.rope.freq_factors.empty() || c.rope.freq_factors.size() == rot / 2,
          "freq_factors must have rotary_dims/2 entries");
  for (float f : c.rope.freq_factors) require(f > 0.0f && f < 1e30f, "freq_factors must be positive and finite");
  require(c.scale >= 0.0f && c.scale < 1e30f, "scale must be finite and >= 0");
  require(c.softcap >= 0.0f && c.softcap < 1e30f, "softcap must be finite and >= 0");
}

}  // namespace sinkstream
