// Opening a Vulkan device for sinkstream.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sinkstream/export.hpp"

namespace sinkstream {
namespace vk {
class Context;
}

struct GpuOptions {
  std::string device;  // "" = best; index or name substring ($SINKSTREAM_DEVICE)
  bool validation =
      false;  // Khronos validation + synchronization validation ($SINKSTREAM_VALIDATION=1)
  uint64_t memory_limit = 0;   // device-byte cap, 0 = none ($SINKSTREAM_DEVICE_MEMORY_LIMIT)
  std::string pipeline_cache;  // file to load/save compiled pipelines ($SINKSTREAM_PIPELINE_CACHE)
};

class SINKSTREAM_API Gpu {
 public:
  explicit Gpu(const GpuOptions& options = {});
  ~Gpu();
  Gpu(const Gpu&) = delete;
  Gpu& operator=(const Gpu&) = delete;

  std::string device_name() const;
  uint64_t allocated_bytes() const;
  // Vulkan device objects (buffers, memory, pipelines, pools, fences...) alive in
  // this process: constant while a stream runs.
  static uint64_t live_vulkan_objects();
  // Validation messages since the last call (empty unless validation is on).
  std::vector<std::string> take_validation_messages();

  vk::Context& context() { return *ctx_; }

 private:
  std::unique_ptr<vk::Context> ctx_;
};

}  // namespace sinkstream
