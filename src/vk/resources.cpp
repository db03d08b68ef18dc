// Buffers, kernels, descriptors, submissions and the pipeline cache.
#include <cstdio>
#include <cstring>
#include <functional>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <utility>

#include "vk/check.hpp"
#include "vk/context.hpp"
#include "vk/shader_registry.hpp"

namespace sinkstream::vk {
namespace {

std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, bytes < (100u << 20) ? "%.1f MiB" : "%.0f MiB",
                static_cast<double>(bytes) / (1 << 20));
  return buf;
}

}  // namespace

const ShaderBlob& find_shader(std::string_view name) {
  for (const ShaderBlob& b : embedded_shaders())
    if (name == b.name) return b;
  throw Error("internal error: no embedded shader variant named '" + std::string(name) + "'");
}

GpuBuffer::GpuBuffer(GpuBuffer&& o) noexcept
    : buffer_(std::move(o.buffer_)),
      memory_(std::move(o.memory_)),
      size_(std::exchange(o.size_, 0)),
      mapped_(std::exchange(o.mapped_, nullptr)),
      address_(std::exchange(o.address_, 0)),
      account_(std::exchange(o.account_, nullptr)) {}

GpuBuffer& GpuBuffer::operator=(GpuBuffer&& o) noexcept {
  if (this != &o) {
    if (account_) account_->fetch_sub(size_);
    buffer_ = std::move(o.buffer_);
    memory_ = std::move(o.memory_);
    size_ = std::exchange(o.size_, 0);
    mapped_ = std::exchange(o.mapped_, nullptr);
    address_ = std::exchange(o.address_, 0);
    account_ = std::exchange(o.account_, nullptr);
  }
  return *this;
}

GpuBuffer::~GpuBuffer() {
  if (account_) account_->fetch_sub(size_);
}

uint32_t Context::find_memory_type(uint32_t type_bits, MemoryUse use) const {
  VkMemoryPropertyFlags required = 0, preferred = 0;
  switch (use) {
    case MemoryUse::device:
      required = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
      break;
    case MemoryUse::upload:
      required = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
      preferred = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
      break;
    case MemoryUse::readback:
      required = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
      preferred = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
      break;
  }
  // On UMA devices device data is host-visible too, which lets upload() skip staging.
  if (use == MemoryUse::device && info_.uma) preferred = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
  int fallback = -1;
  for (uint32_t i = 0; i < memory_props_.memoryTypeCount; ++i) {
    if (!(type_bits & (1u << i))) continue;
    const auto f = memory_props_.memoryTypes[i].propertyFlags;
    if ((f & required) != required) continue;
    if ((f & preferred) == preferred) return i;
    if (fallback < 0) fallback = static_cast<int>(i);
  }
  if (fallback < 0) throw VulkanError("the device offers no memory type suitable for this buffer");
  return static_cast<uint32_t>(fallback);
}

GpuBuffer Context::create_buffer(uint64_t bytes, MemoryUse use, std::string_view what) {
  if (bytes == 0)
    bytes = 4;  // Vulkan forbids empty buffers; callers may have nothing to store yet.
  const std::string label = " for " + std::string(what);
  if (bytes > info_.max_storage_buffer_range)
    throw OutOfDeviceMemory("a buffer of " + mib(bytes) + label +
                            " exceeds this device's largest storage buffer (" +
                            mib(info_.max_storage_buffer_range) + ")");
  if (info_.max_allocation_bytes && bytes > info_.max_allocation_bytes)
    throw OutOfDeviceMemory("a buffer of " + mib(bytes) + label +
                            " exceeds this device's largest allocation (" +
                            mib(info_.max_allocation_bytes) + ")");
  if (memory_limit_ && allocated_.load() + bytes > memory_limit_)
    throw OutOfDeviceMemory("allocating " + mib(bytes) + label +
                            " would exceed the device memory limit of " + mib(memory_limit_) +
                            " (" + mib(allocated_.load()) + " in use)");
  GpuBuffer out;
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = bytes;
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
              VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  const bool addressed = info_.buffer_address;
  if (addressed) bci.usage |= VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkBuffer buf = VK_NULL_HANDLE;
  VK_CHECK(vkCreateBuffer(device(), &bci, nullptr, &buf));
  out.buffer_ = Buffer(device(), buf);

  VkMemoryRequirements req{};
  vkGetBufferMemoryRequirements(device(), buf, &req);
  VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = find_memory_type(req.memoryTypeBits, use);
  VkMemoryAllocateFlagsInfo flags{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO};
  flags.flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT;
  if (addressed) mai.pNext = &flags;
  VkDeviceMemory mem = VK_NULL_HANDLE;
  const VkResult r = vkAllocateMemory(device(), &mai, nullptr, &mem);
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
    throw OutOfDeviceMemory("the GPU has no room for " + mib(bytes) + label + " (" +
                            mib(allocated_.load()) + " already allocated by sinkstream, " +
                            mib(info_.device_local_bytes) +
                            " on the device); try a smaller window, f16 KV or a smaller model");
  VK_CHECK(r);
  out.memory_ = DeviceMemory(device(), mem);
  VK_CHECK(vkBindBufferMemory(device(), buf, mem, 0));
  if (memory_props_.memoryTypes[mai.memoryTypeIndex].propertyFlags &
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)
    VK_CHECK(vkMapMemory(device(), mem, 0, VK_WHOLE_SIZE, 0, &out.mapped_));
  if (addressed) {
    VkBufferDeviceAddressInfo ai{VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO};
    ai.buffer = buf;
    out.address_ = vkGetBufferDeviceAddress(device(), &ai);
  }
  out.size_ = bytes;
  out.account_ = &allocated_;
  allocated_.fetch_add(bytes);
  return out;
}

void Context::run_transfer(const std::function<void(VkCommandBuffer)>& record) {
  std::lock_guard<std::mutex> lock(transfer_mutex_);
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = transfer_pool_.get();
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  VK_CHECK(vkAllocateCommandBuffers(device(), &ai, &cmd));
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  VK_CHECK(vkBeginCommandBuffer(cmd, &bi));
  record(cmd);
  VK_CHECK(vkEndCommandBuffer(cmd));
  submit_and_wait(cmd, transfer_fence_.get());
  vkFreeCommandBuffers(device(), transfer_pool_.get(), 1, &cmd);
}

void Context::upload(const GpuBuffer& dst, const void* src, uint64_t bytes, uint64_t offset) {
  if (offset + bytes > dst.size()) throw Error("internal error: upload past the end of a buffer");
  if (bytes == 0) return;
  if (dst.host_visible()) {
    std::memcpy(static_cast<char*>(dst.mapped()) + offset, src, bytes);
    return;
  }
  GpuBuffer staging = create_buffer(bytes, MemoryUse::upload, "upload staging");
  std::memcpy(staging.mapped(), src, bytes);
  run_transfer([&](VkCommandBuffer cmd) {
    const VkBufferCopy region{0, offset, bytes};
    vkCmdCopyBuffer(cmd, staging.get(), dst.get(), 1, &region);
  });
}

void Context::zero(std::span<const GpuBuffer* const> buffers) {
  run_transfer([&](VkCommandBuffer cmd) {
    for (const GpuBuffer* b : buffers) vkCmdFillBuffer(cmd, b->get(), 0, VK_WHOLE_SIZE, 0);
  });
}

void Context::download(const GpuBuffer& src, void* dst, uint64_t bytes, uint64_t offset) {
  if (offset + bytes > src.size()) throw Error("internal error: download past the end of a buffer");
  if (bytes == 0) return;
  if (src.host_visible()) {
    std::memcpy(dst, static_cast<const char*>(src.mapped()) + offset, bytes);
    return;
  }
  GpuBuffer staging = create_buffer(bytes, MemoryUse::readback, "download staging");
  run_transfer([&](VkCommandBuffer cmd) {
    const VkBufferCopy region{offset, 0, bytes};
    vkCmdCopyBuffer(cmd, src.get(), staging.get(), 1, &region);
  });
  std::memcpy(dst, staging.mapped(), bytes);
}

const Kernel& Context::kernel(const KernelDesc& desc) {
  std::string key(desc.shader);
  for (uint32_t v : desc.local_size) {
    key += '/';
    key += std::to_string(v);
  }
  for (const auto& s : desc.spec) {
    key += ' ';
    key += std::to_string(s.id);
    key += '=';
    key += std::to_string(s.value);
  }
  KernelSlot* slot = nullptr;
  {
    std::lock_guard<std::mutex> lock(kernels_mutex_);
    auto& s = kernels_[key];
    if (!s) s = std::make_unique<KernelSlot>();
    slot = s.get();  // map nodes stay put
  }
  // A compile that throws leaves the flag unset: the next caller tries again.
  std::call_once(slot->compiled, [&] {
    slot->kernel = create_kernel(desc);
    if (capture_stats_) print_pipeline_stats(slot->kernel->pipeline.get(), key);
  });
  const Kernel& k = *slot->kernel;
  if (k.bindings != desc.bindings || k.push_bytes != desc.push_bytes)
    throw Error("internal error: kernel " + key + " requested with two different interfaces");
  return k;
}

std::unique_ptr<Kernel> Context::create_kernel(const KernelDesc& desc) {
  const ShaderBlob& blob = find_shader(desc.shader);
  auto k = std::make_unique<Kernel>();
  k->name = std::string(desc.shader);
  k->bindings = desc.bindings;
  k->push_bytes = desc.push_bytes;
  k->local_size = desc.local_size;
  const uint32_t invocations = desc.local_size[0] * desc.local_size[1] * desc.local_size[2];
  if (invocations == 0 || invocations > info_.max_workgroup_invocations)
    throw Error("internal error: workgroup of " + std::to_string(invocations) +
                " invocations for " + k->name + " exceeds the device limit of " +
                std::to_string(info_.max_workgroup_invocations));

  std::vector<VkDescriptorSetLayoutBinding> binds(desc.bindings);
  for (uint32_t i = 0; i < desc.bindings; ++i)
    binds[i] = {i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  VkDescriptorSetLayoutCreateInfo dci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  dci.bindingCount = desc.bindings;
  dci.pBindings = binds.data();
  VkDescriptorSetLayout dsl = VK_NULL_HANDLE;
  VK_CHECK(vkCreateDescriptorSetLayout(device(), &dci, nullptr, &dsl));
  k->set_layout = DescriptorSetLayout(device(), dsl);

  const VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, desc.push_bytes};
  VkPipelineLayoutCreateInfo lci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  lci.setLayoutCount = 1;
  lci.pSetLayouts = &dsl;
  lci.pushConstantRangeCount = desc.push_bytes ? 1 : 0;
  lci.pPushConstantRanges = &range;
  VkPipelineLayout pl = VK_NULL_HANDLE;
  VK_CHECK(vkCreatePipelineLayout(device(), &lci, nullptr, &pl));
  k->layout = PipelineLayout(device(), pl);

  VkShaderModuleCreateInfo sci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  sci.codeSize = blob.word_count * 4;
  sci.pCode = blob.words;
  VkShaderModule sm = VK_NULL_HANDLE;
  VK_CHECK(vkCreateShaderModule(device(), &sci, nullptr, &sm));
  ShaderModule module(device(), sm);

  std::vector<SpecConstant> spec = {
      {0, desc.local_size[0]}, {1, desc.local_size[1]}, {2, desc.local_size[2]}};
  spec.insert(spec.end(), desc.spec.begin(), desc.spec.end());
  std::vector<VkSpecializationMapEntry> entries;
  std::vector<uint32_t> values;
  for (const auto& s : spec) {
    entries.push_back({s.id, static_cast<uint32_t>(values.size() * 4), 4});
    values.push_back(s.value);
  }
  VkSpecializationInfo si{static_cast<uint32_t>(entries.size()), entries.data(), values.size() * 4,
                          values.data()};
  VkComputePipelineCreateInfo pci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  pci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  pci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  pci.stage.module = sm;
  pci.stage.pName = "main";
  pci.stage.pSpecializationInfo = &si;
  pci.layout = pl;
  if (capture_stats_) pci.flags |= VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR;
  VkPipeline p = VK_NULL_HANDLE;
  VK_CHECK(vkCreateComputePipelines(device(), pipeline_cache_.get(), 1, &pci, nullptr, &p));
  k->pipeline = Pipeline(device(), p);
  return k;
}

// One stderr line per executable of the pipeline: the driver's own statistics, such
// as registers per invocation and spilled bytes (names and units are the driver's).
void Context::print_pipeline_stats(VkPipeline pipeline, const std::string& key) const {
  const auto props_fn = reinterpret_cast<PFN_vkGetPipelineExecutablePropertiesKHR>(
      vkGetDeviceProcAddr(device(), "vkGetPipelineExecutablePropertiesKHR"));
  const auto stats_fn = reinterpret_cast<PFN_vkGetPipelineExecutableStatisticsKHR>(
      vkGetDeviceProcAddr(device(), "vkGetPipelineExecutableStatisticsKHR"));
  if (!props_fn || !stats_fn) return;
  VkPipelineInfoKHR pi{VK_STRUCTURE_TYPE_PIPELINE_INFO_KHR};
  pi.pipeline = pipeline;
  uint32_t n = 0;
  VK_CHECK(props_fn(device(), &pi, &n, nullptr));
  for (uint32_t e = 0; e < n; ++e) {
    VkPipelineExecutableInfoKHR ei{VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR};
    ei.pipeline = pipeline;
    ei.executableIndex = e;
    uint32_t m = 0;
    VK_CHECK(stats_fn(device(), &ei, &m, nullptr));
    std::vector<VkPipelineExecutableStatisticKHR> stats(m, {VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR});
    VK_CHECK(stats_fn(device(), &ei, &m, stats.data()));
    std::string line = "pipeline stats: " + key + ":";
    for (const auto& st : stats) {
      line += ' ';
      line += st.name;
      line += '=';
      switch (st.format) {
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR: line += st.value.b32 ? "true" : "false"; break;
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR: line += std::to_string(st.value.i64); break;
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR: line += std::to_string(st.value.u64); break;
        default: line += std::to_string(st.value.f64);
      }
      line += ';';
    }
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

namespace {

// What each live descriptor pool may still hand out. Drivers differ where a
// pool is overdrawn (NVIDIA fails with VK_ERROR_OUT_OF_POOL_MEMORY, lavapipe
// allocates anyway), so Context::bind counts it here: a pool sized too small
// fails on every device, tests included.
struct PoolRoom {
  uint32_t sets = 0, buffers = 0;
};
std::mutex pool_room_mutex;
std::map<std::pair<VkDevice, VkDescriptorPool>, PoolRoom> pool_room;  // guarded by pool_room_mutex

}  // namespace

void destroy_descriptor_pool(VkDevice device, VkDescriptorPool pool, const VkAllocationCallbacks* allocator) {
  {
    std::lock_guard<std::mutex> lock(pool_room_mutex);
    pool_room.erase({device, pool});
  }
  vkDestroyDescriptorPool(device, pool, allocator);
}

DescriptorPool Context::create_descriptor_pool(uint32_t max_sets, uint32_t max_buffers) {
  const VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, max_buffers};
  VkDescriptorPoolCreateInfo ci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  ci.maxSets = max_sets;
  ci.poolSizeCount = 1;
  ci.pPoolSizes = &size;
  VkDescriptorPool pool = VK_NULL_HANDLE;
  VK_CHECK(vkCreateDescriptorPool(device(), &ci, nullptr, &pool));
  {
    std::lock_guard<std::mutex> lock(pool_room_mutex);
    pool_room[{device(), pool}] = {max_sets, max_buffers};
  }
  return DescriptorPool(device(), pool);
}

BindingSet Context::bind(VkDescriptorPool pool, const Kernel& kernel,
                         std::span<const GpuBuffer* const> buffers) {
  if (buffers.size() != kernel.bindings)
    throw Error("internal error: " + kernel.name + " takes " + std::to_string(kernel.bindings) +
                " buffers, got " + std::to_string(buffers.size()));
  VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  ai.descriptorPool = pool;
  ai.descriptorSetCount = 1;
  const VkDescriptorSetLayout dsl = kernel.set_layout.get();
  ai.pSetLayouts = &dsl;
  {
    std::lock_guard<std::mutex> lock(pool_room_mutex);
    const auto room = pool_room.find({device(), pool});
    if (room == pool_room.end() || room->second.sets == 0 || room->second.buffers < buffers.size())
      throw Error("internal error: a descriptor pool sized too small for " + kernel.name +
                  "'s binding set (count its sets and buffers where it is created)");
    room->second.sets -= 1;
    room->second.buffers -= static_cast<uint32_t>(buffers.size());
  }
  BindingSet out{VK_NULL_HANDLE, &kernel};
  VK_CHECK(vkAllocateDescriptorSets(device(), &ai, &out.set));
  std::vector<VkDescriptorBufferInfo> infos(buffers.size());
  std::vector<VkWriteDescriptorSet> writes(buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i) {
    infos[i] = {buffers[i]->get(), 0, VK_WHOLE_SIZE};
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstSet = out.set;
    writes[i].dstBinding = static_cast<uint32_t>(i);
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  vkUpdateDescriptorSets(device(), static_cast<uint32_t>(writes.size()), writes.data(), 0, nullptr);
  return out;
}

CommandPool Context::create_command_pool() {
  VkCommandPoolCreateInfo ci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  ci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  ci.queueFamilyIndex = queue_family_;
  VkCommandPool pool = VK_NULL_HANDLE;
  VK_CHECK(vkCreateCommandPool(device(), &ci, nullptr, &pool));
  return CommandPool(device(), pool);
}

Fence Context::create_fence() {
  VkFenceCreateInfo ci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkFence f = VK_NULL_HANDLE;
  VK_CHECK(vkCreateFence(device(), &ci, nullptr, &f));
  return Fence(device(), f);
}

QueryPool Context::create_timestamp_pool(uint32_t count) {
  if (!info_.timestamps)
    throw Error("this device's compute queue has no timestamps; GPU timing is unavailable");
  VkQueryPoolCreateInfo ci{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
  ci.queryType = VK_QUERY_TYPE_TIMESTAMP;
  ci.queryCount = count;
  VkQueryPool q = VK_NULL_HANDLE;
  VK_CHECK(vkCreateQueryPool(device(), &ci, nullptr, &q));
  return QueryPool(device(), q);
}

void Context::submit_and_wait(VkCommandBuffer cmd, VkFence fence) {
  submit(cmd, fence);
  wait(fence);
}

void Context::submit(VkCommandBuffer cmd, VkFence fence) {
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd;
  VK_CHECK(vkResetFences(device(), 1, &fence));
  std::lock_guard<std::mutex> lock(queue_mutex_);
  if (inject_lost_at_ && ++submissions_ >= inject_lost_at_)
    throw_vk_error(VK_ERROR_DEVICE_LOST,
                   "vkQueueSubmit (injected by SINKSTREAM_INJECT_DEVICE_LOST)", __FILE__, __LINE__);
  VK_CHECK(vkQueueSubmit(queue_, 1, &si, fence));
}

void Context::wait(VkFence fence) {
  const VkResult r = vkWaitForFences(device(), 1, &fence, VK_TRUE, submit_timeout_ns());
  if (r == VK_TIMEOUT)
    throw DeviceLost("the GPU did not finish a submission within " + std::to_string(submit_timeout_ms_ / 1000) +
                     " s; treating the device as lost ($SINKSTREAM_SUBMIT_TIMEOUT sets the limit in seconds)");
  VK_CHECK(r);
}

void Context::load_pipeline_cache() {
  std::vector<char> data;
  if (!pipeline_cache_path_.empty()) {
    std::ifstream in(pipeline_cache_path_, std::ios::binary);
    if (in) data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  pipeline_cache_loaded_ = data.size();
  VkPipelineCacheCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  ci.initialDataSize = data.size();
  ci.pInitialData = data.empty() ? nullptr : data.data();
  VkPipelineCache c = VK_NULL_HANDLE;
  VkResult r = vkCreatePipelineCache(device(), &ci, nullptr, &c);
  if (r != VK_SUCCESS && !data.empty()) {
    // A stale or corrupt cache file is not an error: start empty.
    ci.initialDataSize = 0;
    ci.pInitialData = nullptr;
    r = vkCreatePipelineCache(device(), &ci, nullptr, &c);
  }
  VK_CHECK(r);
  pipeline_cache_ = PipelineCache(device(), c);
}

void Context::save_pipeline_cache() const {
  if (pipeline_cache_path_.empty()) return;
  size_t n = 0;
  VK_CHECK(vkGetPipelineCacheData(device(), pipeline_cache_.get(), &n, nullptr));
  if (n == pipeline_cache_loaded_) return;  // nothing new was compiled
  std::vector<char> data(n);
  VK_CHECK(vkGetPipelineCacheData(device(), pipeline_cache_.get(), &n, data.data()));
  // Written beside the target and renamed over it: concurrent runs and crashes
  // never leave a half-written cache behind.
  const std::filesystem::path path(pipeline_cache_path_);
  std::error_code ec;
  // Only the default location's folder is created: a path the user gave names a
  // folder that should exist (a typo must not leave new folders behind).
  if (pipeline_cache_default_ && path.has_parent_path())
    std::filesystem::create_directories(path.parent_path(), ec);
  if (path.has_parent_path() && !std::filesystem::is_directory(path.parent_path(), ec))
    throw Error("cannot write the pipeline cache to " + pipeline_cache_path_ + ": no folder " +
                path.parent_path().string());
  const std::filesystem::path tmp =
      path.string() + ".tmp" + std::to_string(reinterpret_cast<uintptr_t>(this));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(n));
    if (!out) {
      std::filesystem::remove(tmp, ec);
      throw Error("cannot write the pipeline cache to " + pipeline_cache_path_);
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw Error("cannot write the pipeline cache to " + pipeline_cache_path_);
  }
}

}  // namespace sinkstream::vk
