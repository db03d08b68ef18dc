// Python str semantics on UTF-8 bytes: Python indexes, slices, strips and
// splits by code point, and its notion of whitespace and line breaks is
// Unicode's. Invalid UTF-8 bytes count as one code point each (U+DC80.. as
// Python's surrogateescape would), so nothing is lost on the way back.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace sinkstream::text::jinja {

std::u32string utf8_decode(std::string_view s);
std::string utf8_encode(std::u32string_view s);
void utf8_append(std::string& out, char32_t c);
size_t utf8_length(std::string_view s);

bool py_isspace(char32_t c);
bool py_is_linebreak(char32_t c);  // what str.splitlines splits at

std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right);
std::vector<std::string> py_split(std::string_view s, const std::string* sep, long maxsplit);
std::vector<std::string> py_rsplit(std::string_view s, const std::string* sep, long maxsplit);
std::vector<std::string> py_splitlines(std::string_view s, bool keepends = false);
std::string py_replace(std::string_view s, std::string_view from, std::string_view to, long count);
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_title(std::string_view s);       // str.title()
std::string py_capitalize(std::string_view s);  // str.capitalize()
std::string py_repr(std::string_view s);        // repr(str)
std::string py_center(std::string_view s, size_t width);
// Whether float(s) accepts s (C's strtod also takes hex and other forms Python refuses).
bool py_float_syntax(std::string_view s);

}  // namespace sinkstream::text::jinja
