// Text <-> token ids for the two tokenizer families of current LLMs, matching
// llama.cpp token for token (tests check llama.cpp's own vectors):
//
// - SentencePiece BPE (Vocab::kind == spm; Llama 1/2, Mistral, Phi-3,
//   llama2.c): spaces become "▁", a "▁" is prepended to the text (and after
//   every special token) when add_space_prefix is set, then adjacent symbols
//   are merged greedily, highest token score first, ties to the leftmost pair.
//   Characters that never form a token are emitted as <0xNN> byte tokens.
//   Scores decide everything. A vocabulary whose scores are all equal (a GGUF
//   converted without them stores 0.0 for every token) is merged leftmost-
//   first, exactly as llama.cpp does with it, which is not how the model was
//   trained: for a llama2.c model pass its tok*.bin (`--tokenizer`), whose
//   scores are the trained merge order. (The stories260K.gguf fixture did keep
//   tok512's scores; the tests check that both give run.c's ids.)
// - Byte-level BPE (kind == bpe; GPT-2, Llama 3, Qwen 2, SmolLM, StarCoder,
//   DeepSeek, MPT, GPT-4o/gpt-oss): the text is split by the pre-tokenizer
//   regexes named by `tokenizer.ggml.pre` (PCRE2 with Unicode properties), each
//   piece's bytes are mapped to GPT-2's printable alphabet and merged by rank.
//
// Special tokens (control, user-defined) found in the text are matched as
// single tokens before either algorithm runs: user-defined ones always,
// control ones (<|im_start|>, <s>, ...) only when parse_special is set, so
// that untrusted text cannot forge them.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "text/vocab.hpp"

namespace sinkstream::model {

class Tokenizer {
 public:
  // Throws Error for vocabularies it cannot encode with (unknown BPE
  // pre-tokenizer, merges that name no tokens, ...).
  explicit Tokenizer(Vocab vocab);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // Never adds BOS by itself: the caller decides (vocab().add_bos says what
  // the model was trained with). Thread-safe (const, no shared scratch).
  std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special) const;

  // The bytes one token stands for: "▁" back to space, <0xNN> to the byte,
  // GPT-2's alphabet back to bytes. Control tokens give their text ("<s>").
  // May be an incomplete UTF-8 sequence. Throws InvalidArgument for ids out of range.
  std::string piece(int32_t id) const;

  // Concatenated pieces; control and unknown tokens give nothing unless
  // render_special. For SPM with add_space_prefix, the space the encoder
  // prepended is removed from the first piece, so decode(encode(s)) == s.
  // No "clean-up" of spaces before punctuation: pieces are kept verbatim.
  std::string decode(std::span<const int32_t> ids, bool render_special = false) const;

  // Id of the token whose stored text is exactly `text` ("<|im_end|>"), if any.
  std::optional<int32_t> find(std::string_view text) const;

  int32_t bos() const;  // -1 when the vocabulary has none
  int32_t eos() const;
  bool is_eog(int32_t id) const;      // ends generation: EOS, EOT, <|im_end|>, <|eot_id|>, ...
  bool is_control(int32_t id) const;  // control or unknown: not text
  size_t size() const;
  const Vocab& vocab() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Turns a stream of generated ids into text without ever emitting a broken
// UTF-8 sequence: bytes of a character split across tokens (byte fallback,
// byte-level BPE) are held back until the character is complete. Invalid
// bytes that can never complete a character are passed through as they are.
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tok, bool render_special = false);
  // Text that became complete with this token (may be empty).
  std::string push(int32_t id);
  // Whatever is held back (an incomplete sequence at the end of the stream).
  std::string flush();

 private:
  const Tokenizer* tok_;
  bool render_special_;
  std::string pending_;
};

// Length of the longest prefix of `s` that does not end inside an incomplete
// (but so far valid) UTF-8 sequence. Exposed for tests.
size_t utf8_complete_prefix(std::string_view s);

}  // namespace sinkstream::model
