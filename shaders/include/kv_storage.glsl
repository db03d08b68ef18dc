// How K/V elements are stored, four at a time. The attention math only calls
// kv_unpack/kv_pack, so a new storage type (e.g. q8_0 blocks) changes this file
// and the buffer element type, not the kernels.
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
#else
#error "define KV_F16 or KV_F32"
#endif

#endif
