// Splits a template into tokens the way jinja2's lexer does with Hugging
// Face's settings (trim_blocks, lstrip_blocks, keep_trailing_newline off):
// line endings become "\n", the final one is dropped, `{%-`/`-%}` strip
// whitespace, a block tag alone on its line takes its indentation and its
// newline with it, and comments vanish.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace sinkstream::text::jinja {

enum class Tok {
  text,
  var_begin,
  var_end,
  block_begin,
  block_end,
  name,
  string,
  integer,
  real,
  op,
  eof
};

struct Token {
  Tok type;
  std::string value;  // text, name, operator, decoded string literal or number digits
  int line;
};

// Throws SyntaxError for unterminated tags, strings or comments.
std::vector<Token> lex(std::string_view source);

}  // namespace sinkstream::text::jinja
