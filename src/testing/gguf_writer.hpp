// Writes GGUF v3 files: metadata, then tensors streamed to disk one at a time
// (a multi-GiB model never sits in memory whole).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "format/gguf.hpp"

namespace sinkstream::model {

class GgufWriter {
 public:
  void add(const std::string& key, const std::string& value);
  void add(const std::string& key, uint32_t value);
  void add(const std::string& key, float value);
  void add(const std::string& key, bool value);
  void add(const std::string& key, const std::vector<std::string>& values);
  void add(const std::string& key, const std::vector<float>& values);
  void add(const std::string& key, const std::vector<int32_t>& values);

  // dims in ggml order (row length first). `produce` returns the tensor's bytes
  // when the file is written; their size must match the type and shape.
  void add_tensor(const std::string& name, std::vector<uint64_t> dims, GgmlType type,
                  std::function<std::vector<uint8_t>()> produce);

  // Throws Error when the file cannot be written.
  void write(const std::string& path) const;

 private:
  struct PendingTensor {
    std::string name;
    std::vector<uint64_t> dims;
    GgmlType type;
    uint64_t bytes;
    std::function<std::vector<uint8_t>()> produce;
  };
  std::vector<uint8_t> kv_;
  uint64_t n_kv_ = 0;
  std::vector<PendingTensor> tensors_;
};

}  // namespace sinkstream::model
