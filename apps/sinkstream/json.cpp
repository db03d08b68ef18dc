#include "json.hpp"

namespace sinkstream::app {

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
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
