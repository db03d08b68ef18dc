// UTF-8 lead bytes, classified once for the tokenizers and the CLI.
#pragma once
#include <cstddef>
#include <string_view>

namespace sinkstream::model {

// Length of the sequence a lead byte starts (1..4), or 0 for a continuation
// byte or a byte that never starts a sequence (0xF8..0xFF).
inline size_t utf8_lead_length(unsigned char lead) {
  return lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : (lead & 0xF8) == 0xF0 ? 4 : 0;
}

// Length of the well-formed UTF-8 sequence at s[i] (1..4), or 0 where it is not
// one: a stray continuation byte, a truncated sequence, an overlong form, a UTF-16
// surrogate or a code point past U+10FFFF (RFC 3629's table of valid bytes).
inline size_t utf8_valid_length(std::string_view s, size_t i) {
  const auto at = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const size_t n = utf8_lead_length(at(0));
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((at(k) & 0xC0) != 0x80) return 0;
  const unsigned char a = at(0), b = n > 1 ? at(1) : 0;
  if (n == 2 && a < 0xC2) return 0;                // overlong
  if (n == 3 && a == 0xE0 && b < 0xA0) return 0;   // overlong
  if (n == 3 && a == 0xED && b >= 0xA0) return 0;  // surrogates
  if (n == 4 && a == 0xF0 && b < 0x90) return 0;   // overlong
  if (n == 4 && (a > 0xF4 || (a == 0xF4 && b >= 0x90))) return 0;  // past U+10FFFF
  return n;
}

}  // namespace sinkstream::model
