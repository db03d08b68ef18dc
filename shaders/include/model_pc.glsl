// Mirrors src/engine/push_constants.hpp field by field (static_asserts there).
#ifndef MODEL_PC_GLSL
#define MODEL_PC_GLSL

#if defined(PC_EMBED)
layout(push_constant) uniform PC {
  uint n_tokens;
  uint dim;
  uint row_bytes;
  float scale;
} pc;
#elif defined(PC_RMSNORM)
layout(push_constant) uniform PC {
  uint n_rows;
  uint dim;
  float eps;
  uint gather;
  uint accumulate;
  uint pad0;
  uint pad1;
  uint pad2;
} pc;
#elif defined(PC_MATMUL)
layout(push_constant) uniform PC {
  uint m_rows;
  uint n_rows;
  uint k_cols;
  uint row_bytes;
  uint x_offset;
  uint x_stride;
  uint out_offset;
  uint out_stride;
  uint accumulate;
  uint has_bias;
  uint k_splits;
  uint pad0;
} pc;
#elif defined(PC_MATMUL_REDUCE)
layout(push_constant) uniform PC {
  uint m_rows;
  uint n_rows;
  uint splits;
  uint part_offset;
  uint out_offset;
  uint out_stride;
  uint accumulate;
  uint has_bias;
} pc;
#elif defined(PC_SOFTCAP)
layout(push_constant) uniform PC {
  uint n;
  float cap;
  uint pad0;
  uint pad1;
} pc;
#elif defined(PC_SWIGLU)
layout(push_constant) uniform PC {
  uint n;
  uint gelu;
  float limit;
  float alpha;
} pc;
#elif defined(PC_MOE_ROUTE)
layout(push_constant) uniform PC {
  uint n_tokens;
  uint experts;
  uint used;
  uint pad0;
} pc;
#elif defined(PC_MOE_MATMUL)
layout(push_constant) uniform PC {
  uint n_rows;
  uint k_cols;
  uint row_bytes;
  uint slots;
  uint x_per_pair;
  uint has_bias;
  uint order_at;  // MT > 1: where the group buffer's pair order begins (2 * its tiles)
  uint pad0;
} pc;
#elif defined(PC_MOE_GROUP)
layout(push_constant) uniform PC {
  uint pairs;
  uint experts;
  uint tile_pairs;  // most pairs of a tile
  uint max_tiles;   // tiles written, the last ones empty
} pc;
#elif defined(PC_MOE_COMBINE)
layout(push_constant) uniform PC {
  uint n_tokens;
  uint dim;
  uint slots;
  uint pad0;
} pc;
#elif defined(PC_MATVEC)
layout(push_constant) uniform PC {
  uint n_rows;
  uint k_cols;
  uint row_bytes;
  uint x_offset;
  uint out_offset;
  uint accumulate;
  uint has_bias;
  float eps;
  uint tokens;
} pc;
#elif defined(PC_ARGMAX)
layout(push_constant) uniform PC {
  uint n;
  uint step;
  uint logit_row;
  uint id_row;
} pc;
#elif defined(PC_CHECK_FINITE)
layout(push_constant) uniform PC {
  uint count;
  uint tag;
  uint pad0;
  uint pad1;
} pc;
#endif

#endif
