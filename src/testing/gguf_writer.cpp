#include "testing/gguf_writer.hpp"

#include <cstdio>
#include <cstring>
#include <memory>

#include "sinkstream/error.hpp"

namespace sinkstream::model {
namespace {

constexpr uint64_t kAlignment = 32;
enum : uint32_t { kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kString = 8, kArray = 9 };

template <typename T>
void put(std::vector<uint8_t>& b, T v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  b.insert(b.end(), p, p + sizeof(T));
}

void put_string(std::vector<uint8_t>& b, const std::string& s) {
  put<uint64_t>(b, s.size());
  b.insert(b.end(), s.begin(), s.end());
}

}  // namespace

void GgufWriter::add(const std::string& key, const std::string& value) {
  put_string(kv_, key);
  put<uint32_t>(kv_, kString);
  put_string(kv_, value);
  ++n_kv_;
}

void GgufWriter::add(const std::string& key, uint32_t value) {
  put_string(kv_, key);
  put<uint32_t>(kv_, kU32);
  put<uint32_t>(kv_, value);
  ++n_kv_;
}

void GgufWriter::add(const std::string& key, float value) {
  put_string(kv_, key);
  put<uint32_t>(kv_, kF32);
  put<float>(kv_, value);
  ++n_kv_;
}

void GgufWriter::add(const std::string& key, bool value) {
  put_string(kv_, key);
  put<uint32_t>(kv_, kBool);
  put<uint8_t>(kv_, value ? 1 : 0);
  ++n_kv_;
}

void GgufWriter::add(const std::string& key, const std::vector<std::string>& values) {
  put_string(kv_, key);
  put<uint32_t>(kv_, kArray);
  put<uint32_t>(kv_, kString);
  put<uint64_t>(kv_, values.size());
  for (const auto& s : values) put_string(kv_, s);
  ++n_kv_;
}

void GgufWriter::add(const std::string& key, const std::vector<float>& values) {
  put_string(kv_, key);
  put<uint32_t>(kv_, kArray);
  put<uint32_t>(kv_, kF32);
  put<uint64_t>(kv_, values.size());
  for (float v : values) put<float>(kv_, v);
  ++n_kv_;
}

void GgufWriter::add(const std::string& key, const std::vector<int32_t>& values) {
  put_string(kv_, key);
  put<uint32_t>(kv_, kArray);
  put<uint32_t>(kv_, kI32);
  put<uint64_t>(kv_, values.size());
  for (int32_t v : values) put<int32_t>(kv_, v);
  ++n_kv_;
}

void GgufWriter::add_tensor(const std::string& name, std::vector<uint64_t> dims, GgmlType type,
                            std::function<std::vector<uint8_t>()> produce) {
  uint64_t elements = 1;
  for (uint64_t d : dims) elements *= d;
  tensors_.push_back({name, std::move(dims), type, ggml_type_bytes(type, elements), std::move(produce)});
}

void GgufWriter::write(const std::string& path) const {
  std::vector<uint8_t> head;
  head.insert(head.end(), {'G', 'G', 'U', 'F'});
  put<uint32_t>(head, 3);
  put<uint64_t>(head, tensors_.size());
  put<uint64_t>(head, n_kv_);
  head.insert(head.end(), kv_.begin(), kv_.end());
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    put_string(head, t.name);
    put<uint32_t>(head, static_cast<uint32_t>(t.dims.size()));
    for (uint64_t d : t.dims) put<uint64_t>(head, d);
    put<uint32_t>(head, static_cast<uint32_t>(t.type));
    put<uint64_t>(head, offset);
    offset += (t.bytes + kAlignment - 1) / kAlignment * kAlignment;
  }
  head.resize((head.size() + kAlignment - 1) / kAlignment * kAlignment, 0);
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) throw Error("cannot write '" + path + "': " + std::strerror(errno));
  const auto write_all = [&](const void* p, size_t n) {
    if (std::fwrite(p, 1, n, f.get()) != n) throw Error("cannot write '" + path + "' (disk full?)");
  };
  write_all(head.data(), head.size());
  const uint8_t zeros[kAlignment] = {};
  for (const auto& t : tensors_) {
    const std::vector<uint8_t> data = t.produce();
    if (data.size() != t.bytes) throw Error("internal error: tensor '" + t.name + "' produced the wrong size");
    write_all(data.data(), data.size());
    write_all(zeros, (kAlignment - data.size() % kAlignment) % kAlignment);
  }
}

}  // namespace sinkstream::model
