#include "json.hpp"

#include "sinkstream/tokenizer.hpp"

namespace sinkstream::app {

// JSON text must be UTF-8: bytes that are not part of a well-formed sequence (a
// model can emit any bytes, e.g. half a character) become U+FFFD.
std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = utf8_valid_length(s, i);
      if (n == 0) {
        o += "\\ufffd";
      } else {
        o.append(s, i, n);
        i += n - 1;
      }
      continue;
    }
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  return o + "\"";
}

std::string JsonWriter::number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

JsonWriter& JsonWriter::field(const std::string& key, double v) { return raw(key, number(v)); }

JsonWriter& JsonWriter::raw(const std::string& key, const std::string& json) {
  if (body_.size() > 1) body_ += ",";
  body_ += json_string(key) + ":" + json;
  return *this;
}

}  // namespace sinkstream::app
