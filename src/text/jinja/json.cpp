// Python's json.dumps(v, ensure_ascii=False, indent=..., separators=...,
// sort_keys=...), the tojson Hugging Face installs in place of jinja2's
// HTML-escaping one.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "text/jinja/render.hpp"

namespace sinkstream::text::jinja {
namespace {

struct JsonStyle {
  bool pretty = false;
  std::string indent, item_sep, key_sep;
  bool sort_keys = false;
};

void dump_string(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void newline(std::string& out, const JsonStyle& st, size_t level) {
  out += '\n';
  for (size_t i = 0; i < level; ++i) out += st.indent;
}

void dump(std::string& out, const Value& v, const JsonStyle& st, size_t level) {
  RecursionGuard guard;
  if (v.is_none()) {
    out += "null";
  } else if (v.is_bool()) {
    out += std::get<bool>(v.v) ? "true" : "false";
  } else if (v.is_int()) {
    out += std::to_string(std::get<int64_t>(v.v));
  } else if (v.is_float()) {
    const double d = std::get<double>(v.v);
    out += std::isnan(d)   ? "NaN"
           : std::isinf(d) ? (d < 0 ? "-Infinity" : "Infinity")
                           : float_repr(d);
  } else if (v.is_string()) {
    dump_string(out, v.str());
  } else if (v.is_list() && !v.list().generator && !v.list().view) {
    const auto& items = v.list().items;
    if (items.empty()) {
      out += "[]";
      return;
    }
    out += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out += st.item_sep;
      if (st.pretty) newline(out, st, level + 1);
      dump(out, items[i], st, level + 1);
    }
    if (st.pretty) newline(out, st, level);
    out += ']';
  } else if (v.is_dict()) {
    std::vector<const std::pair<std::string, Value>*> items;
    for (const auto& kv : v.dict().items) items.push_back(&kv);
    if (items.empty()) {
      out += "{}";
      return;
    }
    if (st.sort_keys)
      std::stable_sort(items.begin(), items.end(),
                       [](auto* a, auto* b) { return a->first < b->first; });
    out += '{';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out += st.item_sep;
      if (st.pretty) newline(out, st, level + 1);
      dump_string(out, items[i]->first);
      out += st.key_sep;
      dump(out, items[i]->second, st, level + 1);
    }
    if (st.pretty) newline(out, st, level);
    out += '}';
  } else {
    throw Error("Object of type " + type_name(v) + " is not JSON serializable");
  }
}

}  // namespace

std::string to_json(const Value& v, const Value& indent, const Value& separators, bool sort_keys) {
  JsonStyle st;
  st.sort_keys = sort_keys;
  st.pretty = !indent.is_none() && !indent.is_undefined();
  if (st.pretty) {
    if (indent.is_string()) {
      st.indent = indent.str();
    } else if (indent.is_int() || indent.is_bool()) {
      st.indent.assign(
          static_cast<size_t>(std::clamp<int64_t>(static_cast<int64_t>(as_double(indent)), 0, 256)),
          ' ');
    } else {
      throw Error("tojson indent must be an int or a str");
    }
  }
  st.item_sep = st.pretty ? "," : ", ";
  st.key_sep = ": ";
  if (!separators.is_none() && !separators.is_undefined()) {
    if (!separators.is_list() || separators.list().items.size() != 2 ||
        !separators.list().items[0].is_string() || !separators.list().items[1].is_string())
      throw Error("tojson separators must be a pair of strings");
    st.item_sep = separators.list().items[0].str();
    st.key_sep = separators.list().items[1].str();
  }
  std::string out;
  dump(out, v, st, 0);
  return out;
}

}  // namespace sinkstream::text::jinja
