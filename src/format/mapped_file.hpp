// A read-only memory map of a whole file (model weights are not copied).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace sinkstream::model {

class MappedFile {
 public:
  // Throws sinkstream::Error naming the path and the OS reason.
  explicit MappedFile(const std::string& path);
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  void release();
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace sinkstream::model
