#include "sinkstream/gpu.hpp"

#include "vk/context.hpp"
#include "vk/handles.hpp"

namespace sinkstream {

Gpu::Gpu(const GpuOptions& o)
    : ctx_(std::make_unique<vk::Context>(
          vk::ContextOptions{o.device, o.validation, o.memory_limit, o.pipeline_cache})) {}

Gpu::~Gpu() = default;

uint64_t parse_byte_size(const std::string& text) { return vk::parse_byte_size(text); }

std::vector<DeviceInfo> list_devices() {
  std::vector<DeviceInfo> out;
  for (const vk::DeviceInfo& d : vk::list_devices()) {
    DeviceInfo i;
    i.index = d.index;
    i.name = d.name;
    i.type = vk::device_type_name(d.type);
    i.driver = d.driver;
    i.api_major = VK_API_VERSION_MAJOR(d.api_version);
    i.api_minor = VK_API_VERSION_MINOR(d.api_version);
    i.device_local_bytes = d.device_local_bytes;
    i.uma = d.uma;
    i.subgroup_size = d.subgroup_size;
    i.subgroup_arithmetic = d.subgroup_arithmetic;
    i.fp16_arithmetic = d.fp16_arithmetic;
    i.storage_16bit = d.storage_16bit;
    i.coopmat_khr = d.coopmat_khr;
    i.coopmat_nv = d.coopmat_nv;
    i.coopmat_prefill = d.coopmat_prefill;
    i.integer_dot = d.integer_dot;
    i.integer_dot_fast = d.integer_dot_fast;
    i.max_shared_bytes = d.max_shared_bytes;
    i.compute_units = d.compute_units;
    out.push_back(std::move(i));
  }
  return out;
}

std::string Gpu::device_name() const {
  return ctx_->info().name;
}
uint64_t Gpu::allocated_bytes() const {
  return ctx_->allocated_bytes();
}
uint64_t Gpu::live_vulkan_objects() {
  uint64_t total = 0;
  for (const int64_t n : vk::live_objects()) total += static_cast<uint64_t>(n);
  return total;
}
std::vector<std::string> Gpu::take_validation_messages() {
  return ctx_->take_validation_messages();
}

}  // namespace sinkstream
