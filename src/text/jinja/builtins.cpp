// Globals (range, namespace, dict, raise_exception, strftime_now), tests
// (`is defined`, `is string`, ...) and the Python methods of str, dict and
// list that templates call.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <ctime>

#include "text/jinja/pystr.hpp"
#include "text/jinja/render.hpp"

namespace sinkstream::text::jinja {
namespace {

const std::string* opt_str(const Value& v, const char* what) {
  if (v.is_none() || v.is_undefined()) return nullptr;
  if (!v.is_string()) throw Error(std::string(what) + " must be None or str, not " + type_name(v));
  return &v.str();
}

long opt_long(const Value& v, long fallback) {
  if (v.is_none() || v.is_undefined()) return fallback;
  if (!v.is_int() && !v.is_bool()) throw Error("an integer is required, not " + type_name(v));
  return static_cast<long>(as_double(v));
}

Value str_list(const std::vector<std::string>& parts) {
  std::vector<Value> items(parts.begin(), parts.end());
  return make_list(std::move(items));
}

// startswith/endswith take a str or a tuple of them.
bool affix(const std::string& s, const Value& arg, bool prefix) {
  std::vector<Value> options = arg.is_list() ? arg.list().items : std::vector<Value>{arg};
  for (const auto& o : options) {
    if (!o.is_string()) throw Error("startswith/endswith first arg must be str or a tuple of str");
    const std::string& a = o.str();
    if (a.size() <= s.size() && (prefix ? s.compare(0, a.size(), a) == 0
                                        : s.compare(s.size() - a.size(), a.size(), a) == 0))
      return true;
  }
  return false;
}

template <class Pred>
bool all_chars(const std::string& s, Pred p) {
  const std::u32string u = utf8_decode(s);
  return !u.empty() && std::all_of(u.begin(), u.end(), p);
}

// str.format with plain fields: {}, {0}, {name}, optional !s / !r; no format specs.
std::string str_format(const std::string& f, Args& a) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == '}') {
      if (i + 1 < f.size() && f[i + 1] == '}')
        ++i;
      else
        throw Error("Single '}' encountered in format string");
      out += '}';
      continue;
    }
    if (f[i] != '{') {
      out += f[i];
      continue;
    }
    if (i + 1 < f.size() && f[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    const size_t end = f.find('}', i);
    if (end == std::string::npos) throw Error("Single '{' encountered in format string");
    std::string field = f.substr(i + 1, end - i - 1);
    i = end;
    char conv = 's';
    if (field.size() >= 2 && field[field.size() - 2] == '!') {
      conv = field.back();
      field.resize(field.size() - 2);
    }
    if (field.find(':') != std::string::npos)
      throw Error("format specs in str.format are not supported");
    Value v;
    if (field.empty())
      v = a.take(auto_index++, "\x01");
    else if (std::all_of(field.begin(), field.end(), [](char c) { return c >= '0' && c <= '9'; }))
      v = a.take(static_cast<size_t>(std::atoi(field.c_str())), "\x01");
    else
      v = a.take(SIZE_MAX, field);
    if (v.is_undefined()) throw Error("missing argument for format field '" + field + "'");
    out += conv == 'r' ? repr(v) : to_str(v);
  }
  a.pos.clear();
  a.kw.clear();
  return out;
}

Value str_method(const std::string& s, const std::string& name, Args& a) {
  if (name == "strip" || name == "lstrip" || name == "rstrip")
    return Value(
        py_strip(s, opt_str(a.take(0, "chars"), "chars"), name != "rstrip", name != "lstrip"));
  if (name == "split" || name == "rsplit") {
    const Value sep = a.take(0, "sep");
    const long max = opt_long(a.take(1, "maxsplit"), -1);
    const std::string* sp = opt_str(sep, "sep");
    if (sp && sp->empty()) throw Error("empty separator");
    return str_list(name == "split" ? py_split(s, sp, max) : py_rsplit(s, sp, max));
  }
  if (name == "splitlines") return str_list(py_splitlines(s, truthy(a.take(0, "keepends"))));
  if (name == "startswith" || name == "endswith")
    return Value(affix(s, a.take(0, "prefix"), name == "startswith"));
  if (name == "upper") return Value(py_upper(s));
  if (name == "lower") return Value(py_lower(s));
  if (name == "title") return Value(py_title(s));
  if (name == "capitalize") return Value(py_capitalize(s));
  if (name == "replace") {
    const Value from = a.take(0, "old"), to = a.take(1, "new");
    if (!from.is_string() || !to.is_string()) throw Error("replace() arguments must be str");
    return Value(py_replace(s, from.str(), to.str(), opt_long(a.take(2, "count"), -1)));
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    const Value sub = a.take(0, "sub");
    if (!sub.is_string()) throw Error("must be str, not " + type_name(sub));
    if (name == "count") {
      if (sub.str().empty()) return Value(static_cast<int64_t>(utf8_decode(s).size() + 1));
      int64_t n = 0;
      for (size_t p = s.find(sub.str()); p != std::string::npos;
           p = s.find(sub.str(), p + sub.str().size()))
        ++n;
      return Value(n);
    }
    const size_t at = name[0] == 'r' ? s.rfind(sub.str()) : s.find(sub.str());
    if (at == std::string::npos && (name == "index" || name == "rindex"))
      throw Error("substring not found");
    return Value(at == std::string::npos
                     ? int64_t{-1}
                     : static_cast<int64_t>(utf8_decode(s.substr(0, at)).size()));
  }
  if (name == "join") {
    std::string out;
    bool first = true;
    for (const auto& v : iterate(a.take(0, "iterable"))) {
      if (!v.is_string())
        throw Error("sequence item: expected str instance, " + type_name(v) + " found");
      if (!first) out += s;
      out += v.str();
      first = false;
    }
    return Value(std::move(out));
  }
  if (name == "isdigit")
    return Value(all_chars(s, [](char32_t c) { return c >= '0' && c <= '9'; }));
  if (name == "isspace") return Value(all_chars(s, py_isspace));
  if (name == "isalpha")
    return Value(all_chars(s, [](char32_t c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }));
  if (name == "isalnum")
    return Value(all_chars(s, [](char32_t c) {
      return ((c | 32) >= 'a' && (c | 32) <= 'z') || (c >= '0' && c <= '9');
    }));
  if (name == "format") return Value(str_format(s, a));
  if (name == "center") {
    const long width = std::clamp<long>(opt_long(a.take(0, "width"), 0), 0, 1 << 20);
    return Value(py_center(s, static_cast<size_t>(width)));
  }
  if (name == "islower") return Value(py_lower(s) == s && py_upper(s) != s);
  if (name == "isupper") return Value(py_upper(s) == s && py_lower(s) != s);
  throw Error("'str' object has no attribute '" + name + "'");
}

Value dict_method(const Value& d, const std::string& name, Args& a) {
  if (name == "get") {
    const Value key = a.take(0, "key"), fallback = a.take(1, "default", Value(None{}));
    if (key.is_string())
      if (const Value* v = d.dict().find(key.str())) return *v;
    return fallback;
  }
  std::vector<Value> out;
  for (const auto& [k, v] : d.dict().items) {
    if (name == "items")
      out.push_back(make_list({Value(k), v}, true));
    else if (name == "keys")
      out.emplace_back(k);
    else
      out.push_back(v);
  }
  Value view = make_list(std::move(out));
  std::const_pointer_cast<ListData>(std::get<ListPtr>(view.v))->view =
      name == "items"  ? "dict_items"
      : name == "keys" ? "dict_keys"
                       : "dict_values";
  return view;
}

Value list_method(const Value& l, const std::string& name, Args& a) {
  const Value x = a.take(0, "value");
  int64_t n = 0;
  for (size_t i = 0; i < l.list().items.size(); ++i) {
    if (!equal(l.list().items[i], x)) continue;
    if (name == "index") return Value(static_cast<int64_t>(i));
    ++n;
  }
  if (name == "index") throw Error(repr(x) + " is not in list");
  return Value(n);
}

// Python's `is`: identity for containers; None, booleans and small ints are singletons.
bool same_object(const Value& a, const Value& b) {
  if (a.v.index() != b.v.index()) return false;
  if (a.is_list()) return std::get<ListPtr>(a.v) == std::get<ListPtr>(b.v);
  if (a.is_dict()) return std::get<DictPtr>(a.v) == std::get<DictPtr>(b.v);
  if (a.is_int())
    return equal(a, b) && std::get<int64_t>(a.v) >= -5 && std::get<int64_t>(a.v) <= 256;
  if (a.is_float()) return false;
  return equal(a, b);
}

bool is_one_of(const std::string& name, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (name == n) return true;
  return false;
}

}  // namespace

Value bound_method(const Value& obj, const std::string& name) {
  std::function<Value(Args&)> fn;
  if (obj.is_string() &&
      is_one_of(name, {"strip",      "lstrip",   "rstrip",  "split",   "rsplit",  "splitlines",
                       "startswith", "endswith", "upper",   "lower",   "title",   "capitalize",
                       "replace",    "find",     "rfind",   "index",   "rindex",  "count",
                       "join",       "isdigit",  "isspace", "isalpha", "isalnum", "islower",
                       "isupper",    "format",   "center"})) {
    fn = [s = obj.str(), name, markup = obj.markup](Args& a) {
      Value r = str_method(s, name, a);
      a.expect_done(name);
      // Markup's own str methods return Markup.
      r.markup = markup && r.is_string() && name != "join";
      return r;
    };
  } else if (obj.is_dict() && is_one_of(name, {"get", "items", "keys", "values", "copy"})) {
    fn = [obj, name](Args& a) {
      Value r = name == "copy" ? obj : dict_method(obj, name, a);
      a.expect_done(name);
      return r;
    };
  } else if (obj.is_list() && !obj.list().generator && is_one_of(name, {"index", "count"})) {
    fn = [obj, name](Args& a) {
      Value r = list_method(obj, name, a);
      a.expect_done(name);
      return r;
    };
  } else if ((obj.is_dict() &&
              is_one_of(name, {"pop", "popitem", "setdefault", "update", "clear"})) ||
             (obj.is_list() && is_one_of(name, {"append", "extend", "insert", "pop", "remove",
                                                "reverse", "sort", "clear"}))) {
    // The immutable sandbox refuses to change lists and dicts.
    const std::string msg =
        "access to attribute '" + name + "' of '" + type_name(obj) + "' object is unsafe.";
    fn = [msg](Args&) -> Value { throw Error(msg); };
  } else {
    return Value(Undefined{});
  }
  return make_function(name, std::move(fn));
}

void Renderer::install_globals() {
  globals_.set("raise_exception", make_function("raise_exception", [](Args& a) -> Value {
                 throw RaisedError(to_str(a.take(0, "message")));
               }));
  globals_.set("namespace", make_function("namespace", [this](Args& a) {
                 DictData attrs;
                 for (const auto& p : a.pos) {
                   if (!p.is_dict()) throw Error("namespace() takes a dict or keyword arguments");
                   for (const auto& [k, v] : p.dict().items) attrs.set(k, v);
                 }
                 for (const auto& [k, v] : a.kw) attrs.set(k, v);
                 return new_namespace(std::move(attrs));
               }));
  globals_.set("dict", make_function("dict", [](Args& a) {
                 DictData d;
                 for (const auto& p : a.pos)
                   if (p.is_dict()) d = p.dict();
                 for (const auto& [k, v] : a.kw) d.set(k, v);
                 return make_dict(std::move(d));
               }));
  globals_.set(
      "range", make_function("range", [](Args& a) {
        if (a.pos.empty() || a.pos.size() > 3 || !a.kw.empty())
          throw Error("range() takes 1 to 3 integers");
        int64_t v[3] = {0, 0, 1};
        for (size_t i = 0; i < a.pos.size(); ++i) {
          if (!a.pos[i].is_int() && !a.pos[i].is_bool()) throw Error("range() takes integers");
          v[a.pos.size() == 1 ? 1 : i] = static_cast<int64_t>(as_double(a.pos[i]));
        }
        if (v[2] == 0) throw Error("range() arg 3 must not be zero");
        const double n =
            std::max(0.0, std::ceil((static_cast<double>(v[1]) - static_cast<double>(v[0])) /
                                    static_cast<double>(v[2])));
        if (n > 100000)
          throw Error("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
        std::vector<Value> items;
        for (int64_t i = 0; i < static_cast<int64_t>(n); ++i) items.emplace_back(v[0] + i * v[2]);
        return make_list(std::move(items));
      }));
  globals_.set("strftime_now", make_function("strftime_now", [this](Args& a) {
                 const Value f = a.take(0, "format");
                 if (!f.is_string()) throw Error("strftime() argument 1 must be str");
                 if (f.str().empty()) return Value(std::string());
                 std::string buf(f.str().size() * 8 + 64, '\0');
                 const size_t n = std::strftime(buf.data(), buf.size(), f.str().c_str(), &now_);
                 buf.resize(n);
                 return Value(std::move(buf));
               }));
}

bool call_test(Renderer& r, const std::string& name, const Value& v, Args& a) {
  const Value arg = a.take(0, "other");
  a.expect_done("test " + name);
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && std::get<bool>(v.v);
  if (name == "false") return v.is_bool() && !std::get<bool>(v.v);
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable") return v.is_list() || v.is_dict() || v.is_string() || v.is_undefined();
  if (name == "sequence")
    return (v.is_list() && !v.list().generator) || v.is_dict() || v.is_string() || v.is_undefined();
  if (name == "callable") return v.is_function();
  if (name == "lower") return v.is_string() && py_lower(v.str()) == v.str();
  if (name == "upper") return v.is_string() && py_upper(v.str()) == v.str();
  if (name == "odd" || name == "even" || name == "divisibleby") {
    const Value m = arith(r, "%", v, name == "divisibleby" ? arg : Value(2));
    return name == "odd" ? truthy(m) : !truthy(m);
  }
  if (name == "eq" || name == "equalto" || name == "==") return equal(v, arg);
  if (name == "ne" || name == "!=") return !equal(v, arg);
  if (name == "lt" || name == "lessthan" || name == "<") return less(v, arg);
  if (name == "le" || name == "<=") return less(v, arg) || equal(v, arg);
  if (name == "gt" || name == "greaterthan" || name == ">") return less(arg, v);
  if (name == "ge" || name == ">=") return less(arg, v) || equal(v, arg);
  if (name == "in") return contains(arg, v);
  if (name == "sameas") return same_object(v, arg);
  if (name == "escaped") return false;
  throw Error("No test named '" + name + "'.");
}

bool known_test(const std::string& name) {
  return is_one_of(name, {"defined",     "undefined", "none",    "boolean", "true",    "false",
                          "integer",     "float",     "number",  "string",  "mapping", "iterable",
                          "sequence",    "callable",  "lower",   "upper",   "odd",     "even",
                          "divisibleby", "eq",        "equalto", "==",      "ne",      "!=",
                          "lt",          "lessthan",  "<",       "le",      "<=",      "gt",
                          "greaterthan", ">",         "ge",      ">=",      "in",      "sameas",
                          "escaped"});
}

}  // namespace sinkstream::text::jinja
