// What the kernel checks share: one-off buffers and dispatches, seeded random
// inputs, random weight rows of every block type, and the error measures.
#pragma once
#include <algorithm>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "check/kernel_check.hpp"
#include "format/model_file.hpp"
#include "sinkstream/config.hpp"
#include "vk/commands.hpp"

namespace sinkstream::check {

// Thrown by a check whose variant this device does not run (no cooperative
// matrices, no subgroup arithmetic...): reported as not applicable, not failed.
struct NotApplicable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The attention checks' tolerances by cache type (attention.cpp states why):
// absolute, on outputs of magnitude <= 1, and on the probe's softmax weights.
double kv_tolerance(KvType t);
double probe_tolerance(KvType t);

// A device buffer holding `data` (at least 16 bytes, so empty inputs bind).
vk::GpuBuffer device_buffer(vk::Context& ctx, const void* data, uint64_t bytes, const char* what);
template <typename T>
vk::GpuBuffer device_buffer(vk::Context& ctx, const std::vector<T>& v, const char* what) {
  return device_buffer(ctx, v.data(), v.size() * sizeof(T), what);
}
// A zeroed device buffer of `bytes`.
vk::GpuBuffer zero_buffer(vk::Context& ctx, uint64_t bytes, const char* what);
template <typename T>
std::vector<T> read(vk::Context& ctx, const vk::GpuBuffer& b, size_t count) {
  std::vector<T> out(count);
  ctx.download(b, out.data(), count * sizeof(T));
  return out;
}

// Records one dispatch of `kernel` over `buffers`, submits and waits.
template <typename PushConstants>
void dispatch_once(vk::Context& ctx, const vk::KernelDesc& desc,
                   std::span<const vk::GpuBuffer* const> buffers, const PushConstants& pc,
                   std::array<uint32_t, 3> groups) {
  const vk::Kernel& kernel = ctx.kernel(desc);
  vk::DescriptorPool pool = ctx.create_descriptor_pool(1, desc.bindings);
  const vk::BindingSet set = ctx.bind(pool.get(), kernel, buffers);
  vk::CommandBuffer cmd(ctx);
  cmd.begin();
  cmd.dispatch(set, pc, groups);
  cmd.host_read_barrier();
  cmd.end();
  cmd.submit_and_wait();
}

std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f);

// `rows` rows of `cols` weights of type t, random but finite: every quant bit
// pattern occurs, the float16 scales are kept small. (Not quantised from floats:
// the shipped library has no quantizer; the reference decodes the same bytes.)
std::vector<uint8_t> random_weights(model::GgmlType t, uint64_t rows, uint64_t cols, uint32_t seed);
model::GgmlType weight_type(std::string_view variant);  // "q4_k" -> GgmlType::q4_k

// Adds one case's worst error to the result.
inline void add_case(VariantResult& r, double err) {
  ++r.cases;
  r.max_error = std::max(r.max_error, err);
}

// The error of one output against its reference, relative to the size of the
// terms it was summed from: |got - want| / (1 + magnitude).
inline double scaled_error(double got, double want, double magnitude) {
  const double d = got > want ? got - want : want - got;
  return d / (1.0 + magnitude);
}

}  // namespace sinkstream::check
