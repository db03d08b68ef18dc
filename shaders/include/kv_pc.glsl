// Mirrors src/kv/push_constants.hpp field by field (static_asserts there).
#ifndef KV_PC_GLSL
#define KV_PC_GLSL

#if defined(PC_KV_APPEND)
layout(push_constant) uniform PC {
  uint n_tokens;
  uint kv_heads;
  uint head_dim;
  uint rot_half;
  uint neox;
  uint to_cache;
  uint sinks;
  uint window;
  uint sinks_before;
  uint ring_next;
  uint chunk_sinks;
  uint dst_slots;
  uint k_offset;
  uint v_offset;
  uint src_stride;
  uint q_heads;
  uint q_offset;
  uint rope_token;
} pc;
#elif defined(PC_ATTN_SPLIT)
layout(push_constant) uniform PC {
  uint n_queries;
  uint heads;
  uint kv_heads;
  uint rot_half;
  uint neox;
  uint cache_sinks;
  uint sinks;
  uint window;
  uint ring_filled;
  uint ring_next;
  int ring_limit0;
  uint n_chunk;
  uint chunk_sinks;
  uint keys_per_split;
  uint n_splits;
  float scale;
  uint q_offset;
  uint q_stride;
  uint stage_slots;
  float softcap;
} pc;
#elif defined(PC_ATTN_DECODE)
layout(push_constant) uniform PC {
  uint heads;
  uint kv_heads;
  uint cache_sinks;
  uint sinks;
  uint window;
  uint ring_filled;
  uint keys_per_split;
  uint n_splits;
  float scale;
  uint has_sink_logit;
  uint sink_offset;
  uint out_offset;
  float softcap;
  uint pad0;
  uint pad1;
  uint pad2;
} pc;
#elif defined(PC_KV_APPEND_ROWS)
layout(push_constant) uniform PC {
  uint n_rows;
  uint kv_heads;
  uint head_dim;
  uint rot_half;
  uint neox;
  uint heads;
  uint layer;
  uint max_rows;
  uint q_stride;
  uint kv_stride;
  uint kv_type;
  uint pad0;
} pc;
#elif defined(PC_ATTN_ROWS)
layout(push_constant) uniform PC {
  uint heads;
  uint kv_heads;
  uint layer;
  uint max_rows;
  float scale;
  uint has_sink_logit;
  uint sink_offset;
  uint out_stride;
  uint part_rows;
  uint kv_type;
  float softcap;
  uint pad1;
} pc;
#elif defined(PC_ATTN_PROBE)
layout(push_constant) uniform PC {
  uint heads;
  uint kv_heads;
  uint head_dim;
  uint cache_sinks;
  uint sinks;
  uint window;
  uint ring_filled;
  uint first;
  float scale;
  uint has_sink_logit;
  uint sink_offset;
  uint out_offset;
  float softcap;
  uint pad0;
  uint pad1;
  uint pad2;
} pc;
#elif defined(PC_ATTN_REDUCE)
layout(push_constant) uniform PC {
  uint n_queries;
  uint heads;
  uint head_dim;
  uint n_splits;
  uint has_sink_logit;
  uint sink_offset;
  uint out_offset;
  uint out_stride;
} pc;
#endif

// gemma2's attention logit soft-capping of a (scaled) score: c * tanh(s / c),
// tanh written as 1 - 2 / (exp(2x) + 1), exact where exp overflows or vanishes.
// c = 0: the score as it is.
float soft_cap(float s, float c) {
  return c == 0.0 ? s : c * (1.0 - 2.0 / (exp(2.0 * s / c) + 1.0));
}

#endif
