// Bounds-checked little-endian reads over the bytes of an untrusted file: every
// read checks what is left first, and failures throw an Error that names the
// file, the problem and the byte offset.
#pragma once
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "sinkstream/error.hpp"

namespace sinkstream::model {

class ByteReader {
 public:
  // `what` opens every error message, e.g. "'x.gguf' is not a valid GGUF file".
  ByteReader(std::span<const uint8_t> bytes, std::string what) : b_(bytes), what_(std::move(what)) {}

  [[noreturn]] void fail(const std::string& why) const {
    throw Error(what_ + ": " + why + " (at byte " + std::to_string(pos_) + ")");
  }
  uint64_t remaining() const { return b_.size() - pos_; }
  uint64_t pos() const { return pos_; }
  bool done() const { return pos_ == b_.size(); }
  void need(uint64_t n) const {
    if (n > remaining()) fail("truncated");
  }
  template <typename T>
  T read() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string bytes(uint64_t n) {
    need(n);
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), n);
    pos_ += n;
    return s;
  }

 private:
  std::span<const uint8_t> b_;
  std::string what_;
  uint64_t pos_ = 0;
};

}  // namespace sinkstream::model
