// UTF-8 lead bytes, classified once for the tokenizers and the CLI.
#pragma once
#include <cstddef>

namespace sinkstream::model {

// Length of the sequence a lead byte starts (1..4), or 0 for a continuation
// byte or a byte that never starts a sequence (0xF8..0xFF).
inline size_t utf8_lead_length(unsigned char lead) {
  return lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : (lead & 0xF8) == 0xF0 ? 4 : 0;
}

}  // namespace sinkstream::model
