#include "vk/commands.hpp"

#include "vk/check.hpp"

namespace sinkstream::vk {

CommandBuffer::CommandBuffer(Context& ctx)
    : ctx_(&ctx), pool_(ctx.create_command_pool()), fence_(ctx.create_fence()) {
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = pool_.get();
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VK_CHECK(vkAllocateCommandBuffers(ctx.device(), &ai, &cmd_));
}

void CommandBuffer::begin() {
  if (pending_) throw Error("internal error: re-recording a command buffer that is in flight");
  VK_CHECK(vkResetCommandBuffer(cmd_, 0));
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  VK_CHECK(vkBeginCommandBuffer(cmd_, &bi));
  recording_ = true;
}

void CommandBuffer::end() {
  VK_CHECK(vkEndCommandBuffer(cmd_));
  recording_ = false;
}

void CommandBuffer::submit_and_wait() {
  submit();
  wait();
}

void CommandBuffer::submit() {
  if (recording_ || pending_)
    throw Error("internal error: submitting a command buffer that is recording or in flight");
  ctx_->submit(cmd_, fence_.get());
  pending_ = true;
}

void CommandBuffer::wait() {
  if (!pending_) return;
  pending_ = false;  // a failed wait leaves the device lost: nothing to wait for again
  ctx_->wait(fence_.get());
}

void CommandBuffer::dispatch_raw(const BindingSet& set, const void* pc, uint32_t bytes,
                                 std::array<uint32_t, 3> groups) {
  const Kernel* k = set.kernel;
  if (!recording_ || k == nullptr || set.set == VK_NULL_HANDLE)
    throw Error("internal error: dispatch without a recording command buffer or a bound set");
  if (bytes != k->push_bytes)
    throw Error("internal error: " + k->name + " expects " + std::to_string(k->push_bytes) +
                " push-constant bytes, got " + std::to_string(bytes));
  const auto& lim = ctx_->info().max_workgroup_count;
  for (int i = 0; i < 3; ++i)
    if (groups[i] == 0 || groups[i] > lim[i])
      throw Error("internal error: " + k->name + " dispatch of " + std::to_string(groups[i]) +
                  " workgroups in dimension " + std::to_string(i) + " (device limit " +
                  std::to_string(lim[i]) + ")");
  vkCmdBindPipeline(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, k->pipeline.get());
  vkCmdBindDescriptorSets(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, k->layout.get(), 0, 1, &set.set, 0,
                          nullptr);
  if (bytes) vkCmdPushConstants(cmd_, k->layout.get(), VK_SHADER_STAGE_COMPUTE_BIT, 0, bytes, pc);
  vkCmdDispatch(cmd_, groups[0], groups[1], groups[2]);
}

namespace {
void memory_barrier(VkCommandBuffer cmd, VkPipelineStageFlags src_stage, VkAccessFlags src,
                    VkPipelineStageFlags dst_stage, VkAccessFlags dst) {
  VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  b.srcAccessMask = src;
  b.dstAccessMask = dst;
  vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 1, &b, 0, nullptr, 0, nullptr);
}
}  // namespace

void CommandBuffer::compute_barrier() {
  memory_barrier(cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                 VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT,
                 VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                 VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
}

void CommandBuffer::transfer_to_compute_barrier() {
  memory_barrier(cmd_, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                 VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                 VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
}

void CommandBuffer::host_read_barrier() {
  memory_barrier(cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                 VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                 VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
}

void CommandBuffer::copy(const GpuBuffer& src, const GpuBuffer& dst, uint64_t bytes,
                         uint64_t src_offset, uint64_t dst_offset) {
  const VkBufferCopy region{src_offset, dst_offset, bytes};
  vkCmdCopyBuffer(cmd_, src.get(), dst.get(), 1, &region);
}

void CommandBuffer::fill_zero(const GpuBuffer& dst) {
  vkCmdFillBuffer(cmd_, dst.get(), 0, VK_WHOLE_SIZE, 0);
}

void CommandBuffer::reset_timestamps(VkQueryPool pool, uint32_t count) {
  vkCmdResetQueryPool(cmd_, pool, 0, count);
}

void CommandBuffer::timestamp(VkQueryPool pool, uint32_t index) {
  vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, index);
}

std::vector<double> read_timestamps_ns(const Context& ctx, VkQueryPool pool, uint32_t count) {
  std::vector<uint64_t> raw(count);
  VK_CHECK(vkGetQueryPoolResults(ctx.device(), pool, 0, count, raw.size() * sizeof(uint64_t),
                                 raw.data(), sizeof(uint64_t),
                                 VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
  std::vector<double> ns(count);
  for (uint32_t i = 0; i < count; ++i)
    ns[i] = static_cast<double>(raw[i]) * ctx.info().timestamp_period_ns;
  return ns;
}

}  // namespace sinkstream::vk
