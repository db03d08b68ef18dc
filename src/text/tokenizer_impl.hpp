// Internals shared by tokenizer.cpp (special tokens, decoding),
// tokenizer_spm.cpp and tokenizer_bpe.cpp. Not part of the library's API.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/vocab.hpp"

namespace sinkstream::model::detail {

// Hash for heterogeneous lookup: find(string_view) without building a std::string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

inline int32_t lookup(const TokenMap& m, std::string_view s) {
  const auto it = m.find(s);
  return it == m.end() ? -1 : it->second;
}

// Bytes in the UTF-8 sequence a lead byte announces (1 for stray continuation
// bytes, so that any byte string splits into symbols), as llama.cpp counts.
inline size_t utf8_seq_len(unsigned char lead) {
  static constexpr std::array<uint8_t, 16> kLen = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[lead >> 4];
}

void append_utf8(std::string& out, uint32_t cp);

// SentencePiece BPE over text whose spaces are already "▁". `byte_ids[b]` is
// the token for byte b (<0xNN>), or -1. `by_words` merges word by word (much
// faster on long texts, same result); allowed only when
// spm_words_are_independent(tokens).
void spm_encode(std::string_view text, const TokenMap& ids, const std::vector<float>& scores,
                const std::array<int32_t, 256>& byte_ids, bool by_words, std::vector<int32_t>& out);

// True when no token has "▁" right after another character, so that merges
// can never cross the start of a word.
bool spm_words_are_independent(const std::vector<std::string>& tokens);

// Byte-level BPE: regex pre-split + ranked merges.
class BpeEncoder {
 public:
  BpeEncoder(const Vocab& vocab, const TokenMap& ids);
  ~BpeEncoder();
  BpeEncoder(const BpeEncoder&) = delete;
  BpeEncoder& operator=(const BpeEncoder&) = delete;

  void encode(std::string_view text, std::vector<int32_t>& out) const;

  // Byte-level text of a token back to bytes (GPT-2's unicode alphabet).
  static std::string to_bytes(std::string_view token_text);

  struct Regexes;  // compiled pre-tokenizer regexes (PCRE2 stays inside tokenizer_bpe.cpp)

 private:
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;
  const Merge* find_merge(int32_t left, int32_t right) const;

  const TokenMap& ids_;
  std::unique_ptr<Regexes> regexes_;
  std::unordered_map<uint64_t, Merge> merges_;  // (left id << 32 | right id) -> rank and merged id
  std::array<std::string, 256> byte_chars_;     // byte -> its character in GPT-2's alphabet (UTF-8)
  bool ignore_merges_ = false;                  // llama3: a word that is a token is taken whole
};

// The pre-tokenizer regexes llama.cpp uses for a `tokenizer.ggml.pre` name,
// applied in order (each splits the pieces the previous one produced). Empty
// when the name is unknown.
std::vector<std::string> bpe_pre_regexes(const std::string& pre);

// Splits `text` into pieces with the regexes above, llama.cpp's way: each
// regex runs inside each current piece, and matches as well as the text
// between them become pieces. Exposed for tests.
std::vector<std::string> regex_split(std::string_view text,
                                     const std::vector<std::string>& regexes);

}  // namespace sinkstream::model::detail
