// Tokenizer front end: special-token partitioning, dispatch to SPM or BPE,
// token pieces, decoding and UTF-8-safe streaming.
#include "text/tokenizer.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <utility>

#include "text/tokenizer_impl.hpp"
#include "sinkstream/error.hpp"
#include "text/utf8.hpp"

namespace sinkstream::model {

namespace detail {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace detail

namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // "▁", SentencePiece's visible space

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s.compare(i, from.size(), from) == 0) {
      out += to;
      i += from.size();
    } else {
      out += s[i++];
    }
  }
  return out;
}

bool is_special_type(TokenType t) {
  return t == TokenType::control || t == TokenType::user_defined || t == TokenType::unknown;
}

// Token texts that end a turn in the chat formats we know; like llama.cpp we
// stop on them even when the file forgot to name them (eot_token_id).
bool ends_generation(const std::string& t) {
  static const char* const kEog[] = {"<|eot_id|>",    "<|im_end|>",    "<|end|>",
                                     "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
                                     "<EOT>",         "<|eom_id|>",    "<｜end▁of▁sentence｜>",
                                     "<|return|>",    "<|call|>"};
  return std::any_of(std::begin(kEog), std::end(kEog), [&](const char* e) { return t == e; });
}

// OpenAI's harmony (gpt-oss, o200k_harmony) ends a message with <|end|> and the
// turn with <|return|> or <|call|>: there <|end|> must not stop generation.
// Like llama.cpp, recognised by the vocabulary having both turn enders.
bool end_is_message_end(const Vocab& v) {
  const auto has = [&](const char* t) {
    return std::find(v.tokens.begin(), v.tokens.end(), t) != v.tokens.end();
  };
  return has("<|return|>") && has("<|call|>");
}

// llama.cpp's Phi-3 quirk (HF's rstrip=True on its added tokens): whitespace
// right after a special token is swallowed, so "<|user|>\nHi" encodes like "<|user|>Hi".
bool phi3_rstrip(const Vocab& v, int32_t id) {
  std::string name = v.name;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (name.find("phi-3") == std::string::npos && name.find("phi3") == std::string::npos)
    return false;
  const std::string& t = v.tokens[static_cast<size_t>(id)];
  return t != "<unk>" && t != "<s>" && t != "<|endoftext|>";
}

// The byte of a "<0xNN>" token; nullopt for any other text.
std::optional<uint8_t> hex_byte(const std::string& t) {
  unsigned v = 0;
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return std::nullopt;
  const auto [end, ec] = std::from_chars(t.data() + 3, t.data() + 5, v, 16);
  if (ec != std::errc() || end != t.data() + 5) return std::nullopt;
  return static_cast<uint8_t>(v);
}

struct Fragment {
  int32_t token;  // -1: raw text
  size_t start, len;
};

}  // namespace

struct Tokenizer::Impl {
  Vocab vocab;
  detail::TokenMap ids;
  std::vector<int32_t> specials;    // partition candidates, longest text first
  std::vector<uint8_t> rstrip;      // per token
  std::vector<uint8_t> eog;         // per token
  std::vector<std::string> pieces;  // per token, decoded bytes
  std::array<int32_t, 256> byte_ids{};
  bool spm_by_words = false;
  std::unique_ptr<detail::BpeEncoder> bpe;

  std::string make_piece(int32_t id) const;
  void split_on(std::string_view text, const Fragment& f, int32_t id,
                std::vector<Fragment>& out) const;
  std::vector<Fragment> partition(std::string_view text, bool parse_special) const;
};

std::string Tokenizer::Impl::make_piece(int32_t id) const {
  const std::string& t = vocab.tokens[static_cast<size_t>(id)];
  switch (vocab.type(id)) {
    case TokenType::control:
    case TokenType::unknown:
    case TokenType::user_defined:
      return t;
    case TokenType::normal:
      return vocab.kind == VocabKind::spm ? replace_all(t, kSpace, " ")
                                          : detail::BpeEncoder::to_bytes(t);
    case TokenType::byte: {
      const auto b = hex_byte(t);
      return b ? std::string(1, static_cast<char>(*b)) : t;
    }
    default:
      return {};  // unused / undefined: nothing, as llama.cpp
  }
}

// Cuts the raw fragment `f` at every occurrence of special token `id`,
// leftmost first, as llama.cpp's tokenizer_st_partition.
void Tokenizer::Impl::split_on(std::string_view text, const Fragment& f, int32_t id,
                               std::vector<Fragment>& out) const {
  const std::string& tok = vocab.tokens[static_cast<size_t>(id)];
  const size_t end = f.start + f.len;
  size_t pos = f.start;
  while (pos < end) {
    const size_t m = text.substr(0, end).find(tok, pos);
    if (m == std::string_view::npos) break;
    if (m > pos) out.push_back({-1, pos, m - pos});
    out.push_back({id, 0, 0});
    pos = m + tok.size();
    if (rstrip[static_cast<size_t>(id)])
      while (pos < end && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
  }
  if (pos < end) out.push_back({-1, pos, end - pos});
}

std::vector<Fragment> Tokenizer::Impl::partition(std::string_view text, bool parse_special) const {
  std::vector<Fragment> frags;
  if (text.empty()) return frags;
  frags.push_back({-1, 0, text.size()});
  for (const int32_t id : specials) {
    const TokenType t = vocab.type(id);
    // User-defined tokens are split out even from untrusted text (HF does the same).
    if (!parse_special && t != TokenType::user_defined) continue;
    if (text.find(vocab.tokens[static_cast<size_t>(id)]) == std::string_view::npos) continue;
    std::vector<Fragment> next;
    next.reserve(frags.size() + 2);
    for (const Fragment& f : frags) {
      if (f.token >= 0)
        next.push_back(f);
      else
        split_on(text, f, id, next);
    }
    frags = std::move(next);
  }
  return frags;
}

Tokenizer::Tokenizer(Vocab vocab) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.vocab = std::move(vocab);
  const Vocab& v = m.vocab;
  const size_t n = v.tokens.size();
  if (n == 0) throw Error("empty vocabulary");
  if (v.types.size() != n)
    throw Error("vocabulary has " + std::to_string(v.types.size()) + " token types for " +
                std::to_string(n) + " tokens");
  if (v.kind == VocabKind::spm && v.scores.size() != n)
    throw Error("SPM vocabulary without a score per token");
  m.ids.reserve(n);
  for (size_t i = 0; i < n; ++i)
    m.ids.emplace(v.tokens[i], static_cast<int32_t>(i));  // duplicates: first id wins
  m.rstrip.assign(n, 0);
  m.eog.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const auto id = static_cast<int32_t>(i);
    if (is_special_type(v.types[i]) && !v.tokens[i].empty()) {
      m.specials.push_back(id);
      m.rstrip[i] = phi3_rstrip(v, id);
    }
    if (ends_generation(v.tokens[i])) m.eog[i] = 1;
  }
  std::stable_sort(m.specials.begin(), m.specials.end(), [&](int32_t a, int32_t b) {
    return v.tokens[static_cast<size_t>(a)].size() > v.tokens[static_cast<size_t>(b)].size();
  });
  for (const int32_t id : {v.eos_id, v.eot_id, v.eom_id})
    if (id >= 0 && static_cast<size_t>(id) < n) m.eog[static_cast<size_t>(id)] = 1;
  if (end_is_message_end(v))
    for (size_t i = 0; i < n; ++i)
      if (v.tokens[i] == "<|end|>") m.eog[i] = 0;
  m.pieces.reserve(n);
  for (size_t i = 0; i < n; ++i) m.pieces.push_back(m.make_piece(static_cast<int32_t>(i)));
  for (int b = 0; b < 256; ++b) {
    static const char* kHex = "0123456789ABCDEF";
    const std::string hex = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
    int32_t id = detail::lookup(m.ids, hex);
    if (id < 0) id = detail::lookup(m.ids, std::string(1, static_cast<char>(b)));
    m.byte_ids[static_cast<size_t>(b)] = id >= 0 ? id : v.unk_id;
  }
  if (v.kind == VocabKind::spm) m.spm_by_words = detail::spm_words_are_independent(v.tokens);
  if (v.kind == VocabKind::bpe) m.bpe = std::make_unique<detail::BpeEncoder>(m.vocab, m.ids);
}

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos,
                                       bool parse_special) const {
  const Impl& m = *impl_;
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (add_bos) {
    if (m.vocab.bos_id < 0) throw InvalidArgument("this vocabulary has no BOS token");
    out.push_back(m.vocab.bos_id);
  }
  bool after_special = true;  // SPM's space prefix goes at the start and after every special token
  for (const Fragment& f : m.partition(text, parse_special)) {
    if (f.token >= 0) {
      out.push_back(f.token);
      after_special = true;
      continue;
    }
    const std::string_view raw = text.substr(f.start, f.len);
    if (m.vocab.kind == VocabKind::spm) {
      std::string s = (m.vocab.add_space_prefix && after_special) ? " " : "";
      s += raw;
      detail::spm_encode(replace_all(s, " ", kSpace), m.ids, m.vocab.scores, m.byte_ids,
                         m.spm_by_words, out);
    } else {
      m.bpe->encode(raw, out);
    }
    after_special = false;
  }
  return out;
}

std::string Tokenizer::piece(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->pieces.size())
    throw InvalidArgument("token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                          std::to_string(impl_->pieces.size() - 1) + ")");
  return impl_->pieces[static_cast<size_t>(id)];
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  std::string out;
  bool first = true;
  const bool strip = impl_->vocab.kind == VocabKind::spm && impl_->vocab.add_space_prefix;
  for (const int32_t id : ids) {
    std::string p = piece(id);
    if (is_control(id) && !render_special) continue;
    // The encoder's space prefix belongs to the first piece of text.
    if (first && strip && !is_control(id) && !p.empty() && p[0] == ' ') p.erase(0, 1);
    if (!is_control(id)) first = false;
    out += p;
  }
  return out;
}

std::optional<int32_t> Tokenizer::find(std::string_view text) const {
  const int32_t id = detail::lookup(impl_->ids, text);
  return id >= 0 ? std::optional<int32_t>(id) : std::nullopt;
}

int32_t Tokenizer::bos() const {
  return impl_->vocab.bos_id;
}
int32_t Tokenizer::eos() const {
  return impl_->vocab.eos_id;
}
size_t Tokenizer::size() const {
  return impl_->vocab.tokens.size();
}
const Vocab& Tokenizer::vocab() const {
  return impl_->vocab;
}

bool Tokenizer::is_eog(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < impl_->eog.size() &&
         impl_->eog[static_cast<size_t>(id)];
}

bool Tokenizer::is_control(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= size()) return false;
  const TokenType t = impl_->vocab.type(id);
  return t == TokenType::control || t == TokenType::unknown;
}

size_t utf8_complete_prefix(std::string_view s) {
  // Walk back over at most 3 continuation bytes to the last lead byte.
  size_t i = s.size();
  size_t cont = 0;
  while (i > 0 && cont < 4 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) --i, ++cont;
  if (i == 0) return s.size();  // only continuation bytes: nothing can complete them
  const auto lead = static_cast<unsigned char>(s[i - 1]);
  const size_t need = std::max<size_t>(1, utf8_lead_length(lead));
  return (need > 1 && cont + 1 < need) ? i - 1 : s.size();
}

StreamingDecoder::StreamingDecoder(const Tokenizer& tok, bool render_special)
    : tok_(&tok), render_special_(render_special) {}

std::string StreamingDecoder::push(int32_t id) {
  if (tok_->is_control(id) && !render_special_) return {};
  pending_ += tok_->piece(id);
  const size_t n = utf8_complete_prefix(pending_);
  std::string out = pending_.substr(0, n);
  pending_.erase(0, n);
  return out;
}

std::string StreamingDecoder::flush() {
  return std::exchange(pending_, {});
}

}  // namespace sinkstream::model
