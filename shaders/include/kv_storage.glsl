// How K/V elements are stored. The attention math reads a row's vec4 c through
// KV_LOAD (and the decode kernels whole units, attn_decode_body.glsl); the append
// kernels write one KV_GROUP of vec4s per invocation through kv_store_group.
#ifndef KV_STORAGE_GLSL
#define KV_STORAGE_GLSL

#if defined(KV_F16)
// Packed halves in 32-bit words: needs no 16-bit storage feature on the device.
#define KV_VEC uvec2
vec4 kv_unpack(uvec2 u) { return vec4(unpackHalf2x16(u.x), unpackHalf2x16(u.y)); }
uvec2 kv_pack(vec4 v) { return uvec2(packHalf2x16(v.xy), packHalf2x16(v.zw)); }
#elif defined(KV_F32)
#define KV_VEC vec4
vec4 kv_unpack(vec4 u) { return u; }
vec4 kv_pack(vec4 v) { return v; }
#elif defined(KV_Q8_0)
// ggml's q8_0 along head_dim, as two planes of one buffer of 32-bit words:
//   quants (rows, head_dim / 4): four int8 per word, one word per vec4, so a row's
//     loads are as coalesced as f16's (half the bytes);
//   scales (rows, blocks) float16, two per word, right after the quants, where
//     rows = kv_heads * slots and blocks = ceil(head_dim / 32): block b of a row holds
//     values 32b .. 32b + 31 (the last block is shorter when head_dim is not a multiple of 32).
#define KV_VEC uint
const uint KV_GROUP = 8u;  // vec4s an append invocation quantises together: one block
uint q8_blocks(uint hd4) { return (hd4 + 7u) / 8u; }
vec4 q8_unpack(uint w, float d) { return vec4(ivec4(uvec4(w << 24, w << 16, w << 8, w)) >> 24) * d; }
// Scale of global block `block` from the word holding it.
float q8_scale(uint word, uint block) { return unpackHalf2x16(word)[block & 1u]; }
// The word of the scale plane (a buffer of `rows` rows) that holds row `row`'s block of vec4 c.
uint q8_scale_word(uint rows, uint hd4, uint row, uint c) { return rows * hd4 + (row * q8_blocks(hd4) + c / 8u) / 2u; }
uint q8_block(uint hd4, uint row, uint c) { return row * q8_blocks(hd4) + c / 8u; }
#define KV_LOAD(buf, rows, hd4, row, c) \
  q8_unpack(buf[(row) * (hd4) + (c)], q8_scale(buf[q8_scale_word(rows, hd4, row, c)], q8_block(hd4, row, c)))

// ggml's quantize_row_q8_0_ref on one block of n4 vec4s: d = amax / 127, q = round(x / d)
// (half away from zero, as roundf), the scale stored as float16 and the quants computed
// with the float32 d, as ggml does. Returns the scale's float16 bits.
uint q8_quantise(vec4 x[8], uint n4, out uint q[8]) {
  float amax = 0.0;
  [[unroll]] for (uint j = 0u; j < 8u; ++j)
    if (j < n4) amax = max(amax, max(max(abs(x[j].x), abs(x[j].y)), max(abs(x[j].z), abs(x[j].w))));
  const float d = amax / 127.0;
  const float id = d != 0.0 ? 1.0 / d : 0.0;
  [[unroll]] for (uint j = 0u; j < 8u; ++j) {
    const vec4 s = x[j] * id;
    const ivec4 r = clamp(ivec4(sign(s) * floor(abs(s) + 0.5)), ivec4(-127), ivec4(127));
    const uvec4 b = uvec4(r) & 0xffu;
    q[j] = b.x | b.y << 8 | b.z << 16 | b.w << 24;
  }
  return packHalf2x16(vec2(d, 0.0)) & 0xffffu;
}
// Stores one quantised block: its quant words and, without disturbing the other
// scale of the word (another invocation's block), its float16 scale.
#define KV_STORE_BLOCK(buf, rows, hd4, row, c, n4, q, half_bits)                                \
  {                                                                                            \
    [[unroll]] for (uint j_ = 0u; j_ < 8u; ++j_)  /* unrolled: q stays in registers */         \
      if (j_ < (n4)) buf[(row) * (hd4) + (c) + j_] = q[j_];                                    \
    const uint w_ = q8_scale_word(rows, hd4, row, c), sh_ = (q8_block(hd4, row, c) & 1u) * 16u; \
    atomicAnd(buf[w_], ~(0xffffu << sh_));                                                     \
    atomicOr(buf[w_], (half_bits) << sh_);                                                     \
  }
#else
#error "define KV_F16, KV_F32 or KV_Q8_0"
#endif

#if !defined(KV_Q8_0)
const uint KV_GROUP = 1u;
#define KV_LOAD(buf, rows, hd4, row, c) kv_unpack(buf[(row) * (hd4) + (c)])
#endif

#endif
