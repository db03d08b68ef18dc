#include "format/gguf.hpp"

#include <cstring>
#include <limits>

#include "format/byte_reader.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::model {
namespace {

enum class ValueType : uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7, string = 8, array = 9,
  u64 = 10, i64 = 11, f64 = 12,
};

constexpr uint32_t kMaxDims = 4;  // GGML_MAX_DIMS

struct BlockInfo {
  uint32_t elements;  // per block
  uint32_t bytes;     // per block
};

std::optional<BlockInfo> block_info(GgmlType t) {
  switch (t) {
    case GgmlType::f32: return BlockInfo{1, 4};
    case GgmlType::f16: return BlockInfo{1, 2};
    case GgmlType::bf16: return BlockInfo{1, 2};
    case GgmlType::q4_0: return BlockInfo{32, 18};
    case GgmlType::q4_1: return BlockInfo{32, 20};
    case GgmlType::q5_0: return BlockInfo{32, 22};
    case GgmlType::q5_1: return BlockInfo{32, 24};
    case GgmlType::q8_0: return BlockInfo{32, 34};
    case GgmlType::q8_1: return BlockInfo{32, 36};
    case GgmlType::q2_k: return BlockInfo{256, 84};
    case GgmlType::q3_k: return BlockInfo{256, 110};
    case GgmlType::q4_k: return BlockInfo{256, 144};
    case GgmlType::q5_k: return BlockInfo{256, 176};
    case GgmlType::q6_k: return BlockInfo{256, 210};
    case GgmlType::q8_k: return BlockInfo{256, 292};
    case GgmlType::iq4_nl: return BlockInfo{32, 18};
    case GgmlType::iq4_xs: return BlockInfo{256, 136};
    case GgmlType::mxfp4: return BlockInfo{32, 17};  // E8M0 exponent, 16 bytes of E2M1 codes
    case GgmlType::i8: return BlockInfo{1, 1};
    case GgmlType::i16: return BlockInfo{1, 2};
    case GgmlType::i32: return BlockInfo{1, 4};
    case GgmlType::i64: return BlockInfo{1, 8};
    case GgmlType::f64: return BlockInfo{1, 8};
  }
  return std::nullopt;
}

// GGUF's strings and counts on top of the bounds-checked reader.
class Cursor : public ByteReader {
 public:
  Cursor(std::span<const uint8_t> b, const std::string& label)
      : ByteReader(b, "'" + label + "' is not a valid GGUF file") {}
  std::string string() { return bytes(read<uint64_t>()); }
  // Counts of items each at least `min_bytes` long must fit in what is left.
  uint64_t count(uint64_t min_bytes, const char* what) {
    const uint64_t n = read<uint64_t>();
    if (min_bytes && n > remaining() / min_bytes) fail(std::string("impossible ") + what + " count " + std::to_string(n));
    return n;
  }
};

uint32_t scalar_size(ValueType t) {
  switch (t) {
    case ValueType::u8: case ValueType::i8: case ValueType::boolean: return 1;
    case ValueType::u16: case ValueType::i16: return 2;
    case ValueType::u32: case ValueType::i32: case ValueType::f32: return 4;
    case ValueType::u64: case ValueType::i64: case ValueType::f64: return 8;
    case ValueType::string: return 8;  // at least its length field
    default: return 0;
  }
}

// Reads one scalar as a signed integer (used for integer arrays); false if not an integer type.
bool read_int(Cursor& c, ValueType t, int64_t* out) {
  switch (t) {
    case ValueType::u8: *out = c.read<uint8_t>(); return true;
    case ValueType::i8: *out = c.read<int8_t>(); return true;
    case ValueType::u16: *out = c.read<uint16_t>(); return true;
    case ValueType::i16: *out = c.read<int16_t>(); return true;
    case ValueType::u32: *out = c.read<uint32_t>(); return true;
    case ValueType::i32: *out = c.read<int32_t>(); return true;
    case ValueType::u64: *out = static_cast<int64_t>(c.read<uint64_t>()); return true;
    case ValueType::i64: *out = c.read<int64_t>(); return true;
    case ValueType::boolean: *out = c.read<uint8_t>() != 0; return true;
    default: return false;
  }
}

GgufValue read_array(Cursor& c) {
  const auto elem = static_cast<ValueType>(c.read<uint32_t>());
  const uint32_t size = scalar_size(elem);
  if (size == 0) c.fail("unsupported array element type " + std::to_string(static_cast<uint32_t>(elem)));
  const uint64_t n = c.count(size, "array element");
  if (elem == ValueType::string) {
    std::vector<std::string> v;
    v.reserve(n);
    for (uint64_t i = 0; i < n; ++i) v.push_back(c.string());
    return v;
  }
  if (elem == ValueType::f32 || elem == ValueType::f64) {
    std::vector<double> v(n);
    for (auto& x : v) x = elem == ValueType::f32 ? c.read<float>() : c.read<double>();
    return v;
  }
  std::vector<int64_t> v(n);
  for (auto& x : v) read_int(c, elem, &x);
  return v;
}

GgufValue read_value(Cursor& c, ValueType t) {
  switch (t) {
    case ValueType::u8: return uint64_t{c.read<uint8_t>()};
    case ValueType::u16: return uint64_t{c.read<uint16_t>()};
    case ValueType::u32: return uint64_t{c.read<uint32_t>()};
    case ValueType::u64: return c.read<uint64_t>();
    case ValueType::i8: return int64_t{c.read<int8_t>()};
    case ValueType::i16: return int64_t{c.read<int16_t>()};
    case ValueType::i32: return int64_t{c.read<int32_t>()};
    case ValueType::i64: return c.read<int64_t>();
    case ValueType::f32: return double{c.read<float>()};
    case ValueType::f64: return c.read<double>();
    case ValueType::boolean: return c.read<uint8_t>() != 0;
    case ValueType::string: return c.string();
    case ValueType::array: return read_array(c);
  }
  c.fail("unknown metadata value type " + std::to_string(static_cast<uint32_t>(t)));
}

}  // namespace

const char* ggml_type_name(GgmlType t) {
  switch (t) {
    case GgmlType::f32: return "F32";
    case GgmlType::f16: return "F16";
    case GgmlType::bf16: return "BF16";
    case GgmlType::q4_0: return "Q4_0";
    case GgmlType::q4_1: return "Q4_1";
    case GgmlType::q5_0: return "Q5_0";
    case GgmlType::q5_1: return "Q5_1";
    case GgmlType::q8_0: return "Q8_0";
    case GgmlType::q8_1: return "Q8_1";
    case GgmlType::q2_k: return "Q2_K";
    case GgmlType::q3_k: return "Q3_K";
    case GgmlType::q4_k: return "Q4_K";
    case GgmlType::q5_k: return "Q5_K";
    case GgmlType::q6_k: return "Q6_K";
    case GgmlType::q8_k: return "Q8_K";
    case GgmlType::iq4_nl: return "IQ4_NL";
    case GgmlType::iq4_xs: return "IQ4_XS";
    case GgmlType::mxfp4: return "MXFP4";
    case GgmlType::i8: return "I8";
    case GgmlType::i16: return "I16";
    case GgmlType::i32: return "I32";
    case GgmlType::i64: return "I64";
    case GgmlType::f64: return "F64";
  }
  return "unknown";
}

uint64_t ggml_type_bytes(GgmlType t, uint64_t elements) {
  const auto info = block_info(t);
  if (!info) throw Error("unknown ggml tensor type " + std::to_string(static_cast<uint32_t>(t)));
  if (elements % info->elements != 0)
    throw Error(std::string(ggml_type_name(t)) + " tensor of " + std::to_string(elements) +
                " elements is not a whole number of blocks");
  return elements / info->elements * info->bytes;
}

GgufFile GgufFile::open(const std::string& path) {
  MappedFile f(path);
  const auto bytes = f.bytes();
  GgufFile g = parse(bytes, path);
  g.file_.emplace(std::move(f));  // the views stay valid: moving a map keeps its address
  return g;
}

GgufFile GgufFile::parse(std::span<const uint8_t> bytes, const std::string& label) {
  GgufFile g;
  g.label_ = label;
  Cursor c(bytes, g.label_);
  if (c.remaining() < 4 || std::memcmp(bytes.data(), "GGUF", 4) != 0) c.fail("missing the GGUF magic");
  c.read<uint32_t>();
  g.version_ = c.read<uint32_t>();
  if (g.version_ != 2 && g.version_ != 3)
    c.fail("version " + std::to_string(g.version_) + " is not supported (only 2 and 3)");
  const uint64_t n_tensors = c.read<uint64_t>();
  const uint64_t n_kv = c.read<uint64_t>();
  if (n_kv > c.remaining() / 12) c.fail("impossible metadata count " + std::to_string(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.string();
    const auto type = static_cast<ValueType>(c.read<uint32_t>());
    GgufValue value = read_value(c, type);
    if (!g.kv_.emplace(key, std::move(value)).second) c.fail("duplicate metadata key '" + key + "'");
  }
  if (n_tensors > c.remaining() / 24) c.fail("impossible tensor count " + std::to_string(n_tensors));
  struct Pending {
    uint64_t offset;
  };
  std::vector<Pending> offsets;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensor t;
    t.name = c.string();
    const uint32_t n_dims = c.read<uint32_t>();
    if (n_dims == 0 || n_dims > kMaxDims) c.fail("tensor '" + t.name + "' has " + std::to_string(n_dims) + " dims");
    t.elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t n = c.read<uint64_t>();
      if (n == 0 || n > (uint64_t{1} << 40) || t.elements > std::numeric_limits<uint64_t>::max() / n)
        c.fail("tensor '" + t.name + "' has an impossible shape");
      t.dims.push_back(n);
      t.elements *= n;
    }
    t.type = static_cast<GgmlType>(c.read<uint32_t>());
    if (!block_info(t.type))
      c.fail("tensor '" + t.name + "' has unknown type " + std::to_string(static_cast<uint32_t>(t.type)));
    offsets.push_back({c.read<uint64_t>()});
    if (!g.tensor_index_.emplace(t.name, g.tensors_.size()).second) c.fail("duplicate tensor '" + t.name + "'");
    g.tensors_.push_back(std::move(t));
  }
  uint64_t alignment = 32;
  if (auto a = g.get_uint("general.alignment")) alignment = *a;
  if (alignment == 0 || (alignment & (alignment - 1)) || alignment > 65536) c.fail("bad general.alignment");
  const uint64_t data_start = (c.pos() + alignment - 1) / alignment * alignment;
  for (size_t i = 0; i < g.tensors_.size(); ++i) {
    GgufTensor& t = g.tensors_[i];
    uint64_t size = 0;
    try {
      size = ggml_type_bytes(t.type, t.elements);
    } catch (const Error& e) {
      c.fail("tensor '" + t.name + "': " + e.what());
    }
    const uint64_t off = offsets[i].offset;
    if (off % alignment != 0) c.fail("tensor '" + t.name + "' is not aligned");
    if (data_start > bytes.size() || off > bytes.size() - data_start || size > bytes.size() - data_start - off)
      c.fail("tensor '" + t.name + "' lies past the end of the file (truncated?)");
    t.data = bytes.subspan(data_start + off, size);
  }
  return g;
}

const GgufTensor* GgufFile::find_tensor(const std::string& name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {
[[noreturn]] void wrong_type(const std::string& label, const std::string& key, const char* want) {
  throw Error("'" + label + "': metadata '" + key + "' is not " + want);
}
}  // namespace

std::optional<std::string> GgufFile::get_string(const std::string& key) const {
  const auto it = kv_.find(key);
  if (it == kv_.end()) return std::nullopt;
  if (const auto* s = std::get_if<std::string>(&it->second)) return *s;
  wrong_type(label_, key, "a string");
}

std::optional<uint64_t> GgufFile::get_uint(const std::string& key) const {
  const auto it = kv_.find(key);
  if (it == kv_.end()) return std::nullopt;
  if (const auto* u = std::get_if<uint64_t>(&it->second)) return *u;
  if (const auto* i = std::get_if<int64_t>(&it->second); i && *i >= 0) return static_cast<uint64_t>(*i);
  wrong_type(label_, key, "a non-negative integer");
}

std::optional<double> GgufFile::get_float(const std::string& key) const {
  const auto it = kv_.find(key);
  if (it == kv_.end()) return std::nullopt;
  if (const auto* d = std::get_if<double>(&it->second)) return *d;
  if (const auto* u = std::get_if<uint64_t>(&it->second)) return static_cast<double>(*u);
  if (const auto* i = std::get_if<int64_t>(&it->second)) return static_cast<double>(*i);
  wrong_type(label_, key, "a number");
}

std::optional<bool> GgufFile::get_bool(const std::string& key) const {
  const auto it = kv_.find(key);
  if (it == kv_.end()) return std::nullopt;
  if (const auto* b = std::get_if<bool>(&it->second)) return *b;
  wrong_type(label_, key, "a boolean");
}

const std::vector<std::string>* GgufFile::get_strings(const std::string& key) const {
  const auto it = kv_.find(key);
  if (it == kv_.end()) return nullptr;
  if (const auto* v = std::get_if<std::vector<std::string>>(&it->second)) return v;
  wrong_type(label_, key, "an array of strings");
}

const std::vector<int64_t>* GgufFile::get_ints(const std::string& key) const {
  const auto it = kv_.find(key);
  if (it == kv_.end()) return nullptr;
  if (const auto* v = std::get_if<std::vector<int64_t>>(&it->second)) return v;
  wrong_type(label_, key, "an array of integers");
}

const std::vector<double>* GgufFile::get_floats(const std::string& key) const {
  const auto it = kv_.find(key);
  if (it == kv_.end()) return nullptr;
  if (const auto* v = std::get_if<std::vector<double>>(&it->second)) return v;
  wrong_type(label_, key, "an array of numbers");
}

}  // namespace sinkstream::model
