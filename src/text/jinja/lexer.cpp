#include "text/jinja/lexer.hpp"

#include <cstring>

#include "text/jinja/pystr.hpp"
#include "text/jinja/value.hpp"

namespace sinkstream::text::jinja {
namespace {

// jinja2 joins str.splitlines() with "\n": every Python line break becomes
// "\n" and a final one disappears.
std::string normalize_newlines(std::string_view src) {
  const std::u32string u = utf8_decode(src);
  std::string out;
  out.reserve(src.size());
  for (size_t i = 0; i < u.size(); ++i) {
    if (!py_is_linebreak(u[i])) {
      utf8_append(out, u[i]);
      continue;
    }
    if (u[i] == '\r' && i + 1 < u.size() && u[i + 1] == '\n') ++i;
    if (i + 1 < u.size()) out += '\n';
  }
  return out;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || is_digit(c);
}

// Python's whitespace test on a run of UTF-8 text (text.rstrip() and \s).
std::string rstrip_py(const std::string& s) {
  return py_strip(s, nullptr, false, true);
}
bool all_py_space(std::string_view s) {
  if (s.empty()) return false;
  for (char32_t c : utf8_decode(s))
    if (!py_isspace(c)) return false;
  return true;
}

class Lexer {
 public:
  explicit Lexer(std::string src) : s_(std::move(src)) {}
  std::vector<Token> run();

 private:
  std::string s_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;
  std::vector<Token> out_;

  void advance(size_t to) {
    for (size_t i = pos_; i < to; ++i) line_ += s_[i] == '\n';
    pos_ = to;
  }
  void emit(Tok t, std::string v) { out_.push_back({t, std::move(v), line_}); }
  [[noreturn]] void fail(const std::string& msg) const {
    throw SyntaxError("line " + std::to_string(line_) + ": " + msg);
  }
  void text_before(size_t tag, char kind, char sign);
  void comment();
  void tag(char kind);
  bool tag_end(char kind);
  void skip_space_after() {
    size_t e = pos_;
    while (e < s_.size() && is_space(s_[e])) ++e;
    line_starting_ = e > pos_ && s_[e - 1] == '\n';
    advance(e);
  }
  void number();
  void string_literal();
  void op(std::vector<char>& stack);
};

std::vector<Token> Lexer::run() {
  while (pos_ < s_.size()) {
    size_t at = pos_;
    for (;;) {
      at = s_.find('{', at);
      if (at == std::string::npos || at + 1 >= s_.size()) {
        at = std::string::npos;
        break;
      }
      const char k = s_[at + 1];
      if (k == '{' || k == '%' || k == '#') break;
      ++at;
    }
    if (at == std::string::npos) {
      emit(Tok::text, s_.substr(pos_));
      advance(s_.size());
      break;
    }
    const char kind = s_[at + 1];
    const char sign =
        at + 2 < s_.size() && (s_[at + 2] == '-' || s_[at + 2] == '+') ? s_[at + 2] : 0;
    text_before(at, kind, sign);
    advance(at + 2 + (sign ? 1 : 0));
    if (kind == '#') {
      comment();
    } else {
      emit(kind == '{' ? Tok::var_begin : Tok::block_begin, "");
      tag(kind);
    }
  }
  emit(Tok::eof, "");
  return std::move(out_);
}

void Lexer::text_before(size_t tag, char kind, char sign) {
  std::string text = s_.substr(pos_, tag - pos_);
  if (sign == '-') {
    text = rstrip_py(text);
  } else if (sign != '+' && kind != '{') {  // lstrip_blocks: block and comment tags only
    const size_t nl = text.rfind('\n');
    const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
    if ((l_pos > 0 || line_starting_) && all_py_space(std::string_view(text).substr(l_pos)))
      text.resize(l_pos);
  }
  if (!text.empty()) emit(Tok::text, std::move(text));
}

void Lexer::comment() {
  const size_t end = s_.find("#}", pos_);
  if (end == std::string::npos) fail("missing end of comment tag");
  const bool strip = end > pos_ && s_[end - 1] == '-';
  advance(end + 2);
  if (strip) {
    skip_space_after();
  } else {
    line_starting_ = pos_ < s_.size() && s_[pos_] == '\n';  // trim_blocks
    if (line_starting_) advance(pos_ + 1);
  }
}

// At the closing delimiter of a block ("%}") or variable ("}}") tag, with its
// whitespace control: consumes it and returns true.
bool Lexer::tag_end(char kind) {
  const char* close = kind == '{' ? "}}" : "%}";
  auto at = [&](size_t p, const char* lit) { return s_.compare(p, std::strlen(lit), lit) == 0; };
  if (s_[pos_] == '-' && at(pos_ + 1, close)) {
    advance(pos_ + 3);
    emit(kind == '{' ? Tok::var_end : Tok::block_end, "");
    skip_space_after();
    return true;
  }
  if (kind == '%' && s_[pos_] == '+' && at(pos_ + 1, close)) {
    advance(pos_ + 3);
    emit(Tok::block_end, "");
    line_starting_ = false;
    return true;
  }
  if (!at(pos_, close)) return false;
  advance(pos_ + 2);
  emit(kind == '{' ? Tok::var_end : Tok::block_end, "");
  line_starting_ = false;
  if (kind == '%' && pos_ < s_.size() && s_[pos_] == '\n') {  // trim_blocks
    advance(pos_ + 1);
    line_starting_ = true;
  }
  return true;
}

void Lexer::tag(char kind) {
  std::vector<char> stack;  // open brackets: the closing delimiter does not count inside them
  for (;;) {
    if (pos_ >= s_.size())
      fail(kind == '{' ? "unexpected end of template, expected '}}'"
                       : "unexpected end of template, expected '%}'");
    if (stack.empty() && tag_end(kind)) return;
    const char c = s_[pos_];
    if (is_space(c)) {
      advance(pos_ + 1);
    } else if (is_digit(c)) {
      number();
    } else if (is_name_start(c)) {
      size_t e = pos_;
      while (e < s_.size() && is_name_char(s_[e])) ++e;
      emit(Tok::name, s_.substr(pos_, e - pos_));
      advance(e);
    } else if (c == '\'' || c == '"') {
      string_literal();
    } else {
      op(stack);
    }
  }
}

void Lexer::number() {
  auto digits = [&](size_t p) {  // digits with single underscores between them
    while (p < s_.size() &&
           (is_digit(s_[p]) || (s_[p] == '_' && p + 1 < s_.size() && is_digit(s_[p + 1]))))
      ++p;
    return p;
  };
  size_t e = digits(pos_);
  bool real = false;
  const bool after_dot = pos_ > 0 && s_[pos_ - 1] == '.';  // `x.0.1` is two attribute lookups
  if (!after_dot && e + 1 < s_.size() && s_[e] == '.' && is_digit(s_[e + 1])) {
    e = digits(e + 1);
    real = true;
  }
  if (!after_dot && e < s_.size() && (s_[e] == 'e' || s_[e] == 'E')) {
    size_t p = e + 1;
    if (p < s_.size() && (s_[p] == '+' || s_[p] == '-')) ++p;
    if (p < s_.size() && is_digit(s_[p])) {
      e = digits(p);
      real = true;
    }
  }
  std::string v;
  for (size_t i = pos_; i < e; ++i)
    if (s_[i] != '_') v += s_[i];
  emit(real ? Tok::real : Tok::integer, v);
  advance(e);
}

// Python's unicode-escape decoding of a string literal's body.
void Lexer::string_literal() {
  const char q = s_[pos_];
  std::string v;
  size_t p = pos_ + 1;
  auto hex = [&](size_t n) {
    if (p + n > s_.size()) fail("truncated \\x, \\u or \\U escape in a string");
    char32_t cp = 0;
    for (size_t k = 0; k < n; ++k) {
      const char h = s_[p + k];
      const int d = is_digit(h)                          ? h - '0'
                    : (h | 32) >= 'a' && (h | 32) <= 'f' ? (h | 32) - 'a' + 10
                                                         : -1;
      if (d < 0) fail("bad \\x, \\u or \\U escape in a string");
      cp = cp * 16 + static_cast<char32_t>(d);
    }
    p += n;
    if (cp > 0x10FFFF) fail("illegal Unicode character in a string escape");
    utf8_append(v, cp);
  };
  for (;;) {
    if (p >= s_.size()) fail("unterminated string");
    const char c = s_[p];
    if (c == q) break;
    if (c != '\\') {
      v += c;
      ++p;
      continue;
    }
    if (p + 1 >= s_.size()) fail("unterminated string");
    const char e = s_[p + 1];
    p += 2;
    static const char* simple = "\\\\''\"\"a\ab\bf\fn\nr\rt\tv\v";
    const char* hit = nullptr;
    for (const char* m = simple; *m; m += 2)
      if (*m == e) hit = m;
    if (hit) {
      v += hit[1];
    } else if (e == '\n') {  // line continuation
    } else if (e >= '0' && e <= '7') {
      unsigned o = static_cast<unsigned>(e - '0');
      for (int k = 0; k < 2 && p < s_.size() && s_[p] >= '0' && s_[p] <= '7'; ++k, ++p)
        o = o * 8 + static_cast<unsigned>(s_[p] - '0');
      utf8_append(v, o);
    } else if (e == 'x') {
      hex(2);
    } else if (e == 'u') {
      hex(4);
    } else if (e == 'U') {
      hex(8);
    } else if (e == 'N') {
      fail("\\N{...} escapes are not supported");
    } else {
      v += '\\';
      v += e;
    }
  }
  emit(Tok::string, std::move(v));
  advance(p + 1);
}

void Lexer::op(std::vector<char>& stack) {
  static const char* two[] = {"//", "**", "==", "!=", ">=", "<="};
  for (const char* t : two)
    if (s_.compare(pos_, 2, t) == 0) {
      emit(Tok::op, t);
      advance(pos_ + 2);
      return;
    }
  const char c = s_[pos_];
  if (!std::strchr("+-/*%~[](){}><=.:|,;", c))
    fail(std::string("unexpected character '") + c + "'");
  if (c == '(' || c == '[' || c == '{') stack.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
  if (c == ')' || c == ']' || c == '}') {
    if (stack.empty() || stack.back() != c) fail(std::string("unexpected '") + c + "'");
    stack.pop_back();
  }
  emit(Tok::op, std::string(1, c));
  advance(pos_ + 1);
}

}  // namespace

std::vector<Token> lex(std::string_view source) {
  return Lexer(normalize_newlines(source)).run();
}

}  // namespace sinkstream::text::jinja
