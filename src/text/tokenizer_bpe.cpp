// Byte-level BPE as llama.cpp's llm_tokenizer_bpe does it: split the text
// with the pre-tokenizer regexes of `tokenizer.ggml.pre`, map every byte of a
// piece to GPT-2's printable alphabet, then merge adjacent symbols lowest
// merge rank first (ties to the leftmost pair) until no merge applies.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <queue>

#include "text/tokenizer_impl.hpp"
#include "sinkstream/error.hpp"
#include "text/utf8.hpp"

namespace sinkstream::model::detail {
namespace {

// Pre-tokenizer regexes, verbatim from llama.cpp (src/llama-vocab.cpp,
// llm_tokenizer_bpe) but for o200k's (below), split only at top-level
// alternatives. Lists apply in order.
// clang-format off
constexpr const char* kGpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
constexpr const char* kLlama3 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
    "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// o200k (GPT-4o, gpt-oss) as tiktoken and tokenizer.json write it. llama.cpp
// runs a rewrite of it, since std::regex has neither \p{Lu} nor (?i:); PCRE2
// has both, so this is the original. The two differ only where the rewrite
// approximates: it counts every non-ASCII letter as both cases and no
// combining mark as part of a word ("e\u0301t\u00e9" is one piece here, as in
// tiktoken; llama.cpp cuts it at the mark).
constexpr const char* kO200k =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// clang-format on

bool one_of(const std::string& s, std::initializer_list<const char*> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return s == n; });
}

}  // namespace

std::vector<std::string> bpe_pre_regexes(const std::string& pre) {
  if (one_of(pre, {"gpt-2", "phi-2", "jina-es", "jina-de", "jina-v1-en", "jina-v2-es", "jina-v2-de",
                   "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais", "exaone4"}))
    return {kGpt2};
  if (one_of(pre,
             {"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"}))
    return {"\\p{N}", kGpt2};
  if (one_of(pre, {"llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral", "dbrx", "smaug-bpe",
                   "chatglm-bpe", "glm4"}))
    return {kLlama3};
  if (one_of(pre, {"qwen2", "deepseek-r1-qwen", "stablelm2", "megrez", "hunyuan"})) return {kQwen2};
  if (one_of(pre, {"gpt-4o", "llama4"})) return {kO200k};
  if (pre == "deepseek-coder")
    return {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}"};
  if (pre == "falcon") return {"[\\p{P}\\$\\+<=>\\^~\\|`]+", kGpt2, "[0-9][0-9][0-9]"};
  if (pre == "default" || pre.empty())
    return {"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2, "\\p{N}+", "[0-9][0-9][0-9]"};
  return {};
}

namespace {

// llama.cpp (like HF tokenizers) treats the Unicode White_Space set as \s,
// which includes U+0085; PCRE2's \s under UCP does not. Rewrite \s and \S,
// inside or outside classes, to the property itself.
std::string with_unicode_whitespace(std::string_view re) {
  std::string out;
  for (size_t i = 0; i < re.size(); ++i) {
    if (re[i] == '\\' && i + 1 < re.size()) {
      const char c = re[++i];
      if (c == 's')
        out += "\\p{White_Space}";
      else if (c == 'S')
        out += "\\P{White_Space}";
      else
        out += {'\\', c};
    } else {
      out += re[i];
    }
  }
  return out;
}

struct CodeDeleter {
  void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
using Code = std::unique_ptr<pcre2_code, CodeDeleter>;

Code compile(const std::string& pattern) {
  int err = 0;
  PCRE2_SIZE at = 0;
  const std::string re = with_unicode_whitespace(pattern);
  pcre2_code* c = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(re.data()), re.size(),
                                PCRE2_UTF | PCRE2_UCP, &err, &at, nullptr);
  if (!c) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    throw Error("pre-tokenizer regex does not compile at offset " + std::to_string(at) + ": " +
                reinterpret_cast<const char*>(msg));
  }
  // Without JIT support (some platforms) pcre2_match falls back to the interpreter.
  pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
  return Code(c);
}

// Replaces invalid UTF-8 (which PCRE2 refuses) by U+FFFD, decoding leniently
// like llama.cpp's unicode_cpts_from_utf8 so valid text is untouched.
std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const size_t n = utf8_lead_length(b);
    bool ok = n > 0 && i + n <= s.size();
    uint32_t cp = n == 1 ? b : n == 2 ? (b & 0x1Fu) : n == 3 ? (b & 0x0Fu) : (b & 0x07u);
    for (size_t k = 1; ok && k < n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      ok = (c & 0xC0) == 0x80;
      cp = (cp << 6) | (c & 0x3Fu);
    }
    if (!ok || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      append_utf8(out, 0xFFFD);
      ++i;
      continue;
    }
    append_utf8(out, cp);  // re-encoding also normalises overlong forms, as llama.cpp does
    i += n;
  }
  return out;
}

struct Piece {
  size_t start, len;
};

}  // namespace

struct BpeEncoder::Regexes {
  std::vector<Code> codes;

  explicit Regexes(const std::vector<std::string>& patterns) {
    for (const auto& p : patterns) codes.push_back(compile(p));
  }

  // Each regex refines the pieces of the previous one; lookarounds see only
  // the current piece (llama.cpp runs std::regex over each piece's range).
  std::vector<Piece> split(std::string_view text) const {
    std::vector<Piece> pieces{{0, text.size()}};
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
        pcre2_match_data_create(1, nullptr), &pcre2_match_data_free);
    for (const auto& code : codes) {
      std::vector<Piece> next;
      next.reserve(pieces.size() * 2);
      for (const Piece& p : pieces)
        split_piece(code.get(), text.substr(p.start, p.len), p.start, md.get(), next);
      pieces = std::move(next);
    }
    return pieces;
  }

 private:
  static void split_piece(pcre2_code* code, std::string_view s, size_t base, pcre2_match_data* md,
                          std::vector<Piece>& out) {
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(s.data());
    size_t from = 0, done = 0;
    while (from < s.size()) {
      const int rc = pcre2_match(code, subject, s.size(), from, PCRE2_NO_UTF_CHECK, md, nullptr);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0)
        throw Error("pre-tokenizer regex failed on the text (PCRE2 error " + std::to_string(rc) +
                    ")");
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
      if (ov[1] == ov[0]) {  // empty match: step over one character
        from = ov[0] + utf8_seq_len(static_cast<unsigned char>(s[ov[0]]));
        continue;
      }
      if (ov[0] > done) out.push_back({base + done, ov[0] - done});
      out.push_back({base + ov[0], ov[1] - ov[0]});
      done = from = ov[1];
    }
    if (done < s.size()) out.push_back({base + done, s.size() - done});
  }
};

std::vector<std::string> regex_split(std::string_view text,
                                     const std::vector<std::string>& regexes) {
  const std::string clean = sanitize_utf8(text);
  std::vector<std::string> out;
  for (const Piece& p : BpeEncoder::Regexes(regexes).split(clean))
    out.emplace_back(clean.substr(p.start, p.len));
  return out;
}

namespace {

// GPT-2's byte-to-unicode map: printable Latin-1 bytes stand for themselves,
// the other 68 bytes are moved to U+0100.. in byte order, so that every byte
// is a visible character and merges never see spaces or control codes.
std::array<uint32_t, 256> byte_to_codepoint() {
  std::array<uint32_t, 256> m{};
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool printable =
        (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    m[b] = printable ? b : next++;
  }
  return m;
}

uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

}  // namespace

BpeEncoder::BpeEncoder(const Vocab& vocab, const TokenMap& ids) : ids_(ids) {
  const auto patterns = bpe_pre_regexes(vocab.pre);
  if (patterns.empty())
    throw Error(
        "unknown BPE pre-tokenizer '" + vocab.pre +
        "' (tokenizer.ggml.pre); supported: gpt-2, llama3, qwen2, gpt-4o, starcoder, smollm, "
        "deepseek-coder, mpt, falcon, default and their aliases");
  regexes_ = std::make_unique<Regexes>(patterns);
  // Not for gpt-4o: llama.cpp, whose ids this tokenizer matches, does not set it.
  // tiktoken does take a piece that is a token whole, so the two could differ on
  // a piece whose merges do not rebuild its token.
  ignore_merges_ = one_of(vocab.pre, {"llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral"});
  const auto cps = byte_to_codepoint();
  for (size_t b = 0; b < 256; ++b) append_utf8(byte_chars_[b], cps[b]);
  merges_.reserve(vocab.merges.size());
  for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
    const std::string& m = vocab.merges[rank];
    const size_t sp = m.find(' ', 1);  // llama.cpp's split: the first space after the first byte
    if (sp == std::string::npos) continue;
    const std::string_view left(m.data(), sp), right(m.data() + sp + 1, m.size() - sp - 1);
    const int32_t l = lookup(ids, left), r = lookup(ids, right);
    const int32_t merged = lookup(ids, std::string(left) + std::string(right));
    // A merge naming a non-token can never produce a token; skipping it keeps symbols as ids.
    if (l < 0 || r < 0 || merged < 0) continue;
    merges_.try_emplace(pair_key(l, r),
                        Merge{static_cast<int32_t>(rank), merged});  // first (lowest) rank wins
  }
}

BpeEncoder::~BpeEncoder() = default;

const BpeEncoder::Merge* BpeEncoder::find_merge(int32_t left, int32_t right) const {
  if (left < 0 || right < 0) return nullptr;
  const auto it = merges_.find(pair_key(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

std::string BpeEncoder::to_bytes(std::string_view t) {
  static const auto table = [] {
    std::unordered_map<uint32_t, uint8_t> inv;
    const auto cps = byte_to_codepoint();
    for (size_t b = 0; b < 256; ++b) inv[cps[b]] = static_cast<uint8_t>(b);
    return inv;
  }();
  std::string out;
  for (size_t i = 0; i < t.size();) {
    const auto lead = static_cast<unsigned char>(t[i]);
    const size_t n = std::min(utf8_seq_len(lead), t.size() - i);
    uint32_t cp = n == 1   ? lead
                  : n == 2 ? (lead & 0x1Fu)
                  : n == 3 ? (lead & 0x0Fu)
                           : (lead & 0x07u);
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(t[i + k]) & 0x3Fu);
    const auto it = table.find(cp);
    if (it != table.end())
      out += static_cast<char>(it->second);
    else
      out.append(t.substr(i, n));  // not from the alphabet (added tokens): keep as written
    i += n;
  }
  return out;
}

namespace {

struct Sym {
  int32_t prev, next;
  int32_t id;  // token id of the symbol's text, -1 if it is none
  size_t start, len;
};

struct RankedPair {
  int32_t rank, left, right;
  int32_t left_id, right_id;  // ids when queued: a pair is stale once either side changed
};

// Lowest rank first; ties to the leftmost pair.
struct PairOrder {
  bool operator()(const RankedPair& a, const RankedPair& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

}  // namespace

void BpeEncoder::encode_word(std::string_view w, std::vector<int32_t>& out) const {
  if (ignore_merges_) {
    if (const int32_t id = lookup(ids_, w); id >= 0) {
      out.push_back(id);
      return;
    }
  }
  std::vector<Sym> s;
  for (size_t off = 0; off < w.size();) {
    const size_t n = std::min(utf8_seq_len(static_cast<unsigned char>(w[off])), w.size() - off);
    const auto i = static_cast<int32_t>(s.size());
    s.push_back({i - 1, off + n == w.size() ? -1 : i + 1, lookup(ids_, w.substr(off, n)), off, n});
    off += n;
  }
  std::priority_queue<RankedPair, std::vector<RankedPair>, PairOrder> q;
  auto add = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    const auto& a = s[static_cast<size_t>(l)];
    const auto& b = s[static_cast<size_t>(r)];
    if (const Merge* m = find_merge(a.id, b.id)) q.push({m->rank, l, r, a.id, b.id});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(s.size()); ++i) add(i - 1, i);
  while (!q.empty()) {
    const RankedPair p = q.top();
    q.pop();
    Sym& l = s[static_cast<size_t>(p.left)];
    Sym& r = s[static_cast<size_t>(p.right)];
    if (l.len == 0 || r.len == 0 || l.next != p.right || l.id != p.left_id || r.id != p.right_id)
      continue;
    l.id = find_merge(l.id, r.id)->result;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) s[static_cast<size_t>(r.next)].prev = p.left;
    add(l.prev, p.left);
    add(p.left, l.next);
  }
  for (int32_t i = 0; i != -1; i = s[static_cast<size_t>(i)].next) {
    const Sym& x = s[static_cast<size_t>(i)];
    if (x.id >= 0) {
      out.push_back(x.id);
      continue;
    }
    // A character outside the vocabulary: llama.cpp tries its single bytes.
    for (char c : w.substr(x.start, x.len))
      if (const int32_t b = lookup(ids_, std::string_view(&c, 1)); b >= 0) out.push_back(b);
  }
}

void BpeEncoder::encode(std::string_view text, std::vector<int32_t>& out) const {
  const std::string clean = sanitize_utf8(text);
  // Books repeat words constantly; remembering each word's tokens makes
  // encoding them mostly hash lookups.
  std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache;
  std::string word;
  for (const Piece& p : regexes_->split(clean)) {
    word.clear();
    for (size_t i = p.start; i < p.start + p.len; ++i)
      word += byte_chars_[static_cast<unsigned char>(clean[i])];
    auto it = cache.find(std::string_view(word));
    if (it == cache.end()) {
      std::vector<int32_t> ids;
      encode_word(word, ids);
      if (cache.size() > (1u << 16)) cache.clear();  // bound the memory on endless unique text
      it = cache.emplace(word, std::move(ids)).first;
    }
    out.insert(out.end(), it->second.begin(), it->second.end());
  }
}

}  // namespace sinkstream::model::detail
