// Recursive-descent parser for the Jinja subset chat templates use, with
// jinja2's operator precedence (or < and < not < comparisons < + - < ~ <
// * / // % < ** < unary -, then postfix . [] () and | filters, `is` tests).
#pragma once
#include <string_view>

#include "text/jinja/ast.hpp"

namespace sinkstream::text::jinja {

// Throws SyntaxError with the line number. Nesting deeper than max_depth
// (brackets, blocks) is an error rather than a stack overflow.
Body parse(std::string_view source, int max_depth = 256);

// jinja2's compile-time checks on a parsed template (unknown filters and
// tests outside `if`, `break` outside loops); throws SyntaxError.
void validate(const Body& body);

}  // namespace sinkstream::text::jinja
