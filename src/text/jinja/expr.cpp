// Expressions: evaluation, Python's operators, attribute and item lookup.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "text/jinja/pystr.hpp"
#include "text/jinja/render.hpp"

namespace sinkstream::text::jinja {
namespace {

bool int_like(const Value& v) {
  return v.is_int() || v.is_bool();
}
int64_t to_int(const Value& v) {
  return v.is_bool() ? (std::get<bool>(v.v) ? 1 : 0) : std::get<int64_t>(v.v);
}

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
  throw Error("unsupported operand type(s) for " + op + ": '" + type_name(a) + "' and '" +
              type_name(b) + "'");
}

Value int_op(const std::string& op, int64_t x, int64_t y) {
  int64_t r = 0;
  bool overflow = false;
  if (op == "+")
    overflow = __builtin_add_overflow(x, y, &r);
  else if (op == "-")
    overflow = __builtin_sub_overflow(x, y, &r);
  else if (op == "*")
    overflow = __builtin_mul_overflow(x, y, &r);
  else if (op == "//" || op == "%") {
    if (y == 0) throw Error("integer division or modulo by zero");
    if (x == INT64_MIN && y == -1) throw Error("integer overflow");
    int64_t q = x / y, m = x % y;
    if (m != 0 && ((m < 0) != (y < 0))) {
      --q;
      m += y;
    }
    r = op == "//" ? q : m;
  } else if (op == "**") {
    if (y < 0) return Value(std::pow(static_cast<double>(x), static_cast<double>(y)));
    r = 1;
    for (int64_t i = 0; i < y && !overflow; ++i) {
      overflow = __builtin_mul_overflow(r, x, &r);
      if (r == 0 || r == 1) break;  // 0**n, 1**n
      if (r == -1) {
        r = (y % 2) ? -1 : 1;
        break;
      }
    }
  }
  if (overflow) throw Error("integer overflow in '" + op + "'");
  return Value(r);
}

Value float_op(const std::string& op, double x, double y) {
  if (op == "+") return Value(x + y);
  if (op == "-") return Value(x - y);
  if (op == "*") return Value(x * y);
  if (op == "/" || op == "//" || op == "%") {
    if (y == 0.0) throw Error("float division by zero");
    if (op == "/") return Value(x / y);
    if (op == "//") return Value(std::floor(x / y));
    double m = std::fmod(x, y);
    if (m != 0.0 && ((m < 0) != (y < 0))) m += y;
    return Value(m);
  }
  return Value(std::pow(x, y));
}

Value repeat(Renderer& r, const Value& seq, int64_t n) {
  if (n <= 0) return seq.is_string() ? Value(std::string()) : make_list({}, seq.list().tuple);
  if (seq.is_string()) {
    r.check_size(seq.str().size() * static_cast<size_t>(n));
    std::string s;
    for (int64_t i = 0; i < n; ++i) s += seq.str();
    Value out(std::move(s));
    out.markup = seq.markup;
    return out;
  }
  r.check_size(seq.list().items.size() * static_cast<size_t>(n) * sizeof(Value));
  std::vector<Value> items;
  for (int64_t i = 0; i < n; ++i)
    items.insert(items.end(), seq.list().items.begin(), seq.list().items.end());
  return make_list(std::move(items), seq.list().tuple);
}

}  // namespace

Value arith(Renderer& r, const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  if (a.is_number() && b.is_number()) {
    if (op == "/") return float_op(op, as_double(a), as_double(b));
    if (int_like(a) && int_like(b)) return int_op(op, to_int(a), to_int(b));
    return float_op(op, as_double(a), as_double(b));
  }
  if (op == "+" && a.is_string() && b.is_string()) {
    if (a.markup || b.markup) {  // Markup escapes the plain operand
      const std::string x = a.markup ? a.str() : html_escape(a.str());
      const std::string y = b.markup ? b.str() : html_escape(b.str());
      r.check_size(x.size() + y.size());
      return make_markup(x + y);
    }
    r.check_size(a.str().size() + b.str().size());
    return Value(a.str() + b.str());
  }
  if (op == "+" && a.is_list() && b.is_list() && a.list().tuple == b.list().tuple) {
    std::vector<Value> items = a.list().items;
    items.insert(items.end(), b.list().items.begin(), b.list().items.end());
    return make_list(std::move(items), a.list().tuple);
  }
  if (op == "*" && (a.is_string() || a.is_list()) && int_like(b)) return repeat(r, a, to_int(b));
  if (op == "*" && (b.is_string() || b.is_list()) && int_like(a)) return repeat(r, b, to_int(a));
  if (op == "%" && a.is_string()) {
    if (!a.markup) return Value(percent_format(a.str(), b));
    auto escape = [](const Value& x) {
      return x.is_string() && !x.markup ? make_markup(html_escape(x.str())) : x;
    };
    std::vector<Value> args;
    if (b.is_list() && b.list().tuple)
      for (const auto& x : b.list().items) args.push_back(escape(x));
    return make_markup(percent_format(a.str(), args.empty() && !(b.is_list() && b.list().tuple)
                                                   ? escape(b)
                                                   : make_list(std::move(args), true)));
  }
  if (op == "+" && a.is_string())
    throw Error("can only concatenate str (not \"" + type_name(b) + "\") to str");
  unsupported(op, a, b);
}

bool contains(const Value& c, const Value& item) {
  if (c.is_string()) {
    if (!item.is_string())
      throw Error("'in <string>' requires string as left operand, not " + type_name(item));
    return c.str().find(item.str()) != std::string::npos;
  }
  if (c.is_list()) {
    for (const auto& v : c.list().items)
      if (equal(v, item)) return true;
    return false;
  }
  if (c.is_dict()) {
    if (item.is_list() || item.is_dict()) throw Error("unhashable type: '" + type_name(item) + "'");
    return item.is_string() && c.dict().find(item.str()) != nullptr;
  }
  if (c.is_undefined()) return false;
  throw Error("argument of type '" + type_name(c) + "' is not iterable");
}

Value get_attr(const Value& obj, const std::string& name) {
  if (obj.is_namespace()) {
    if (const Value* v = obj.ns().attrs.find(name)) return *v;
  } else {
    Value m = bound_method(obj, name);
    if (!m.is_undefined()) return m;
    if (obj.is_dict())
      if (const Value* v = obj.dict().find(name)) return *v;
  }
  return Value(Undefined{std::string("'") + (obj.is_dict() ? std::string("dict") : type_name(obj)) +
                         " object' has no attribute '" + name + "'"});
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.is_list() && (obj.list().generator || obj.list().view))
    return Value(Undefined{std::string("'") + type_name(obj) + "' object is not subscriptable"});
  if (obj.is_dict() && key.is_string())
    if (const Value* v = obj.dict().find(key.str())) return *v;
  if ((obj.is_list() || obj.is_string()) && int_like(key)) {
    int64_t i = to_int(key);
    if (obj.is_list()) {
      const auto n = static_cast<int64_t>(obj.list().items.size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return obj.list().items[static_cast<size_t>(i)];
    } else {
      const std::u32string u = utf8_decode(obj.str());
      const auto n = static_cast<int64_t>(u.size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) {
        std::string s;
        utf8_append(s, u[static_cast<size_t>(i)]);
        Value out(std::move(s));
        out.markup = obj.markup;
        return out;
      }
    }
    return Value(Undefined{type_name(obj) + " index out of range"});
  }
  if (key.is_string()) return get_attr(obj, key.str());  // jinja2 falls back to getattr
  return Value(Undefined{std::string("'") + type_name(obj) + " object' has no item " + repr(key)});
}

namespace {

// Python's PySlice_AdjustIndices: the positions a slice visits.
std::vector<size_t> slice_positions(size_t len, const Value& start, const Value& stop,
                                    const Value& step) {
  auto num = [](const Value& v, int64_t fallback) {
    if (v.is_none() || v.is_undefined()) return fallback;
    if (!int_like(v)) throw Error("slice indices must be integers or None");
    return to_int(v);
  };
  const int64_t n = static_cast<int64_t>(len), st = num(step, 1);
  if (st == 0) throw Error("slice step cannot be zero");
  auto adjust = [&](const Value& v, int64_t fallback) {
    int64_t x = num(v, fallback);
    if (v.is_none() || v.is_undefined()) return x;
    if (x < 0)
      x = std::max<int64_t>(x + n, st < 0 ? -1 : 0);
    else if (x >= n)
      x = st < 0 ? n - 1 : n;
    return x;
  };
  const int64_t b = adjust(start, st < 0 ? n - 1 : 0), e = adjust(stop, st < 0 ? -1 : n);
  std::vector<size_t> out;
  for (int64_t i = b; st > 0 ? i < e : i > e; i += st) out.push_back(static_cast<size_t>(i));
  return out;
}

}  // namespace

Value slice(Renderer&, const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_undefined()) undefined_error(obj);
  if (obj.is_string()) {
    const std::u32string u = utf8_decode(obj.str());
    std::u32string out;
    for (size_t i : slice_positions(u.size(), start, stop, step)) out.push_back(u[i]);
    Value v(utf8_encode(out));
    v.markup = obj.markup;
    return v;
  }
  if (obj.is_list() && !obj.list().generator) {
    std::vector<Value> out;
    for (size_t i : slice_positions(obj.list().items.size(), start, stop, step))
      out.push_back(obj.list().items[i]);
    return make_list(std::move(out), obj.list().tuple);
  }
  return Value(Undefined{std::string("'") + type_name(obj) + "' object is not subscriptable"});
}

std::vector<Value> iterate(const Value& v) {
  if (v.is_list()) return v.list().items;
  if (v.is_dict()) {
    std::vector<Value> keys;
    for (const auto& [k, x] : v.dict().items) keys.emplace_back(k);
    return keys;
  }
  if (v.is_string()) {
    std::vector<Value> chars;
    for (char32_t c : utf8_decode(v.str())) {
      std::string s;
      utf8_append(s, c);
      chars.emplace_back(std::move(s));
    }
    return chars;
  }
  if (v.is_undefined()) return {};
  throw Error("'" + type_name(v) + "' object is not iterable");
}

Value Renderer::eval(const Expr& e) {
  step();
  switch (e.kind) {
    case Expr::Kind::literal:
      return e.value;
    case Expr::Kind::name:
      return lookup(e.name);
    case Expr::Kind::list:
    case Expr::Kind::tuple: {
      std::vector<Value> items;
      for (const auto& k : e.kids) items.push_back(eval(*k));
      return make_list(std::move(items), e.kind == Expr::Kind::tuple);
    }
    case Expr::Kind::dict: {
      DictData d;
      for (size_t i = 0; i + 1 < e.kids.size(); i += 2) {
        const Value k = eval(*e.kids[i]);
        if (!k.is_string()) throw Error("dict keys must be strings here, got " + type_name(k));
        d.set(k.str(), eval(*e.kids[i + 1]));
      }
      return make_dict(std::move(d));
    }
    case Expr::Kind::attr: {
      const Value o = eval(*e.kids[0]);
      if (o.is_undefined()) undefined_error(o);
      return get_attr(o, e.name);
    }
    case Expr::Kind::item: {
      const Value o = eval(*e.kids[0]);
      if (o.is_undefined()) undefined_error(o);
      return get_item(o, eval(*e.kids[1]));
    }
    case Expr::Kind::slice:
      return eval_slice(e);
    case Expr::Kind::call:
      return eval_call(e);
    case Expr::Kind::filter:
      return eval_filter(e);
    case Expr::Kind::test: {
      const Value v = eval(*e.kids[0]);
      Args a = eval_args(e, 1);
      return Value(test(e.name, v, a));
    }
    case Expr::Kind::unary: {
      const Value v = eval(*e.kids[0]);
      if (e.name == "not") return Value(!truthy(v));
      if (!v.is_number()) {
        if (v.is_undefined()) undefined_error(v);
        throw Error("bad operand type for unary " + e.name + ": '" + type_name(v) + "'");
      }
      if (e.name == "+") return v.is_bool() ? Value(to_int(v)) : v;
      if (v.is_float()) return Value(-std::get<double>(v.v));
      return int_op("-", 0, to_int(v));
    }
    case Expr::Kind::binary:
      return eval_binary(e);
    case Expr::Kind::compare:
      return eval_compare(e);
    case Expr::Kind::cond:
      if (truthy(eval(*e.kids[0]))) return eval(*e.kids[1]);
      if (e.kids[2]) return eval(*e.kids[2]);
      return Value(
          Undefined{"the inline if-expression evaluated to false and no else section was defined"});
  }
  throw Error("unknown expression");
}

Value Renderer::eval_binary(const Expr& e) {
  if (e.name == "and" || e.name == "or") {
    Value a = eval(*e.kids[0]);
    if (truthy(a) == (e.name == "or")) return a;
    return eval(*e.kids[1]);
  }
  const Value a = eval(*e.kids[0]), b = eval(*e.kids[1]);
  if (e.name == "~") {
    std::string s = to_str(a);
    const std::string t = to_str(b);
    check_size(s.size() + t.size());
    return Value(s + t);
  }
  return arith(*this, e.name, a, b);
}

Value Renderer::eval_compare(const Expr& e) {
  Value left = eval(*e.kids[0]);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    Value right = eval(*e.kids[i + 1]);
    const std::string& op = e.ops[i];
    bool ok;
    if (op == "==")
      ok = equal(left, right);
    else if (op == "!=")
      ok = !equal(left, right);
    else if (op == "<")
      ok = less(left, right);
    else if (op == ">")
      ok = less(right, left);
    else if (op == "<=")
      ok = less(left, right) || equal(left, right);
    else if (op == ">=")
      ok = less(right, left) || equal(left, right);
    else if (op == "in")
      ok = contains(right, left);
    else
      ok = !contains(right, left);
    if (!ok) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

Args Renderer::eval_args(const Expr& e, size_t first) {
  Args a;
  for (size_t i = first; i < e.kids.size(); ++i) a.pos.push_back(eval(*e.kids[i]));
  for (const auto& [k, v] : e.kwargs) a.kw.emplace_back(k, eval(*v));
  return a;
}

Value Renderer::eval_call(const Expr& e) {
  const Value fn = eval(*e.kids[0]);
  Args a = eval_args(e, 1);
  return call(fn, a);
}

Value Renderer::call(const Value& fn, Args& a) {
  if (fn.is_undefined()) undefined_error(fn);
  if (!fn.is_function()) throw Error("'" + type_name(fn) + "' object is not callable");
  return fn.fn().call(a);
}

Value Renderer::eval_filter(const Expr& e) {
  Value v = e.kids[0] ? eval(*e.kids[0]) : *block_text_.back();
  Args a = eval_args(e, 1);
  return filter(e.name, std::move(v), a);
}

Value Renderer::filter(const std::string& name, Value v, Args& a) {
  return call_filter(*this, name, std::move(v), a);
}

bool Renderer::test(const std::string& name, const Value& v, Args& a) {
  return call_test(*this, name, v, a);
}

Value Renderer::eval_slice(const Expr& e) {
  if (e.kids.size() != 4 || !e.kids[0]) throw Error("slices are only supported as subscripts");
  const Value o = eval(*e.kids[0]);
  Value b[3];
  for (int i = 0; i < 3; ++i)
    b[i] = e.kids[static_cast<size_t>(i) + 1] ? eval(*e.kids[static_cast<size_t>(i) + 1])
                                              : Value(None{});
  return slice(*this, o, b[0], b[1], b[2]);
}

std::string percent_format(const std::string& fmt, const Value& args) {
  std::vector<Value> vals =
      args.is_list() && args.list().tuple ? args.list().items : std::vector<Value>{args};
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    size_t j = i + 1;
    while (j < fmt.size() && std::string_view("-+ 0#").find(fmt[j]) != std::string_view::npos) ++j;
    while (j < fmt.size() && (std::isdigit(static_cast<unsigned char>(fmt[j])) || fmt[j] == '.'))
      ++j;
    if (j >= fmt.size()) throw Error("incomplete format");
    const char conv = fmt[j];
    const std::string spec = fmt.substr(i, j - i);
    i = j;
    if (conv == '%') {
      out += '%';
      continue;
    }
    if (next >= vals.size()) throw Error("not enough arguments for format string");
    const Value& v = vals[next++];
    char buf[512];
    if (spec.size() > 8) throw Error("format specification '" + spec + "' is too long");
    if (conv == 's' || conv == 'r') {
      std::u32string u = utf8_decode(conv == 's' ? to_str(v) : repr(v));
      size_t k = 1;
      bool left = false;
      for (; k < spec.size() && std::string_view("-+ 0#").find(spec[k]) != std::string_view::npos;
           ++k)
        left |= spec[k] == '-';
      const size_t width = static_cast<size_t>(std::atoi(spec.c_str() + k));
      const size_t dot = spec.find('.');
      if (dot != std::string::npos)
        u.resize(std::min(u.size(), static_cast<size_t>(std::atoi(spec.c_str() + dot + 1))));
      const std::string pad(width > u.size() ? width - u.size() : 0, ' ');
      out += left ? utf8_encode(u) + pad : pad + utf8_encode(u);
    } else if (conv == 'd' || conv == 'i' || conv == 'x' || conv == 'X' || conv == 'o') {
      const auto n = static_cast<long long>(v.is_float() ? std::trunc(as_double(v)) : as_double(v));
      std::snprintf(buf, sizeof buf, (spec + "ll" + (conv == 'i' ? 'd' : conv)).c_str(), n);
      out += buf;
    } else if (conv == 'f' || conv == 'F' || conv == 'e' || conv == 'E' || conv == 'g' ||
               conv == 'G') {
      std::snprintf(buf, sizeof buf, (spec + conv).c_str(), as_double(v));
      out += buf;
    } else {
      throw Error(std::string("unsupported format character '") + conv + "'");
    }
  }
  if (next < vals.size() && !(vals.size() == 1 && vals[0].is_dict()))
    throw Error("not all arguments converted during string formatting");
  return out;
}

}  // namespace sinkstream::text::jinja
