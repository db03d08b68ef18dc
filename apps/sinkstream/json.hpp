// A tiny JSON object writer for --json outputs (flat objects, numbers, strings,
// booleans and arrays of numbers; strings escaped per RFC 8259).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace sinkstream::app {

// Appends item to a JSON list being built, after a comma unless it is the first.
// (Also sidesteps g++ 12's false -Wrestrict on `(i ? "," : "") + std::string`.)
inline void append_item(std::string& list, bool first, const std::string& item) {
  if (!first) list += ',';
  list += item;
}

std::string json_string(const std::string& s);

class JsonWriter {
 public:
  JsonWriter& field(const std::string& key, const std::string& v) { return raw(key, json_string(v)); }
  JsonWriter& field(const std::string& key, const char* v) { return raw(key, json_string(v)); }
  JsonWriter& field(const std::string& key, bool v) { return raw(key, v ? "true" : "false"); }
  JsonWriter& field(const std::string& key, double v);
  JsonWriter& field(const std::string& key, uint64_t v) { return raw(key, std::to_string(v)); }
  JsonWriter& field(const std::string& key, uint32_t v) { return raw(key, std::to_string(v)); }
  JsonWriter& field(const std::string& key, int32_t v) { return raw(key, std::to_string(v)); }
  template <typename T>
  JsonWriter& field(const std::string& key, const std::vector<T>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) append_item(s, i == 0, number(static_cast<double>(v[i])));
    return raw(key, s + "]");
  }
  // A nested value already rendered as JSON.
  JsonWriter& raw(const std::string& key, const std::string& json);
  std::string str() const { return body_ + "}"; }

  static std::string number(double v);

 private:
  std::string body_ = "{";
};

}  // namespace sinkstream::app
