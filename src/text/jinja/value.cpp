#include "text/jinja/value.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "text/jinja/pystr.hpp"

namespace sinkstream::text::jinja {

const Value* DictData::find(const std::string& key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void DictData::set(const std::string& key, Value v) {
  for (auto& [k, old] : items)
    if (k == key) {
      old = std::move(v);
      return;
    }
  items.emplace_back(key, std::move(v));
}

Value Args::take(size_t index, const std::string& name, Value fallback) {
  for (auto it = kw.begin(); it != kw.end(); ++it)
    if (it->first == name) {
      Value v = std::move(it->second);
      kw.erase(it);
      return v;
    }
  if (index < pos.size()) {
    taken_ = std::max(taken_, index + 1);
    return pos[index];
  }
  return fallback;
}

bool Args::has(size_t index, const std::string& name) const {
  if (index < pos.size()) return true;
  for (const auto& [k, v] : kw)
    if (k == name) return true;
  return false;
}

void Args::expect_done(const std::string& fn) const {
  if (!kw.empty()) throw Error(fn + "() got an unexpected keyword argument '" + kw[0].first + "'");
  if (pos.size() > taken_)
    throw Error(fn + "() takes " + std::to_string(taken_) + " positional arguments but " +
                std::to_string(pos.size()) + " were given");
}

namespace {

uint32_t depth_of(const Value& v) {
  if (v.is_list()) return v.list().depth;
  if (v.is_dict()) return v.dict().depth;
  return 0;
}

thread_local int recursion = 0;

}  // namespace

RecursionGuard::RecursionGuard() {
  if (++recursion > static_cast<int>(kMaxNesting) * 2) {
    --recursion;
    throw Error("value nested too deeply");
  }
}
RecursionGuard::~RecursionGuard() {
  --recursion;
}

Value make_list(std::vector<Value> items, bool tuple) {
  auto l = std::make_shared<ListData>();
  for (const auto& v : items) l->depth = std::max(l->depth, depth_of(v) + 1);
  if (l->depth > kMaxNesting) throw Error("value nested too deeply");
  l->items = std::move(items);
  l->tuple = tuple;
  return Value(ListPtr(std::move(l)));
}

Value make_generator(std::vector<Value> items) {
  Value v = make_list(std::move(items));
  std::const_pointer_cast<ListData>(std::get<ListPtr>(v.v))->generator = true;
  return v;
}

Value make_markup(std::string s) {
  Value v(std::move(s));
  v.markup = true;
  return v;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Value make_dict(DictData d) {
  d.depth = 1;
  for (const auto& [k, v] : d.items) d.depth = std::max(d.depth, depth_of(v) + 1);
  if (d.depth > kMaxNesting) throw Error("value nested too deeply");
  return Value(DictPtr(std::make_shared<DictData>(std::move(d))));
}

Value make_function(std::string name, std::function<Value(Args&)> fn) {
  return Value(FunctionPtr(std::make_shared<Function>(Function{std::move(name), std::move(fn)})));
}

bool truthy(const Value& v) {
  struct V {
    bool operator()(const Undefined&) const { return false; }
    bool operator()(const None&) const { return false; }
    bool operator()(bool b) const { return b; }
    bool operator()(int64_t i) const { return i != 0; }
    bool operator()(double d) const { return d != 0.0; }
    bool operator()(const std::string& s) const { return !s.empty(); }
    bool operator()(const ListPtr& l) const { return l->generator || !l->items.empty(); }
    bool operator()(const DictPtr& d) const { return !d->items.empty(); }
    bool operator()(const NamespacePtr&) const { return true; }
    bool operator()(const FunctionPtr&) const { return true; }
  };
  return std::visit(V{}, v.v);
}

std::string type_name(const Value& v) {
  static const char* names[] = {"Undefined", "NoneType", "bool", "int",       "float",
                                "str",       "list",     "dict", "Namespace", "function"};
  if (v.is_list() && v.list().tuple) return "tuple";
  if (v.is_list() && v.list().generator) return "generator";
  if (v.is_list() && v.list().view) return v.list().view;
  return names[v.v.index()];
}

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  const std::string sci(buf, res.ptr);
  // sci: [-]D[.DDD]e[+-]XX, the shortest digits that round-trip.
  const size_t e = sci.find('e');
  const bool neg = sci[0] == '-';
  std::string digits;
  for (size_t i = neg ? 1 : 0; i < e; ++i)
    if (sci[i] != '.') digits += sci[i];
  const int exp = std::atoi(sci.c_str() + e + 1);
  std::string out = neg ? "-" : "";
  if (exp >= -4 && exp < 16) {  // Python's repr uses exponents outside 1e-4 <= |d| < 1e16
    if (exp < 0) {
      out += "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    } else if (static_cast<size_t>(exp) + 1 >= digits.size()) {
      out += digits + std::string(static_cast<size_t>(exp) + 1 - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(exp) + 1) + "." +
             digits.substr(static_cast<size_t>(exp) + 1);
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) {
    out += '.';
    out += digits.substr(1);
  }
  char ebuf[16];
  std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
  return out + ebuf;
}

namespace {

std::string seq_repr(const ListData& l) {
  std::string out = l.tuple ? "(" : "[";
  for (size_t i = 0; i < l.items.size(); ++i) out += (i ? ", " : "") + repr(l.items[i]);
  if (l.tuple && l.items.size() == 1) out += ",";
  return out + (l.tuple ? ")" : "]");
}

std::string dict_repr(const DictData& d) {
  std::string out = "{";
  for (size_t i = 0; i < d.items.size(); ++i)
    out += (i ? ", " : "") + py_repr(d.items[i].first) + ": " + repr(d.items[i].second);
  return out + "}";
}

}  // namespace

std::string repr(const Value& v) {
  RecursionGuard guard;
  if (v.is_string()) return py_repr(v.str());
  return to_str(v);
}

std::string to_str(const Value& v) {
  RecursionGuard guard;
  struct V {
    std::string operator()(const Undefined&) const { return ""; }
    std::string operator()(const None&) const { return "None"; }
    std::string operator()(bool b) const { return b ? "True" : "False"; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return float_repr(d); }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const ListPtr& l) const {
      if (l->generator) return "<generator object>";
      return l->view ? std::string(l->view) + "(" + seq_repr(*l) + ")" : seq_repr(*l);
    }
    std::string operator()(const DictPtr& d) const { return dict_repr(*d); }
    std::string operator()(const NamespacePtr& n) const {
      return "<Namespace " + dict_repr(n->attrs) + ">";
    }
    std::string operator()(const FunctionPtr& f) const { return "<function " + f->name + ">"; }
  };
  return std::visit(V{}, v.v);
}

double as_double(const Value& v) {
  if (v.is_float()) return std::get<double>(v.v);
  if (v.is_int()) return static_cast<double>(std::get<int64_t>(v.v));
  if (v.is_bool()) return std::get<bool>(v.v) ? 1.0 : 0.0;
  throw Error("expected a number, got " + type_name(v));
}

namespace {

bool int_like(const Value& v) {
  return v.is_int() || v.is_bool();
}
int64_t as_int(const Value& v) {
  return v.is_bool() ? (std::get<bool>(v.v) ? 1 : 0) : std::get<int64_t>(v.v);
}

bool dict_equal(const DictData& a, const DictData& b) {
  if (a.items.size() != b.items.size()) return false;
  for (const auto& [k, v] : a.items) {
    const Value* o = b.find(k);
    if (!o || !equal(v, *o)) return false;
  }
  return true;
}

}  // namespace

bool equal(const Value& a, const Value& b) {
  RecursionGuard guard;
  if (a.is_number() && b.is_number()) {
    if (int_like(a) && int_like(b)) return as_int(a) == as_int(b);
    return as_double(a) == as_double(b);
  }
  if (a.v.index() != b.v.index()) return false;
  if (a.is_undefined() || a.is_none()) return true;
  if (a.is_string()) return a.str() == b.str();
  if (a.is_list()) {
    const auto &x = a.list(), &y = b.list();
    if (x.generator || y.generator) return &x == &y;
    if (x.tuple != y.tuple || x.items.size() != y.items.size()) return false;
    for (size_t i = 0; i < x.items.size(); ++i)
      if (!equal(x.items[i], y.items[i])) return false;
    return true;
  }
  if (a.is_dict()) return dict_equal(a.dict(), b.dict());
  if (a.is_namespace()) return std::get<NamespacePtr>(a.v) == std::get<NamespacePtr>(b.v);
  return std::get<FunctionPtr>(a.v) == std::get<FunctionPtr>(b.v);
}

bool less(const Value& a, const Value& b) {
  RecursionGuard guard;
  if (a.is_number() && b.is_number()) {
    if (int_like(a) && int_like(b)) return as_int(a) < as_int(b);
    return as_double(a) < as_double(b);
  }
  if (a.is_string() && b.is_string()) return a.str() < b.str();  // UTF-8 order is code point order
  if (a.is_list() && b.is_list() && a.list().tuple == b.list().tuple) {
    const auto &x = a.list().items, &y = b.list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i)
      if (!equal(x[i], y[i])) return less(x[i], y[i]);
    return x.size() < y.size();
  }
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  throw Error("'<' not supported between instances of '" + type_name(a) + "' and '" + type_name(b) +
              "'");
}

void undefined_error(const Value& v) {
  const auto* u = std::get_if<Undefined>(&v.v);
  throw Error(u && !u->hint.empty() ? u->hint : "value is undefined");
}

}  // namespace sinkstream::text::jinja
