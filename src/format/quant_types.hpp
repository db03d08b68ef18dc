// ggml's block-quantised weight types on the CPU: decoding, bit for bit as
// ggml's reference dequantize_row_* (block layouts, scales, mins, the
// K-quants' packed 6-bit scales). The CPU reference model and the tests use
// it; the GPU kernels (shaders/include/weights.glsl) must agree with it exactly.
#pragma once
#include <cstdint>
#include <span>

#include "format/gguf.hpp"

namespace sinkstream::model {

constexpr uint32_t kQK_K = 256;  // weights per K-quant super-block (and IQ4_XS)

float half_to_float(uint16_t h);  // exact, subnormals and infinities included
uint16_t float_to_half(float f);  // round to nearest even

// Weights per block and bytes per block of a block type (1 and the element
// size for plain float types); throws Error for types without a layout here.
uint32_t block_weights(GgmlType t);
uint32_t block_bytes(GgmlType t);

// True for every type dequantize() decodes: F32, F16, BF16, Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0, Q2_K..Q6_K, IQ4_NL, IQ4_XS, MXFP4.
bool can_dequantize(GgmlType t);

// Decodes out.size() weights (a whole number of blocks) from `in`, which holds
// exactly those blocks. Throws Error for other types or partial blocks.
void dequantize(GgmlType t, std::span<const uint8_t> in, std::span<float> out);

// IQ4_NL / IQ4_XS: the 16 non-linear levels their 4-bit codes index.
extern const int8_t kIq4Levels[16];

// MXFP4 (32 weights, 17 bytes: an E8M0 exponent byte e, then 16 bytes of 4-bit
// E2M1 codes, weight j < 16 the low nibble of byte j, j >= 16 the high nibble
// of byte j - 16): weight = kMxfp4Values[code] * mxfp4_scale(e). As in ggml
// (kvalues_mxfp4), the E2M1 values are stored doubled and the scale halved.
extern const int8_t kMxfp4Values[16];
// 2^(e - 128), ggml's GGML_E8M0_TO_FP32_HALF: subnormal for e < 2, and e = 255
// (E8M0's NaN) decodes as 2^127, not NaN, as ggml's dequantize_row_mxfp4 does.
float mxfp4_scale(uint8_t e);

}  // namespace sinkstream::model
