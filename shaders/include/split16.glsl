// Splitting float32 operands of float16 tensor-core products into a float16 head
// and the float16 of the rest (x ~ hi + lo to about 22 bits), for matmul_coop.comp
// and attn_coop.comp.
#ifndef SPLIT16_GLSL
#define SPLIT16_GLSL

// v rounded to float16's 11 significant bits, still in float32. Done on the bits:
// a driver may fold unpackHalf2x16(packHalf2x16(v)) back into v, which turned
// the remainder v - head16(v) into zero on the H100.
float head16(float v) { return uintBitsToFloat((floatBitsToUint(v) + 0x1000u) & 0xffffe000u); }
vec4 head16(vec4 v) { return uintBitsToFloat((floatBitsToUint(v) + 0x1000u) & 0xffffe000u); }

#endif
