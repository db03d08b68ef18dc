// The rows of a batched decode step (kv_append_rows.comp, attn_rows.comp): one
// generating stream each, its ring state in a descriptor and its cache reached
// through addresses. Mirrors kv::DecodeRow.
#ifndef DECODE_ROWS_GLSL
#define DECODE_ROWS_GLSL
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_buffer_reference_uvec2 : require

struct DecodeRow {
  uvec2 rope;  // the stream's RoPE table: (set, rot_half) (cos, sin) of this step
  uint kv_type;  // KvType: 0 f32, 1 f16, 2 q8_0
  uint sinks;
  uint window;
  uint sinks_before;  // the append: sink slots filled before it
  uint ring_next;     // ring slot the token takes when it is not a sink
  uint is_sink;
  uint cache_sinks;   // the attention, the new token included
  uint ring_filled;
  uint keys_per_split;
  uint n_splits;
  uint pad0, pad1, pad2, pad3;
};
layout(std430, binding = 1) readonly buffer Rows { DecodeRow rows[]; };  // (row)
layout(std430, binding = 2) readonly buffer Addrs { uvec2 addrs[]; };    // (layer, row, K | V) cache addresses

uvec2 k_address(uint layer, uint max_rows, uint row) { return addrs[(layer * max_rows + row) * 2u]; }
uvec2 v_address(uint layer, uint max_rows, uint row) { return addrs[(layer * max_rows + row) * 2u + 1u]; }

#endif
