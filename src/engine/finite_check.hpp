// The NaN/Inf guard: after every op of a chunk, a small kernel checks the op's
// output, and the first op that produced a non-finite value is named in the
// error. Optional (EngineConfig::check_finite or SINKSTREAM_CHECK_FINITE=1; on in tests),
// because it adds a dispatch and a barrier per op.
#pragma once
#include <string>
#include <vector>

#include "vk/commands.hpp"
#include "vk/context.hpp"

namespace sinkstream::model {

class FiniteCheck {
 public:
  explicit FiniteCheck(vk::Context& ctx);

  // Starts a chunk: clears the status and the op list.
  void begin(vk::CommandBuffer& cmd);
  // Checks the first `count` floats of `data`, written by the op just recorded
  // (and made visible by a barrier), under the name `op`.
  void check(vk::CommandBuffer& cmd, const vk::GpuBuffer& data, uint64_t count, std::string op);
  // After the submission: throws NumericalError naming the first op that
  // produced a NaN or Inf, at stream token `first_token` of the chunk.
  void verify(uint64_t first_token, uint32_t tokens) const;

 private:
  static constexpr uint32_t kMaxOps = 1u << 30;
  vk::Context& ctx_;
  const vk::Kernel* kernel_;
  vk::GpuBuffer status_;  // (1) uint32: kMaxOps - index of the first failing op, 0 = none
  vk::DescriptorPool pool_;
  std::vector<std::pair<VkBuffer, vk::BindingSet>> sets_;  // one per checked buffer
  std::vector<std::string> ops_;                           // names of this chunk's checked ops
};

}  // namespace sinkstream::model
