// A tokenizer's vocabulary as stored in a model file: token strings, SPM
// scores or BPE merges, token types and special ids. Loaded from GGUF
// metadata (`tokenizer.ggml.*`) or from a llama2.c `tok*.bin` file. This is
// plain data; text/tokenizer.hpp turns it into an encoder/decoder.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sinkstream::model {

class GgufFile;

enum class VocabKind {
  spm,  // SentencePiece BPE: merge by score, "▁" for spaces, <0xNN> byte fallback
        // (`tokenizer.ggml.model = llama`)
  bpe,  // byte-level BPE: regex pre-split, GPT-2 byte-to-unicode map, ranked merges
        // (`tokenizer.ggml.model = gpt2`)
};

// GGUF token types (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  undefined = 0,
  normal = 1,
  unknown = 2,
  control = 3,
  user_defined = 4,
  unused = 5,
  byte = 6,
};

struct Vocab {
  VocabKind kind = VocabKind::spm;
  // `tokenizer.ggml.pre`: names the BPE pre-tokenizer regexes ("gpt-2", "llama3", ...).
  std::string pre;
  // `general.name` (a few per-model quirks key on it, as in llama.cpp).
  std::string name;
  // Token id -> text as stored (SPM: "▁" for space; BPE: GPT-2's byte alphabet).
  std::vector<std::string> tokens;
  std::vector<float> scores;        // SPM merge priority per token (empty for BPE)
  std::vector<TokenType> types;     // per token
  std::vector<std::string> merges;  // BPE: "left right", rank = index
  int32_t bos_id = -1, eos_id = -1, unk_id = -1, eot_id = -1, eom_id = -1, pad_id = -1;
  bool add_bos = false;           // what the model was trained with; callers decide
  bool add_space_prefix = false;  // SPM: prepend a space to text (and after special tokens)
  std::string chat_template;      // `tokenizer.chat_template` (Jinja), may be empty

  size_t size() const { return tokens.size(); }
  TokenType type(int32_t id) const { return types[static_cast<size_t>(id)]; }
};

// Reads `tokenizer.ggml.*` from GGUF metadata. Throws Error when the
// tokenizer is missing, of an unsupported kind, or inconsistent (array sizes
// that disagree, special ids out of range are dropped like llama.cpp does).
Vocab vocab_from_gguf(const GgufFile& gguf);

// Reads a llama2.c tokenizer (tok512.bin, tokenizer.bin): int32
// max_token_length, then per token float32 score, int32 length, bytes. The
// result is an SPM vocabulary with llama2.c's conventions: 0=<unk>, 1=<s>,
// 2=</s>, <0xNN> byte tokens. Throws Error on a truncated or hostile file.
Vocab vocab_from_llama2c(const std::string& path);

// Either of the above, chosen by the file's magic ("GGUF" or not).
Vocab vocab_from_file(const std::string& path);

// Whether the file starts with the GGUF magic (false when it cannot be read).
bool is_gguf_file(const std::string& path);

}  // namespace sinkstream::model
