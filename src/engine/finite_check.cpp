#include "engine/finite_check.hpp"

#include <algorithm>

#include "engine/push_constants.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::model {
namespace {
constexpr uint32_t kGroup = 256;
constexpr uint32_t kMaxGroups = 1024;  // a grid-stride loop covers the rest
constexpr uint32_t kMaxBuffers = 32;
}  // namespace

FiniteCheck::FiniteCheck(vk::Context& ctx)
    : ctx_(ctx),
      kernel_(&ctx.kernel({"check_finite", 2, sizeof(CheckFinitePC), {kGroup, 1, 1}, {}})),
      status_(ctx.create_buffer(16, vk::MemoryUse::readback, "finite-check status")),
      pool_(ctx.create_descriptor_pool(kMaxBuffers, kMaxBuffers * 2)) {}

void FiniteCheck::begin(vk::CommandBuffer& cmd) {
  ops_.clear();
  cmd.fill_zero(status_);
  cmd.transfer_to_compute_barrier();
}

void FiniteCheck::check(vk::CommandBuffer& cmd, const vk::GpuBuffer& data, uint64_t count,
                        std::string op) {
  auto it = std::find_if(sets_.begin(), sets_.end(),
                         [&](const auto& s) { return s.first == data.get(); });
  if (it == sets_.end()) {
    if (sets_.size() == kMaxBuffers)
      throw Error("internal error: the finite check watches too many buffers");
    const vk::GpuBuffer* b[] = {&data, &status_};
    sets_.emplace_back(data.get(), ctx_.bind(pool_.get(), *kernel_, b));
    it = sets_.end() - 1;
  }
  if (count > UINT32_MAX) throw Error("internal error: finite check of more than 2^32 floats");
  ops_.push_back(std::move(op));
  const auto groups =
      static_cast<uint32_t>(std::clamp<uint64_t>((count + kGroup - 1) / kGroup, 1, kMaxGroups));
  cmd.dispatch(it->second,
               CheckFinitePC{static_cast<uint32_t>(count),
                             kMaxOps - static_cast<uint32_t>(ops_.size() - 1), 0, 0},
               {groups, 1, 1});
  // The next op may overwrite this buffer in place (residual adds).
  cmd.compute_barrier();
}

void FiniteCheck::verify(uint64_t first_token, uint32_t tokens) const {
  const uint32_t s = *static_cast<const uint32_t*>(status_.mapped());
  if (s == 0) return;
  const uint32_t index = kMaxOps - s;
  const std::string op = index < ops_.size() ? ops_[index] : "an unknown op";
  throw NumericalError("non-finite value (NaN or Inf) first produced by " + op +
                       ", in the chunk of tokens " + std::to_string(first_token) + ".." +
                       std::to_string(first_token + tokens - 1) +
                       " of the stream (the model's weights or the input overflow this precision)");
}

}  // namespace sinkstream::model
