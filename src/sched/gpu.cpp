#include "sinkstream/gpu.hpp"

#include "vk/context.hpp"
#include "vk/handles.hpp"

namespace sinkstream {

Gpu::Gpu(const GpuOptions& o)
    : ctx_(std::make_unique<vk::Context>(
          vk::ContextOptions{o.device, o.validation, o.memory_limit, o.pipeline_cache})) {}

Gpu::~Gpu() = default;

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
