// Tokenizers: llama.cpp's own test vectors for real vocabularies pass
// exactly, text round-trips, special tokens and UTF-8 streaming behave.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "format/gguf.hpp"
#include "text/tokenizer.hpp"
#include "text/tokenizer_impl.hpp"
#include "text/utf8.hpp"
#include "text/vocab.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::test {
namespace {

using model::Tokenizer;
using model::TokenType;
using model::Vocab;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct VocabCase {
  std::string text;
  std::vector<int32_t> ids;
};

// llama.cpp's test-tokenizer-0 format: inputs separated by
// "\n__ggml_vocab_test__\n", one line of ids per input.
std::vector<VocabCase> read_cases(const std::string& gguf) {
  const std::string inp = slurp(gguf + ".inp"), sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t next = inp.find(sep, pos);
    texts.push_back(inp.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
    if (next == std::string::npos) break;
    pos = next + sep.size();
  }
  std::istringstream out(slurp(gguf + ".out"));
  std::vector<VocabCase> cases;
  for (std::string line; std::getline(out, line);) {
    VocabCase c;
    std::istringstream ids(line);
    for (int32_t id = 0; ids >> id;) c.ids.push_back(id);
    cases.push_back(std::move(c));
  }
  REQUIRE(cases.size() == texts.size());
  for (size_t i = 0; i < cases.size(); ++i) cases[i].text = texts[i];
  return cases;
}

Tokenizer load(const std::string& fixture_name) {
  return Tokenizer(model::vocab_from_gguf(model::GgufFile::open(fixture(fixture_name))));
}

const std::string kVocabs[] = {"llama-spm", "phi-3", "gpt-2", "starcoder", "deepseek-coder", "mpt"};

// A small SPM vocabulary: the three specials, byte tokens for a few bytes, and letters.
Vocab tiny_spm(std::vector<std::pair<std::string, float>> pieces) {
  Vocab v;
  v.kind = model::VocabKind::spm;
  v.bos_id = 1, v.eos_id = 2, v.unk_id = 0;
  v.add_space_prefix = true;
  v.tokens = {"<unk>", "<s>", "</s>"};
  v.types = {TokenType::unknown, TokenType::control, TokenType::control};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    v.tokens.push_back(name);
    v.types.push_back(TokenType::byte);
  }
  v.scores.assign(v.tokens.size(), 0.0f);
  for (auto& [text, score] : pieces) {
    v.tokens.push_back(text);
    v.types.push_back(TokenType::normal);
    v.scores.push_back(score);
  }
  return v;
}

// A byte-level BPE vocabulary: GPT-2's 256 byte characters, then `extra`.
Vocab tiny_bpe(const std::string& pre, std::vector<std::string> extra,
               std::vector<std::string> merges) {
  Vocab v;
  v.kind = model::VocabKind::bpe;
  v.pre = pre;
  for (int b = 0; b < 256; ++b) {
    const bool printable =
        (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    if (!printable) continue;
    std::string t;
    model::detail::append_utf8(t, static_cast<uint32_t>(b));
    v.tokens.push_back(t);
  }
  for (uint32_t cp = 256; cp < 256 + 68; ++cp) {
    std::string t;
    model::detail::append_utf8(t, cp);
    v.tokens.push_back(t);
  }
  for (auto& t : extra) v.tokens.push_back(std::move(t));
  v.types.assign(v.tokens.size(), TokenType::normal);
  v.merges = std::move(merges);
  return v;
}

std::vector<int32_t> ids_of(const Tokenizer& t, std::initializer_list<const char*> texts) {
  std::vector<int32_t> out;
  for (const char* s : texts) out.push_back(t.find(s).value_or(-1));
  return out;
}

// Hand-made GGUF metadata (no tensors) for the loader's error paths.
struct MetaBuilder {
  std::vector<uint8_t> b;
  uint64_t n = 0;
  template <typename T>
  void put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    b.insert(b.end(), p, p + sizeof(T));
  }
  void str(const std::string& s) {
    put<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
  }
  MetaBuilder& text(const std::string& key, const std::string& value) {
    str(key), put<uint32_t>(8), str(value), ++n;
    return *this;
  }
  MetaBuilder& strings(const std::string& key, const std::vector<std::string>& values) {
    str(key), put<uint32_t>(9), put<uint32_t>(8), put<uint64_t>(values.size()), ++n;
    for (const auto& v : values) str(v);
    return *this;
  }
  MetaBuilder& floats(const std::string& key, const std::vector<float>& values) {
    str(key), put<uint32_t>(9), put<uint32_t>(6), put<uint64_t>(values.size()), ++n;
    for (float v : values) put(v);
    return *this;
  }
  std::vector<uint8_t> file() const {
    MetaBuilder h;
    h.b = {'G', 'G', 'U', 'F'};
    h.put<uint32_t>(3), h.put<uint64_t>(0), h.put<uint64_t>(n);
    h.b.insert(h.b.end(), b.begin(), b.end());
    return h.b;
  }
};

Vocab vocab_of(const MetaBuilder& m) {
  const auto bytes = m.file();
  return model::vocab_from_gguf(model::GgufFile::parse(bytes, "hand-made"));
}

// Random valid UTF-8 from ASCII, Latin-1, Cyrillic, CJK, emoji and whitespace
// (without U+2581, which SPM vocabularies reserve for the space).
std::string random_text(uint32_t seed, size_t chars) {
  static const uint32_t kRanges[][2] = {{0x20, 0x7E},   {0x09, 0x0A},     {0xA0, 0xFF},
                                        {0x400, 0x44F}, {0x4E00, 0x4FFF}, {0x1F600, 0x1F64F}};
  std::string s;
  uint32_t x = seed;
  for (size_t i = 0; i < chars; ++i) {
    x = x * 1664525u + 1013904223u;
    const auto& r = kRanges[(x >> 8) % 6];
    x = x * 1664525u + 1013904223u;
    model::detail::append_utf8(s, r[0] + (x >> 8) % (r[1] - r[0] + 1));
  }
  return s;
}
}  // namespace

TEST_SUITE("tokenizer") {
  TEST_CASE("llama.cpp's vectors pass exactly for every fixture vocabulary") {
    for (const std::string& name : kVocabs) {
      const std::string file = "tokenizers/ggml-vocab-" + name + ".gguf";
      if (!have_fixture(file)) {
        MESSAGE("SKIPPED: fixture " << fixture(file) << " is not available");
        continue;
      }
      const Tokenizer tok = load(file);
      const auto cases = read_cases(fixture(file));
      size_t pass = 0;
      for (const auto& c : cases) {
        const auto got = tok.encode(c.text, false, false);
        if (got == c.ids) ++pass;
        CHECK_MESSAGE(got == c.ids, name << ": '" << c.text << "'");
      }
      MESSAGE(name << ": " << pass << "/" << cases.size() << " vectors pass");
      CHECK(cases.size() == 46);
    }
  }

  TEST_CASE("decode(encode(text)) gives the text back") {
    for (const std::string& name : kVocabs) {
      const std::string file = "tokenizers/ggml-vocab-" + name + ".gguf";
      if (!have_fixture(file)) continue;
      const Tokenizer tok = load(file);
      for (const auto& c : read_cases(fixture(file))) {
        CHECK_MESSAGE(tok.decode(tok.encode(c.text, false, false)) == c.text,
                      name << ": '" << c.text << "'");
        if (tok.bos() >= 0) CHECK(tok.decode(tok.encode(c.text, true, false)) == c.text);
      }
    }
  }

  TEST_CASE("random Unicode text round-trips through every vocabulary") {
    for (const std::string& name : kVocabs) {
      const std::string file = "tokenizers/ggml-vocab-" + name + ".gguf";
      if (!have_fixture(file)) continue;
      const Tokenizer tok = load(file);
      for (uint32_t seed = 1; seed <= 20; ++seed) {
        const std::string text = random_text(seed, 200);
        CHECK_MESSAGE(tok.decode(tok.encode(text, false, true)) == text, name << " seed " << seed);
      }
    }
  }

  TEST_CASE("arbitrary bytes, including invalid UTF-8, encode and decode without errors") {
    for (const std::string& name : kVocabs) {
      const std::string file = "tokenizers/ggml-vocab-" + name + ".gguf";
      if (!have_fixture(file)) continue;
      const Tokenizer tok = load(file);
      uint32_t x = 7;
      for (int i = 0; i < 200; ++i) {
        std::string bytes;
        for (int k = 0; k < i % 40; ++k)
          bytes += static_cast<char>((x = x * 1664525u + 1013904223u) >> 24);
        std::vector<int32_t> ids;
        CHECK_NOTHROW(ids = tok.encode(bytes, i % 2 == 0, i % 3 == 0));
        for (const int32_t id : ids) REQUIRE((id >= 0 && static_cast<size_t>(id) < tok.size()));
        CHECK_NOTHROW(tok.decode(ids, true));
      }
    }
  }

  TEST_CASE("GGUF tokenizer metadata is validated") {
    const std::vector<std::string> toks = {"<unk>", "<s>", "</s>", "a"};
    CHECK_THROWS_WITH(vocab_of(MetaBuilder().strings("tokenizer.ggml.tokens", toks)),
                      doctest::Contains("tokenizer.ggml.model is missing"));
    CHECK_THROWS_WITH(vocab_of(MetaBuilder()
                                   .text("tokenizer.ggml.model", "t5")
                                   .strings("tokenizer.ggml.tokens", toks)),
                      doctest::Contains("not supported"));
    CHECK_THROWS_WITH(vocab_of(MetaBuilder().text("tokenizer.ggml.model", "llama")),
                      doctest::Contains("no tokenizer.ggml.tokens"));
    CHECK_THROWS_WITH(vocab_of(MetaBuilder()
                                   .text("tokenizer.ggml.model", "llama")
                                   .strings("tokenizer.ggml.tokens", toks)
                                   .floats("tokenizer.ggml.scores", {0, 0})),
                      doctest::Contains("2 entries for 4 tokens"));
    CHECK_THROWS_WITH(vocab_of(MetaBuilder()
                                   .text("tokenizer.ggml.model", "gpt2")
                                   .strings("tokenizer.ggml.tokens", toks)),
                      doctest::Contains("merges"));
    const Vocab v = vocab_of(
        MetaBuilder().text("tokenizer.ggml.model", "llama").strings("tokenizer.ggml.tokens", toks));
    CHECK(v.kind == model::VocabKind::spm);
    CHECK(v.bos_id == 1);
    CHECK(v.add_space_prefix);
    CHECK(v.scores == std::vector<float>(4, 0.0f));  // no scores: all equal, merged leftmost-first
  }

  TEST_CASE("the stories260K prompt has the ids run.c feeds the model") {
    REQUIRE_FIXTURE("tok512.bin");
    REQUIRE_FIXTURE("stories260K.gguf");
    const Tokenizer bin(model::vocab_from_llama2c(fixture("tok512.bin")));
    const Tokenizer gguf(model::vocab_from_file(fixture("stories260K.gguf")));
    // BOS, then the first ids of the golden output in the fixtures' README.
    const std::vector<int32_t> want = {1, 403, 407, 261, 378};
    CHECK(bin.encode("Once upon a time", true, false) == want);
    CHECK(gguf.encode("Once upon a time", true, false) == want);
    CHECK(bin.size() == 512);
    CHECK(bin.vocab().tokens == gguf.vocab().tokens);
    CHECK(bin.vocab().scores == gguf.vocab().scores);  // this GGUF kept tok512's scores
    const std::string story = "Lily's mom said, \"Lily, let's go to the park.\"\nHé 🦙!";
    CHECK(bin.encode(story, true, false) == gguf.encode(story, true, false));
    CHECK(bin.decode(bin.encode(story, true, false)) == story);
    CHECK(bin.piece(403) == " Once");
    CHECK(bin.piece(13) == "\n");  // <0x0A>
    CHECK(bin.is_eog(2));
    CHECK_FALSE(bin.is_eog(403));
  }

  TEST_CASE("SPM merges the highest score first, ties to the leftmost pair") {
    // With equal scores (converted GGUFs sometimes store 0.0 for every token)
    // llama.cpp's queue takes the leftmost pair: "ab" wins over "bc".
    const Tokenizer equal(
        tiny_spm({{"\xE2\x96\x81", 0}, {"a", 0}, {"b", 0}, {"c", 0}, {"ab", 0}, {"bc", 0}}));
    CHECK(equal.encode("abc", false, false) == ids_of(equal, {"\xE2\x96\x81", "ab", "c"}));
    const Tokenizer scored(
        tiny_spm({{"\xE2\x96\x81", 0}, {"a", 0}, {"b", 0}, {"c", 0}, {"ab", -2}, {"bc", -1}}));
    CHECK(scored.encode("abc", false, false) == ids_of(scored, {"\xE2\x96\x81", "a", "bc"}));
    // Characters outside the vocabulary fall back to their bytes: "é" = C3 A9.
    const std::vector<int32_t> bytes = {*scored.find("\xE2\x96\x81"), 3 + 0xC3, 3 + 0xA9};
    CHECK(scored.encode("é", false, false) == bytes);
  }

  TEST_CASE("byte-level BPE merges by rank; llama3 takes whole-word tokens first") {
    const Tokenizer ranked(tiny_bpe("gpt-2", {"ab", "bc", "abc"}, {"b c", "a b"}));
    CHECK(ranked.encode("abc", false, false) ==
          ids_of(ranked, {"a", "bc"}));  // "b c" has the lower rank
    const Tokenizer chained(tiny_bpe("gpt-2", {"ab", "bc", "abc"}, {"a b", "ab c"}));
    CHECK(chained.encode("abc", false, false) == ids_of(chained, {"abc"}));
    const Tokenizer no_path(tiny_bpe("gpt-2", {"ab", "abc"}, {"a b"}));
    CHECK(no_path.encode("abc", false, false) == ids_of(no_path, {"ab", "c"}));
    // llama.cpp's ignore_merges for Llama 3: a piece that is a token is used as is.
    const Tokenizer llama3(tiny_bpe("llama3", {"ab", "abc"}, {"a b"}));
    CHECK(llama3.encode("abc", false, false) == ids_of(llama3, {"abc"}));
    // Spaces and newlines travel as GPT-2's stand-ins: " " is U+0120 "Ġ", "\n" is U+010A "Ċ".
    CHECK(ranked.encode(" a\n", false, false) == ids_of(ranked, {"\xC4\xA0", "a", "\xC4\x8A"}));
    CHECK(ranked.decode(ranked.encode(" a\n", false, false)) == " a\n");
  }

  TEST_CASE("word-by-word SPM merging gives the ids of one global queue") {
    REQUIRE_FIXTURE("tokenizers/ggml-vocab-llama-spm.gguf");
    const Vocab v = model::vocab_from_gguf(
        model::GgufFile::open(fixture("tokenizers/ggml-vocab-llama-spm.gguf")));
    REQUIRE(model::detail::spm_words_are_independent(v.tokens));
    CHECK_FALSE(model::detail::spm_words_are_independent({"a", "a\xE2\x96\x81"}));
    model::detail::TokenMap ids;
    for (size_t i = 0; i < v.tokens.size(); ++i) ids.emplace(v.tokens[i], static_cast<int32_t>(i));
    std::array<int32_t, 256> bytes{};
    for (int b = 0; b < 256; ++b)
      bytes[static_cast<size_t>(b)] = 3 + b;  // <0x00> is id 3 in Llama's vocabulary
    uint32_t x = 99;
    for (uint32_t seed = 1; seed <= 60; ++seed) {
      std::string text = random_text(seed, 150);
      for (int k = 0; k < 20; ++k) {  // runs of spaces and stray bytes, where splitting is delicate
        x = x * 1664525u + 1013904223u;
        const size_t at = (x >> 8) % (text.size() + 1);
        text.insert(at, (x & 1) ? std::string((x >> 4) % 4 + 1, ' ')
                                : std::string(1, static_cast<char>(0x80 + (x >> 3) % 0x80)));
      }
      std::string escaped;
      for (char c : text) escaped += c == ' ' ? std::string("\xE2\x96\x81") : std::string(1, c);
      std::vector<int32_t> global, words;
      model::detail::spm_encode(escaped, ids, v.scores, bytes, false, global);
      model::detail::spm_encode(escaped, ids, v.scores, bytes, true, words);
      CHECK_MESSAGE(global == words, "seed " << seed);
    }
  }

  TEST_CASE("control tokens are single tokens only when parse_special is set") {
    REQUIRE_FIXTURE("tokenizers/ggml-vocab-phi-3.gguf");
    const Tokenizer tok = load("tokenizers/ggml-vocab-phi-3.gguf");
    const int32_t user = *tok.find("<|user|>"), end = *tok.find("<|end|>"),
                  assistant = *tok.find("<|assistant|>");
    const auto ids = tok.encode("<|user|>\nHello<|end|>\n<|assistant|>\n", true, true);
    // Phi-3's added tokens swallow the whitespace after them (llama.cpp, HF rstrip).
    const std::vector<int32_t> want = {1, user, *tok.find("\xE2\x96\x81Hello"), end, assistant};
    CHECK(ids == want);
    const auto plain = tok.encode("<|user|>", false, false);
    CHECK(plain.size() > 1);
    CHECK(std::find(plain.begin(), plain.end(), user) == plain.end());
    CHECK(tok.is_eog(end));
    CHECK(tok.decode(ids) == "Hello");
    CHECK(tok.decode(ids, true) == "<s><|user|>Hello<|end|><|assistant|>");
  }

  TEST_CASE("a ChatML control token added to a byte-level vocabulary is matched whole") {
    REQUIRE_FIXTURE("tokenizers/ggml-vocab-gpt-2.gguf");
    Vocab v =
        model::vocab_from_gguf(model::GgufFile::open(fixture("tokenizers/ggml-vocab-gpt-2.gguf")));
    v.tokens.push_back("<|im_start|>");
    v.types.push_back(TokenType::control);
    const auto im_start = static_cast<int32_t>(v.tokens.size() - 1);
    const Tokenizer tok(std::move(v));
    const auto ids = tok.encode("<|im_start|>user\nhi", false, true);
    REQUIRE(ids.size() >= 2);
    CHECK(ids[0] == im_start);
    CHECK(tok.decode(ids, true) == "<|im_start|>user\nhi");
    CHECK(tok.encode("<|im_start|>", false, false)[0] != im_start);
  }

  TEST_CASE("streaming decode holds back split UTF-8 characters") {
    for (const char* name : {"gpt-2", "llama-spm"}) {
      if (!have_fixture(std::string("tokenizers/ggml-vocab-") + name + ".gguf")) continue;
      const Tokenizer tok = load(std::string("tokenizers/ggml-vocab-") + name + ".gguf");
      const std::string text = "a 🦙 and 🚀 ok é";
      const auto ids = tok.encode(text, false, false);
      model::StreamingDecoder dec(tok);
      std::string out;
      for (const int32_t id : ids) {
        const std::string part = dec.push(id);
        CHECK(model::utf8_complete_prefix(part) == part.size());  // never ends mid-character
        out += part;
      }
      out += dec.flush();
      const std::string want = std::string(name) == "llama-spm" ? " " + text : text;
      CHECK(out == want);
    }
  }

  TEST_CASE("utf8_complete_prefix stops before an unfinished character only") {
    CHECK(model::utf8_complete_prefix("abc") == 3);
    CHECK(model::utf8_complete_prefix("a\xF0\x9F") == 1);
    CHECK(model::utf8_complete_prefix("a\xF0\x9F\xA6\x99") == 5);
    CHECK(model::utf8_complete_prefix("\xC3") == 0);
    CHECK(model::utf8_complete_prefix("\x80\x80") == 2);  // stray continuation bytes pass
    CHECK(model::utf8_complete_prefix("a\xFF") == 2);     // never valid: pass
  }

  TEST_CASE("utf8_valid_length accepts well-formed sequences only") {
    using model::utf8_valid_length;
    CHECK(utf8_valid_length("a", 0) == 1);
    CHECK(utf8_valid_length("\xC3\xA9", 0) == 2);          // é
    CHECK(utf8_valid_length("\xE2\x96\x81", 0) == 3);      // ▁
    CHECK(utf8_valid_length("\xF0\x9F\xA6\x99", 0) == 4);  // 🦙
    CHECK(utf8_valid_length("\xF4\x8F\xBF\xBF", 0) == 4);  // U+10FFFF
    CHECK(utf8_valid_length("\x80", 0) == 0);               // stray continuation
    CHECK(utf8_valid_length("\xC3", 0) == 0);               // truncated
    CHECK(utf8_valid_length("\xC3" "A", 0) == 0);           // not a continuation
    CHECK(utf8_valid_length("\xC0\xAF", 0) == 0);          // overlong '/'
    CHECK(utf8_valid_length("\xE0\x80\xAF", 0) == 0);      // overlong
    CHECK(utf8_valid_length("\xED\xA0\x80", 0) == 0);      // surrogate U+D800
    CHECK(utf8_valid_length("\xF0\x80\x80\xAF", 0) == 0);  // overlong
    CHECK(utf8_valid_length("\xF4\x90\x80\x80", 0) == 0);  // past U+10FFFF
    CHECK(utf8_valid_length("\xFF", 0) == 0);
    CHECK(utf8_valid_length("ab\xC3\xA9", 2) == 2);
  }

  TEST_CASE("pre-tokenizer regexes split like llama.cpp's") {
    using model::detail::bpe_pre_regexes;
    using model::detail::regex_split;
    using V = std::vector<std::string>;
    for (const char* pre :
         {"gpt-2", "llama3", "qwen2", "starcoder", "deepseek-coder", "mpt", "smollm"})
      CHECK_MESSAGE(!bpe_pre_regexes(pre).empty(), pre);
    CHECK(bpe_pre_regexes("no-such-pre").empty());
    CHECK(regex_split("Hello world 12345", bpe_pre_regexes("llama3")) ==
          V{"Hello", " world", " ", "123", "45"});
    CHECK(regex_split("12345", bpe_pre_regexes("qwen2")) == V{"1", "2", "3", "4", "5"});
    CHECK(regex_split("HE'S here  x", bpe_pre_regexes("llama3")) ==
          V{"HE", "'S", " here", " ", " x"});
    CHECK(regex_split("HE'S", bpe_pre_regexes("gpt-2")) ==
          V{"HE", "'", "S"});  // contractions: lower case only
    CHECK(regex_split("x\n\n  y", bpe_pre_regexes("llama3")) == V{"x", "\n\n", " ", " y"});
    // U+0085 (NEL) is Unicode White_Space, as in llama.cpp; PCRE2's plain \s would miss it.
    CHECK(regex_split("a\xC2\x85\xC2\x85x", bpe_pre_regexes("gpt-2")) ==
          V{"a", "\xC2\x85", "\xC2\x85", "x"});
    // Invalid UTF-8 becomes U+FFFD before splitting, like llama.cpp.
    CHECK(regex_split("a\xFF", bpe_pre_regexes("gpt-2")) == V{"a", "\xEF\xBF\xBD"});
  }

  TEST_CASE("gpt-4o's pre-tokenizer (gpt-oss) splits as tiktoken's o200k regex") {
    using model::detail::bpe_pre_regexes;
    using model::detail::regex_split;
    using V = std::vector<std::string>;
    const auto o200k = bpe_pre_regexes("gpt-4o");
    REQUIRE(o200k.size() == 1);
    CHECK(bpe_pre_regexes("llama4") == o200k);
    // Words are an optional non-letter, capitals, then lower case: the contraction
    // belongs to the word whatever its case (llama3 splits "HE" "'S").
    CHECK(regex_split("HELLO'S world", o200k) == V{"HELLO'S", " world"});
    CHECK(regex_split("they're I'M don't", o200k) == V{"they're", " I'M", " don't"});
    // A capital run may start the next word: "HTTPR" + "esponse" is one piece.
    CHECK(regex_split("CamelCase getHTTPResponse", o200k) == V{"Camel", "Case", " get", "HTTPResponse"});
    CHECK(regex_split("12345", o200k) == V{"123", "45"});  // \p{N}{1,3}, left to right
    // Newlines never join a word (the leading class excludes \r\n); "\s*[\r\n]+"
    // takes spaces up to the last newline, the space before "y" goes with it.
    CHECK(regex_split("x  \n y", o200k) == V{"x", "  \n", " y"});
    CHECK(regex_split("x\r\n\r\ny", o200k) == V{"x", "\r\n\r\n", "y"});
    // A punctuation run keeps the newlines after it ("[\r\n/]*"); a tab or a
    // slash before a word is the word's optional leading character.
    CHECK(regex_split("end...\n\nnext", o200k) == V{"end", "...\n\n", "next"});
    CHECK(regex_split("if (x):\n\treturn", o200k) == V{"if", " (", "x", "):\n", "\treturn"});
    CHECK(regex_split("a/b //c", o200k) == V{"a", "/b", " //", "c"});
    // "\s+(?!\S)" leaves the last space of a run to the word after it.
    CHECK(regex_split("!!\n\n  x", o200k) == V{"!!\n\n", " ", " x"});
    // Unicode cases and combining marks (U+0301) are words' letters, as in tiktoken.
    CHECK(regex_split("\xC3\x89" "COLE \xC3\xA9l\xC3\xA8ve", o200k) ==
          V{"\xC3\x89" "COLE", " \xC3\xA9l\xC3\xA8ve"});
    CHECK(regex_split("e\xCC\x81t\xC3\xA9", o200k) == V{"e\xCC\x81t\xC3\xA9"});
    CHECK(regex_split("\xC3\xA9\xC3\x89", o200k) == V{"\xC3\xA9", "\xC3\x89"});
    // A vocabulary naming it encodes (merges as any byte-level BPE: no ignore_merges).
    const Tokenizer tok(tiny_bpe("gpt-4o", {"ab", "abc"}, {"a b"}));
    CHECK(tok.encode("abc", false, false) == ids_of(tok, {"ab", "c"}));
    CHECK(tok.decode(tok.encode("HELLO'S world\n", false, false)) == "HELLO'S world\n");
  }

  TEST_CASE("harmony vocabularies end the turn at <|return|> and <|call|>, not at <|end|>") {
    auto with = [](std::vector<std::string> specials) {
      Vocab v = tiny_bpe("gpt-4o", {}, {});
      for (auto& t : specials) {
        v.tokens.push_back(std::move(t));
        v.types.push_back(TokenType::control);
      }
      return Tokenizer(std::move(v));
    };
    const Tokenizer harmony = with({"<|start|>", "<|channel|>", "<|message|>", "<|end|>", "<|return|>", "<|call|>"});
    CHECK_FALSE(harmony.is_eog(*harmony.find("<|end|>")));
    CHECK(harmony.is_eog(*harmony.find("<|return|>")));
    CHECK(harmony.is_eog(*harmony.find("<|call|>")));
    CHECK_FALSE(harmony.is_eog(*harmony.find("<|start|>")));
    const Tokenizer phi3_like = with({"<|end|>", "<|user|>"});  // Phi-3 ends its turns with <|end|>
    CHECK(phi3_like.is_eog(*phi3_like.find("<|end|>")));
  }

  TEST_CASE("unknown pre-tokenizers and broken vocabularies are errors") {
    Vocab v = tiny_spm({{"a", 0}});
    v.kind = model::VocabKind::bpe;
    v.pre = "no-such-pre";
    CHECK_THROWS_AS(Tokenizer{v}, Error);
    Vocab w = tiny_spm({{"a", 0}});
    w.scores.pop_back();
    CHECK_THROWS_AS(Tokenizer{w}, Error);
    const Tokenizer ok(tiny_spm({{"a", 0}}));
    CHECK_THROWS_AS(ok.piece(-1), InvalidArgument);
    CHECK_THROWS_AS(ok.piece(static_cast<int32_t>(ok.size())), InvalidArgument);
  }

  TEST_CASE("hostile llama2.c tokenizer files give errors") {
    const auto path = (std::filesystem::temp_directory_path() / "sinkstream_bad_tok.bin").string();
    auto write = [&](const std::vector<int32_t>& words) {
      std::ofstream(path, std::ios::binary)
          .write(reinterpret_cast<const char*>(words.data()),
                 static_cast<std::streamsize>(words.size() * 4));
    };
    write({});
    CHECK_THROWS_AS(model::vocab_from_llama2c(path), Error);
    write({8, 0, 2000000000});  // token length far beyond max_token_length
    CHECK_THROWS_AS(model::vocab_from_llama2c(path), Error);
    write({8, 0, -5});
    CHECK_THROWS_AS(model::vocab_from_llama2c(path), Error);
    write({8, 0, 4, 0x41414141, 0, 8});  // second token truncated
    CHECK_THROWS_AS(model::vocab_from_llama2c(path), Error);
    write({2000000000});
    CHECK_THROWS_AS(model::vocab_from_llama2c(path), Error);
    std::filesystem::remove(path);
    CHECK_THROWS_AS(model::vocab_from_llama2c(path), Error);  // missing file
  }
}

}  // namespace sinkstream::test
