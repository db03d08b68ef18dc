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

// A Vulkan device as `sinkstream devices` lists it.
struct DeviceInfo {
  uint32_t index = 0;  // what --device / GpuOptions::device take
  std::string name;
  std::string type;  // "discrete", "integrated", "cpu", ...
  std::string driver;
  uint32_t api_major = 0, api_minor = 0;
  uint64_t device_local_bytes = 0;  // largest device-local heap
  bool uma = false;                 // that heap is host-visible too
  uint32_t subgroup_size = 0;
  bool subgroup_arithmetic = false, fp16_arithmetic = false, storage_16bit = false;
  bool coopmat_khr = false, coopmat_nv = false, coopmat_prefill = false;
  // 4x8-bit integer dot products, and whether the driver calls them accelerated
  // (then Q8_0 / Q4_0 decode products take them, with int8 activations).
  bool integer_dot = false, integer_dot_fast = false;
  uint32_t max_shared_bytes = 0;
  uint32_t compute_units = 0;  // 0: unknown
};

// A byte count as the options and environment variables take it: a whole number,
// optionally with K, M or G (powers of 1024): "1048576", "512M", "2G". Throws
// InvalidArgument otherwise.
SINKSTREAM_API uint64_t parse_byte_size(const std::string& text);

// Every Vulkan device, in the order --device indexes them (empty: none).
SINKSTREAM_API std::vector<DeviceInfo> list_devices();

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
