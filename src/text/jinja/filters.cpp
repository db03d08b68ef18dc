// jinja2's built-in filters (the ones chat templates use), with Hugging
// Face's tojson. Filters that return generators in jinja2 (map, select,
// selectattr, reject, rejectattr, unique) return generator-flagged lists, so
// `|length` on them fails and `if` on them is always true, as in Python.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "text/jinja/pystr.hpp"
#include "text/jinja/render.hpp"

namespace sinkstream::text::jinja {
namespace {

// environment.getitem along "a.b.0": item first, then attribute.
Value attr_path(const Value& obj, const Value& path) {
  if (path.is_int()) return get_item(obj, path);
  static const std::string dot = ".";
  Value v = obj;
  for (const auto& part : py_split(to_str(path), &dot, -1)) {
    if (v.is_undefined()) return v;
    const bool digits = !part.empty() && std::all_of(part.begin(), part.end(),
                                                     [](char c) { return c >= '0' && c <= '9'; });
    v = get_item(v, digits ? Value(static_cast<int64_t>(std::strtoll(part.c_str(), nullptr, 10)))
                           : Value(part));
  }
  return v;
}

size_t length_of(const Value& v) {
  if (v.is_string()) return utf8_decode(v.str()).size();
  if (v.is_list() && !v.list().generator) return v.list().items.size();
  if (v.is_dict()) return v.dict().items.size();
  if (v.is_undefined()) return 0;
  throw Error("object of type '" + type_name(v) + "' has no len()");
}

// The key a case-insensitive sort or unique compares.
Value fold(const Value& v, bool case_sensitive) {
  return !case_sensitive && v.is_string() ? Value(py_lower(v.str())) : v;
}

Value do_default(const Value& v, Args& a) {
  const Value fallback = a.take(0, "default_value", Value(std::string()));
  const bool boolean = truthy(a.take(1, "boolean", Value(false)));
  return v.is_undefined() || (boolean && !truthy(v)) ? fallback : v;
}

Value do_join(Renderer& r, const Value& v, Args& a) {
  const std::string sep = to_str(a.take(0, "d", Value(std::string())));
  const Value attribute = a.take(1, "attribute", Value(None{}));
  std::string out;
  bool first = true;
  for (const auto& x : iterate(v)) {
    if (!first) out += sep;
    out += to_str(attribute.is_none() ? x : attr_path(x, attribute));
    first = false;
    r.check_size(out.size());
  }
  return Value(std::move(out));
}

Value do_indent(const Value& v, Args& a) {
  const Value width = a.take(0, "width", Value(4));
  const bool first = truthy(a.take(1, "first", Value(false)));
  const bool blank = truthy(a.take(2, "blank", Value(false)));
  std::string ind;
  if (width.is_string())
    ind = width.str();
  else
    ind.assign(
        static_cast<size_t>(std::clamp<int64_t>(static_cast<int64_t>(as_double(width)), 0, 4096)),
        ' ');
  const std::vector<std::string> lines = py_splitlines(to_str(v) + "\n");
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += "\n";
    out += (i > 0 && (blank || !lines[i].empty()) ? ind : "") + lines[i];
  }
  return Value(first ? ind + out : out);
}

// Test-based and attribute-based selection: select, reject, selectattr, rejectattr.
Value do_select(Renderer& r, const Value& v, Args& a, bool by_attr, bool keep) {
  if (!truthy(v)) {  // jinja2 guards with `if value:`, so None selects nothing
    a.pos.clear();
    a.kw.clear();
    return make_generator({});
  }
  const Value attribute = by_attr ? a.take(0, "attribute") : Value();
  std::vector<Value> rest(a.pos.begin() + (by_attr && !a.pos.empty() ? 1 : 0), a.pos.end());
  std::vector<Value> out;
  for (const auto& item : iterate(v)) {
    const Value x = by_attr ? attr_path(item, attribute) : item;
    bool ok;
    if (rest.empty()) {
      ok = truthy(x);
    } else {
      Args t;
      t.pos.assign(rest.begin() + 1, rest.end());
      ok = r.test(to_str(rest[0]), x, t);
    }
    if (ok == keep) out.push_back(item);
  }
  a.pos.clear();
  return make_generator(std::move(out));
}

Value do_map(Renderer& r, const Value& v, Args& a) {
  std::vector<Value> out;
  if (!truthy(v)) {
    a.pos.clear();
    a.kw.clear();
    return make_generator({});
  }
  if (a.has(99, "attribute")) {
    const Value attribute = a.take(99, "attribute");
    const Value fallback = a.take(99, "default");
    for (const auto& item : iterate(v)) {
      Value x = attr_path(item, attribute);
      out.push_back(x.is_undefined() && !fallback.is_undefined() ? fallback : x);
    }
    return make_generator(std::move(out));
  }
  if (a.pos.empty()) throw Error("map requires a filter argument");
  const std::string name = to_str(a.pos[0]);
  for (const auto& item : iterate(v)) {
    Args f;
    f.pos.assign(a.pos.begin() + 1, a.pos.end());
    f.kw = a.kw;
    out.push_back(r.filter(name, item, f));
  }
  a.pos.clear();
  a.kw.clear();
  return make_generator(std::move(out));
}

Value do_sort(const Value& v, Args& a, bool dictsort) {
  const bool reverse = truthy(a.take(dictsort ? 2 : 0, "reverse", Value(false)));
  const bool cs = truthy(a.take(dictsort ? 0 : 1, "case_sensitive", Value(false)));
  const Value attribute = dictsort ? Value() : a.take(2, "attribute", Value(None{}));
  const bool by_value = dictsort && to_str(a.take(1, "by", Value("key"))) == "value";
  std::vector<Value> items;
  if (dictsort) {
    if (!v.is_dict()) throw Error("You can only sort by either \"key\" or \"value\" of a mapping");
    for (const auto& [k, x] : v.dict().items) items.push_back(make_list({Value(k), x}, true));
  } else {
    items = iterate(v);
  }
  auto key = [&](const Value& x) {
    if (dictsort) return fold(x.list().items[by_value ? 1 : 0], cs);
    return fold(attribute.is_none() ? x : attr_path(x, attribute), cs);
  };
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    return reverse ? less(key(y), key(x)) : less(key(x), key(y));
  });
  return make_list(std::move(items));
}

Value do_unique(const Value& v, Args& a) {
  const bool cs = truthy(a.take(0, "case_sensitive", Value(false)));
  const Value attribute = a.take(1, "attribute", Value(None{}));
  std::vector<Value> out, seen;
  for (const auto& item : iterate(v)) {
    const Value k = fold(attribute.is_none() ? item : attr_path(item, attribute), cs);
    if (k.is_list() || k.is_dict()) throw Error("unhashable type: '" + type_name(k) + "'");
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return equal(s, k); }))
      continue;
    seen.push_back(k);
    out.push_back(item);
  }
  return make_generator(std::move(out));
}

Value do_int(const Value& v, Args& a) {
  const Value fallback = a.take(0, "default", Value(0));
  if (v.is_int()) return v;
  if (v.is_bool() || v.is_float()) {
    const double d = as_double(v);
    if (!std::isfinite(d) || std::fabs(d) > 9.2e18) return fallback;
    return Value(static_cast<int64_t>(d));
  }
  if (!v.is_string()) return fallback;
  const std::string s = py_strip(v.str(), nullptr, true, true);
  char* end = nullptr;
  errno = 0;
  const long long i = std::strtoll(s.c_str(), &end, 10);
  if (!s.empty() && *end == 0 && errno == 0) return Value(static_cast<int64_t>(i));
  const double d = std::strtod(s.c_str(), &end);
  if (!py_float_syntax(s) || *end != 0 || !std::isfinite(d) || std::fabs(d) > 9.2e18)
    return fallback;
  return Value(static_cast<int64_t>(d));
}

Value do_float(const Value& v, Args& a) {
  const Value fallback = a.take(0, "default", Value(0.0));
  if (v.is_number()) return Value(as_double(v));
  if (!v.is_string()) return fallback;
  const std::string s = py_strip(v.str(), nullptr, true, true);
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  return !py_float_syntax(s) || *end != 0 ? fallback : Value(d);
}

Value do_tojson(const Value& v, Args& a) {
  const bool ascii = truthy(a.take(0, "ensure_ascii", Value(false)));
  const Value indent = a.take(1, "indent", Value(None{}));
  const Value separators = a.take(2, "separators", Value(None{}));
  const bool sort_keys = truthy(a.take(3, "sort_keys", Value(false)));
  std::string s = to_json(v, indent, separators, sort_keys);
  if (!ascii) return Value(std::move(s));
  std::string out;
  char buf[16];
  for (char32_t c : utf8_decode(s)) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x10000) {
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      const unsigned x = static_cast<unsigned>(c) - 0x10000;
      std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xD800 + (x >> 10), 0xDC00 + (x & 0x3FF));
      out += buf;
    }
  }
  return Value(std::move(out));
}

Value first_or_last(const Value& v, bool first) {
  if (!first && v.is_list() && v.list().generator)
    throw Error("'generator' object is not reversible");
  const std::vector<Value> items = iterate(v);
  if (items.empty())
    return Value(Undefined{first ? "No first item, sequence was empty."
                                 : "No last item, sequence was empty."});
  return first ? items.front() : items.back();
}

Value do_round(const Value& v, Args& a) {
  const int64_t precision = static_cast<int64_t>(as_double(a.take(0, "precision", Value(0))));
  const std::string method = to_str(a.take(1, "method", Value("common")));
  if (v.is_int() && method == "common") return v;
  const double scale = std::pow(10.0, static_cast<double>(precision)), d = as_double(v) * scale;
  const double r = method == "ceil"    ? std::ceil(d)
                   : method == "floor" ? std::floor(d)
                                       : std::nearbyint(d);
  return Value(r / scale);
}

Value text_filter(const std::string& name, const Value& v, Args& a) {
  const std::string s = to_str(v);
  if (v.markup && (name == "trim" || name == "upper" || name == "lower" || name == "capitalize")) {
    Value plain(s);
    Value out = text_filter(name, plain, a);
    out.markup = true;  // Markup's str methods return Markup
    return out;
  }
  if (name == "trim") {
    const Value chars = a.take(0, "chars", Value(None{}));
    const std::string set = chars.is_none() ? std::string() : to_str(chars);
    return Value(py_strip(s, chars.is_none() ? nullptr : &set, true, true));
  }
  if (name == "upper") return Value(py_upper(s));
  if (name == "lower") return Value(py_lower(s));
  if (name == "capitalize") return Value(py_capitalize(s));
  if (name == "title") {  // jinja2 capitalises after runs of -, whitespace and ([{<
    std::u32string u = utf8_decode(s);
    bool start = true;
    for (auto& c : u) {
      const bool sep = c == '-' || py_isspace(c) || c == '(' || c == '{' || c == '[' || c == '<';
      const std::string one = utf8_encode(std::u32string(1, c));
      c = utf8_decode(start ? py_upper(one) : py_lower(one))[0];
      start = sep;
    }
    return Value(utf8_encode(u));
  }
  if (name == "replace") {
    const Value count = a.take(2, "count", Value(None{}));
    return Value(py_replace(s, to_str(a.take(0, "old")), to_str(a.take(1, "new")),
                            count.is_none() ? -1 : static_cast<long>(as_double(count))));
  }
  if (name == "escape" || name == "e" || name == "forceescape")
    return v.markup && name != "forceescape" ? v : make_markup(html_escape(s));
  if (name == "center") {
    const Value w = a.take(0, "width", Value(80));
    return Value(py_center(s, static_cast<size_t>(std::clamp<int64_t>(
                                  static_cast<int64_t>(as_double(w)), 0, 1 << 20))));
  }
  return Value(Undefined{});
}

// Filters over sequences and mappings; nullopt when `name` is none of them.
std::optional<Value> sequence_filter(Renderer& r, const std::string& name, const Value& v,
                                     Args& a) {
  Value out;
  if (name == "list") {
    out = make_list(iterate(v));
  } else if (name == "join") {
    out = do_join(r, v, a);
  } else if (name == "first" || name == "last") {
    out = first_or_last(v, name == "first");
  } else if (name == "reverse") {
    if (v.is_string()) {
      std::u32string u = utf8_decode(v.str());
      std::reverse(u.begin(), u.end());
      out = Value(utf8_encode(u));
    } else {
      std::vector<Value> items = iterate(v);
      std::reverse(items.begin(), items.end());
      out = make_generator(std::move(items));
    }
  } else if (name == "indent") {
    out = do_indent(v, a);
    out.markup = v.markup;
  } else if (name == "tojson") {
    out = do_tojson(v, a);
  } else if (name == "items") {
    if (!v.is_undefined() && !v.is_dict()) throw Error("Can only get item pairs from a mapping.");
    std::vector<Value> items;
    if (v.is_dict())
      for (const auto& [k, x] : v.dict().items) items.push_back(make_list({Value(k), x}, true));
    out = make_generator(std::move(items));
  } else if (name == "dictsort" || name == "sort") {
    out = do_sort(v, a, name == "dictsort");
  } else if (name == "unique") {
    out = do_unique(v, a);
  } else if (name == "map") {
    out = do_map(r, v, a);
  } else if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") {
    out = do_select(r, v, a, name.size() > 6, name[0] == 's');
  } else {
    return std::nullopt;
  }
  return out;
}

}  // namespace

Value call_filter(Renderer& r, const std::string& name, Value v, Args& a) {
  Value out = name == "format" ? Value() : text_filter(name, v, a);
  if (name == "format") {
    Value f(to_str(v));
    f.markup = v.markup;
    out = arith(r, "%", f, make_list(a.pos, true));
    a.pos.clear();
  } else if (!out.is_undefined()) {
    r.check_size(out.is_string() ? out.str().size() : 0);
  } else if (name == "default" || name == "d") {
    out = do_default(v, a);
  } else if (name == "length" || name == "count") {
    out = Value(static_cast<int64_t>(length_of(v)));
  } else if (name == "string") {
    out = Value(to_str(v));
    out.markup = v.markup;
  } else if (name == "safe") {
    out = make_markup(to_str(v));
  } else if (auto seq = sequence_filter(r, name, v, a)) {
    out = std::move(*seq);
  } else if (name == "int") {
    out = do_int(v, a);
  } else if (name == "float") {
    out = do_float(v, a);
  } else if (name == "abs") {
    if (v.is_int())
      out = std::get<int64_t>(v.v) < 0 ? arith(r, "-", Value(0), v) : v;
    else
      out = Value(std::fabs(as_double(v)));
  } else if (name == "round") {
    out = do_round(v, a);
  } else if (name == "attr") {
    const Value n = a.take(0, "name");
    out = v.is_namespace() ? get_attr(v, to_str(n)) : bound_method(v, to_str(n));
  } else if (name == "sum") {
    const Value attribute = a.take(0, "attribute", Value(None{}));
    out = a.take(1, "start", Value(0));
    for (const auto& x : iterate(v))
      out = arith(r, "+", out, attribute.is_none() ? x : attr_path(x, attribute));
  } else if (name == "min" || name == "max") {
    const bool cs = truthy(a.take(0, "case_sensitive", Value(false)));
    const Value attribute = a.take(1, "attribute", Value(None{}));
    const std::vector<Value> items = iterate(v);
    if (items.empty()) return Value(Undefined{"No aggregated item, sequence was empty."});
    out = items[0];
    for (const auto& x : items) {
      const Value kx = fold(attribute.is_none() ? x : attr_path(x, attribute), cs);
      const Value ko = fold(attribute.is_none() ? out : attr_path(out, attribute), cs);
      if (name == "min" ? less(kx, ko) : less(ko, kx)) out = x;
    }
  } else {
    throw Error("No filter named '" + name + "'.");
  }
  a.expect_done("filter " + name);
  return out;
}

bool known_filter(const std::string& name) {
  static const char* names[] = {
      "trim",    "upper",       "lower",  "capitalize", "title",      "replace", "escape",
      "e",       "forceescape", "center", "format",     "default",    "d",       "length",
      "count",   "string",      "safe",   "list",       "join",       "first",   "last",
      "reverse", "indent",      "tojson", "items",      "dictsort",   "sort",    "unique",
      "map",     "select",      "reject", "selectattr", "rejectattr", "int",     "float",
      "abs",     "round",       "attr",   "sum",        "min",        "max"};
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

}  // namespace sinkstream::text::jinja
