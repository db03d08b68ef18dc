// ggml's K-quant and IQ4 encoders (reference rounding), one block at a time.
#pragma once
#include <cstdint>

#include "format/gguf.hpp"

namespace sinkstream::model {

// Encodes one block of t (256 values for Q2_K..Q6_K and IQ4_XS, 32 for IQ4_NL)
// from x into out, which has room for the block's bytes.
void quantize_k_block(GgmlType t, const float* x, uint8_t* out);

}  // namespace sinkstream::model
