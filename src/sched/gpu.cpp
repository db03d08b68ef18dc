#include "sinkstream/gpu.hpp"

#include "vk/context.hpp"

namespace sinkstream {

Gpu::Gpu(const GpuOptions& o)
    : ctx_(std::make_unique<vk::Context>(vk::ContextOptions{o.device, o.validation, o.memory_limit, o.pipeline_cache})) {}

Gpu::~Gpu() = default;

std::string Gpu::device_name() const { return ctx_->info().name; }
uint64_t Gpu::allocated_bytes() const { return ctx_->allocated_bytes(); }
std::vector<std::string> Gpu::take_validation_messages() { return ctx_->take_validation_messages(); }

}  // namespace sinkstream
