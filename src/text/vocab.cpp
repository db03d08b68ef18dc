#include "text/vocab.hpp"

#include <cctype>
#include <climits>
#include <cstring>
#include <fstream>
#include <iterator>
#include <variant>

#include "format/gguf.hpp"
#include "format/byte_reader.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::model {
namespace {

// Pre-tokenizers whose models were trained with a BOS (llama.cpp sets add_bos for them).
bool pre_adds_bos(const std::string& pre) {
  return pre == "llama3" || pre == "llama-v3" || pre == "llama-bpe" || pre == "falcon3" ||
         pre == "pixtral";
}

std::vector<float> read_scores(const GgufFile& g, size_t n) {
  const auto it = g.metadata().find("tokenizer.ggml.scores");
  if (it == g.metadata().end()) return {};
  std::vector<float> out;
  // Some converters store integer scores; llama.cpp accepts both.
  if (const auto* f = std::get_if<std::vector<double>>(&it->second)) {
    for (double d : *f) out.push_back(static_cast<float>(d));
  } else if (const auto* i = std::get_if<std::vector<int64_t>>(&it->second)) {
    for (int64_t v : *i) out.push_back(static_cast<float>(v));
  } else {
    throw Error("'" + g.label() + "': tokenizer.ggml.scores is not an array of numbers");
  }
  if (out.size() < n)
    throw Error("'" + g.label() + "': tokenizer.ggml.scores has " + std::to_string(out.size()) +
                " entries for " + std::to_string(n) + " tokens");
  out.resize(n);
  return out;
}

std::vector<TokenType> read_types(const GgufFile& g, size_t n) {
  std::vector<TokenType> out(n, TokenType::normal);
  const auto* t = g.get_ints("tokenizer.ggml.token_type");
  if (!t) return out;
  if (t->size() < n)
    throw Error("'" + g.label() + "': tokenizer.ggml.token_type has " + std::to_string(t->size()) +
                " entries for " + std::to_string(n) + " tokens");
  for (size_t i = 0; i < n; ++i) {
    const int64_t v = (*t)[i];
    out[i] = (v >= 0 && v <= 6) ? static_cast<TokenType>(v) : TokenType::undefined;
  }
  return out;
}

// A special id from the file replaces the default only when it names a token,
// as in llama.cpp (files often store 0xFFFFFFFF or a stale id for "none").
void read_special(const GgufFile& g, const char* key, size_t n, int32_t& id) {
  if (id >= 0 && static_cast<size_t>(id) >= n) id = -1;
  const auto v = g.get_uint(key);
  if (v && *v < n) id = static_cast<int32_t>(*v);
}

}  // namespace

Vocab vocab_from_gguf(const GgufFile& g) {
  const auto model = g.get_string("tokenizer.ggml.model");
  if (!model) throw Error("'" + g.label() + "' has no tokenizer (tokenizer.ggml.model is missing)");
  Vocab v;
  if (*model == "llama") {
    v.kind = VocabKind::spm;
    v.bos_id = 1, v.eos_id = 2, v.unk_id = 0;  // llama.cpp's SPM defaults
    v.add_bos = true;
    v.add_space_prefix = true;
  } else if (*model == "gpt2") {
    v.kind = VocabKind::bpe;
  } else {
    throw Error("'" + g.label() + "': tokenizer '" + *model +
                "' is not supported (supported: llama = SentencePiece BPE, gpt2 = byte-level BPE)");
  }
  const auto* tokens = g.get_strings("tokenizer.ggml.tokens");
  if (!tokens || tokens->empty()) throw Error("'" + g.label() + "' has no tokenizer.ggml.tokens");
  if (tokens->size() > static_cast<size_t>(INT32_MAX))
    throw Error("'" + g.label() + "': vocabulary too large");
  const size_t n = tokens->size();
  v.tokens = *tokens;
  v.types = read_types(g, n);
  v.pre = g.get_string("tokenizer.ggml.pre").value_or("");
  v.name = g.get_string("general.name").value_or("");
  v.chat_template = g.get_string("tokenizer.chat_template").value_or("");
  if (v.kind == VocabKind::spm) {
    v.scores = read_scores(g, n);
    if (v.scores.empty()) v.scores.assign(n, 0.0f);
  } else {
    const auto* merges = g.get_strings("tokenizer.ggml.merges");
    if (!merges)
      throw Error("'" + g.label() + "': byte-level BPE tokenizer without tokenizer.ggml.merges");
    v.merges = *merges;
    v.add_bos = pre_adds_bos(v.pre);
  }
  read_special(g, "tokenizer.ggml.bos_token_id", n, v.bos_id);
  read_special(g, "tokenizer.ggml.eos_token_id", n, v.eos_id);
  read_special(g, "tokenizer.ggml.unknown_token_id", n, v.unk_id);
  read_special(g, "tokenizer.ggml.eot_token_id", n, v.eot_id);
  read_special(g, "tokenizer.ggml.eom_token_id", n, v.eom_id);
  read_special(g, "tokenizer.ggml.padding_token_id", n, v.pad_id);
  if (const auto b = g.get_bool("tokenizer.ggml.add_bos_token")) v.add_bos = *b;
  if (const auto b = g.get_bool("tokenizer.ggml.add_space_prefix")) v.add_space_prefix = *b;
  if (v.add_bos && v.bos_id < 0) v.add_bos = false;  // nothing to add
  return v;
}

namespace {

bool is_byte_token(const std::string& t) {
  return t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' &&
         std::isxdigit(static_cast<unsigned char>(t[3])) &&
         std::isxdigit(static_cast<unsigned char>(t[4]));
}

// llama2.c's exporter wrote SentencePiece's "▁" as a plain space and wrapped
// BOS/EOS in newlines; undo both so the vocabulary follows GGUF's conventions.
std::string from_llama2c_text(std::string t, size_t id) {
  if (id == 0) return "<unk>";
  if (id == 1) return "<s>";
  if (id == 2) return "</s>";
  std::string out;
  for (char c : t) {
    if (c == ' ')
      out += "\xE2\x96\x81";
    else
      out += c;
  }
  return out;
}

}  // namespace

Vocab vocab_from_llama2c(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open tokenizer '" + path + "'");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  ByteReader r({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()},
               "'" + path + "' is not a valid llama2.c tokenizer");
  const int32_t max_len = r.read<int32_t>();
  if (max_len <= 0 || max_len > (1 << 20)) {
    // SentencePiece's tokenizer.model is a protobuf: it opens with field 1 (pieces), tag 0x0A.
    if (!bytes.empty() && bytes[0] == 0x0A)
      throw InvalidArgument("'" + path +
                            "' looks like a SentencePiece tokenizer.model (protobuf), which sinkstream does not "
                            "read: give a llama2.c tok*.bin (llama2.c's tokenizer.py exports one) or a GGUF file "
                            "that holds the tokenizer");
    r.fail("not a GGUF file or a llama2.c tokenizer (implausible max_token_length " + std::to_string(max_len) +
           ")");
  }
  Vocab v;
  v.kind = VocabKind::spm;
  v.bos_id = 1, v.eos_id = 2, v.unk_id = 0;
  v.add_bos = true;
  v.add_space_prefix = true;
  // Each token takes at least 8 bytes, so the loop is bounded by the file size.
  while (!r.done()) {
    const float score = r.read<float>();
    const int32_t len = r.read<int32_t>();
    if (len < 0 || len > max_len)
      r.fail("token length " + std::to_string(len) + " outside 0.." + std::to_string(max_len));
    const size_t id = v.tokens.size();
    std::string text = from_llama2c_text(r.bytes(static_cast<size_t>(len)), id);
    TokenType type = TokenType::normal;
    if (id == 0)
      type = TokenType::unknown;
    else if (id <= 2)
      type = TokenType::control;
    else if (is_byte_token(text))
      type = TokenType::byte;
    v.tokens.push_back(std::move(text));
    v.scores.push_back(score);
    v.types.push_back(type);
  }
  if (v.tokens.size() < 3)
    throw Error("'" + path + "' holds " + std::to_string(v.tokens.size()) +
                " tokens; a llama2.c tokenizer needs at least <unk>, <s>, </s>");
  return v;
}

bool is_gguf_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

Vocab vocab_from_file(const std::string& path) {
  if (is_gguf_file(path)) return vocab_from_gguf(GgufFile::open(path));
  return vocab_from_llama2c(path);
}

}  // namespace sinkstream::model
