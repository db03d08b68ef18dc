// GGUF v2/v3 reader. Every count, length and offset read from the file is
// checked against what the file can hold before anything is allocated, so a
// hostile or truncated header yields an Error, never a crash or a huge
// allocation. Tensor data is not copied: views point into the memory map.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "format/mapped_file.hpp"

namespace sinkstream::model {

// ggml tensor type ids (the ones GGUF files use).
enum class GgmlType : uint32_t {
  f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9,
  q2_k = 10, q3_k = 11, q4_k = 12, q5_k = 13, q6_k = 14, q8_k = 15, iq4_nl = 20, iq4_xs = 23,
  i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, bf16 = 30, mxfp4 = 39,
};

const char* ggml_type_name(GgmlType t);  // "F16", "Q8_0", ... or "unknown"

// Bytes of `elements` values of type t; throws Error for unknown types or
// element counts that are not whole blocks.
uint64_t ggml_type_bytes(GgmlType t, uint64_t elements);

struct GgufTensor {
  std::string name;
  GgmlType type;
  std::vector<uint64_t> dims;  // ggml order: dims[0] varies fastest (row length)
  uint64_t elements = 0;
  std::span<const uint8_t> data;
};

// A metadata value. Arrays hold strings, integers (all integer and bool types)
// or floats; nested arrays are rejected (no model uses them).
using GgufValue = std::variant<uint64_t, int64_t, double, bool, std::string, std::vector<std::string>,
                               std::vector<int64_t>, std::vector<double>>;

class GgufFile {
 public:
  // Throws Error with the path and what is wrong ("truncated", "not a GGUF file", ...).
  static GgufFile open(const std::string& path);
  // Parses bytes already in memory (tests, fuzzing); `bytes` must outlive the result.
  static GgufFile parse(std::span<const uint8_t> bytes, const std::string& label);

  uint32_t version() const { return version_; }
  const std::map<std::string, GgufValue>& metadata() const { return kv_; }
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* find_tensor(const std::string& name) const;

  bool has(const std::string& key) const { return kv_.count(key) > 0; }
  // Typed getters: nullopt when absent; Error when present with another type.
  std::optional<std::string> get_string(const std::string& key) const;
  std::optional<uint64_t> get_uint(const std::string& key) const;  // any non-negative integer type
  std::optional<double> get_float(const std::string& key) const;   // any float or integer type
  std::optional<bool> get_bool(const std::string& key) const;
  const std::vector<std::string>* get_strings(const std::string& key) const;
  const std::vector<int64_t>* get_ints(const std::string& key) const;
  const std::vector<double>* get_floats(const std::string& key) const;  // float arrays (int arrays converted on demand are not offered)

  const std::string& label() const { return label_; }

 private:
  std::optional<MappedFile> file_;
  std::string label_;
  uint32_t version_ = 0;
  std::map<std::string, GgufValue> kv_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace sinkstream::model
