// Recording compute work. dispatch() is the one place that checks a kernel's
// bindings, push-constant size and workgroup limits before recording.
#pragma once
#include <array>
#include <string>
#include <type_traits>
#include <vector>

#include "vk/context.hpp"

namespace sinkstream::vk {

// Workgroups (or tiles, or splits) of size b that cover a items.
inline uint32_t ceil_div(uint64_t a, uint64_t b) {
  return static_cast<uint32_t>((a + b - 1) / b);
}

// One primary command buffer with its pool and fence, re-recorded or replayed.
class CommandBuffer {
 public:
  explicit CommandBuffer(Context& ctx);
  CommandBuffer(CommandBuffer&&) noexcept = default;
  CommandBuffer& operator=(CommandBuffer&&) noexcept = default;

  VkCommandBuffer get() const { return cmd_; }
  void begin();
  void end();
  // Submits and blocks until the GPU is done (throws DeviceLost on timeout).
  void submit_and_wait();
  // Submits without waiting; wait() blocks until that submission is done and
  // returns at once when none is pending.
  void submit();
  void wait();

  template <typename PushConstants>
  void dispatch(const BindingSet& set, const PushConstants& pc, std::array<uint32_t, 3> groups) {
    static_assert(std::is_trivially_copyable_v<PushConstants>);
    dispatch_raw(set, &pc, sizeof(pc), groups);
  }
  // Makes all earlier shader writes visible to later shader reads and writes.
  void compute_barrier();
  // Makes transfers visible to shaders.
  void transfer_to_compute_barrier();
  // Makes shader writes visible to the host once the submission's fence signals.
  void host_read_barrier();
  void copy(const GpuBuffer& src, const GpuBuffer& dst, uint64_t bytes, uint64_t src_offset = 0,
            uint64_t dst_offset = 0);
  void fill_zero(const GpuBuffer& dst);
  void reset_timestamps(VkQueryPool pool, uint32_t count);
  void timestamp(VkQueryPool pool, uint32_t index);

 private:
  void dispatch_raw(const BindingSet& set, const void* pc, uint32_t bytes,
                    std::array<uint32_t, 3> groups);

  Context* ctx_;
  CommandPool pool_;
  Fence fence_;
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;  // freed with pool_
  bool recording_ = false;
  bool pending_ = false;  // submitted, not yet waited for
};

// Reads `count` timestamps written by CommandBuffer::timestamp, in nanoseconds.
std::vector<double> read_timestamps_ns(const Context& ctx, VkQueryPool pool, uint32_t count);

}  // namespace sinkstream::vk
