// Float weights into the file types the GPU kernels read, with ggml's
// reference rounding (so files written here load in llama.cpp too).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "format/gguf.hpp"
#include "format/quant_types.hpp"  // float_to_half

namespace sinkstream::model {

uint16_t float_to_bf16(float f);  // round to nearest even

// Encodes `x` (a whole number of rows) as type t with ggml's reference rounding:
// F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 (rows of a multiple of 32 values),
// Q2_K..Q6_K (of 256), IQ4_NL (32), IQ4_XS (256) and MXFP4 (32).
std::vector<uint8_t> quantize(std::span<const float> x, GgmlType t);

}  // namespace sinkstream::model
