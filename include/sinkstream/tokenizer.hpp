// Text <-> token ids without a device: a model's tokenizer (SentencePiece BPE
// or byte-level BPE, matching llama.cpp token for token), loadable from a GGUF
// file (a vocabulary-only GGUF too) or a llama2.c tok*.bin. Also the UTF-8
// helpers a program printing model output needs.
//
// Thread safety: a Tokenizer is an immutable shared handle; every function may
// be called from any number of threads at once.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sinkstream/export.hpp"

namespace sinkstream {

namespace detail {
struct TokenizerImpl;
}

class SINKSTREAM_API Tokenizer {
 public:
  // Throws Error for a file with no (or an unsupported) tokenizer.
  static Tokenizer load(const std::string& path);

  // BOS first when add_bos (and the vocabulary has one); control-token text
  // ("<|im_start|>") becomes that token only when parse_special.
  std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special) const;
  // The bytes one token stands for (may be part of a UTF-8 character).
  // Throws InvalidArgument for ids out of range.
  std::string piece(int32_t token) const;
  // Concatenated pieces; control tokens give nothing unless render_special.
  std::string decode(std::span<const int32_t> tokens, bool render_special = false) const;
  int32_t bos() const;  // -1: none
  int32_t eos() const;  // -1: none
  bool is_end_of_generation(int32_t token) const;
  size_t size() const;
  std::string kind() const;           // "spm" (SentencePiece BPE) or "bpe" (byte-level BPE)
  std::string chat_template() const;  // the file's Jinja template, may be empty

  // Internal: the implementation the library's other classes reach.
  explicit Tokenizer(std::shared_ptr<const detail::TokenizerImpl> impl);
  const detail::TokenizerImpl& impl() const { return *impl_; }

 private:
  std::shared_ptr<const detail::TokenizerImpl> impl_;
};

// Whether the file starts with the GGUF magic (false when it cannot be read).
SINKSTREAM_API bool is_gguf_file(const std::string& path);

// The length of the UTF-8 sequence a lead byte starts (1 for ASCII; 0: not a lead byte).
SINKSTREAM_API size_t utf8_sequence_length(unsigned char lead);
// The length of the well-formed UTF-8 sequence at s[i], or 0 when it is not one
// (a stray continuation byte, a truncated sequence).
SINKSTREAM_API size_t utf8_valid_length(std::string_view s, size_t i);

}  // namespace sinkstream
