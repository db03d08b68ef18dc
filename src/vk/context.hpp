// The Vulkan device a sinkstream process works on: instance, chosen physical
// device, logical device and queue, validation messages, memory accounting and
// the pipeline cache. Every other Vulkan object is made by a factory here.
#pragma once
#include <vulkan/vulkan.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vk/handles.hpp"

namespace sinkstream::vk {

// What `sinkstream devices` prints and what kernels may rely on.
struct DeviceInfo {
  uint32_t index = 0;  // position in vkEnumeratePhysicalDevices order
  std::string name;
  VkPhysicalDeviceType type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
  std::string driver;
  uint32_t api_version = 0;
  std::string cache_key;  // vendor, device and driver version, plus the pipeline-cache UUID
  uint64_t device_local_bytes = 0;  // largest DEVICE_LOCAL heap
  bool uma = false;  // a DEVICE_LOCAL heap is also host-visible (Steam Deck, lavapipe, ReBAR)
  uint32_t subgroup_size = 0;
  bool subgroup_arithmetic = false;  // in compute shaders
  bool subgroup_shuffle = false;
  bool fp16_arithmetic = false;
  bool storage_16bit = false;
  bool coopmat_khr = false;
  bool coopmat_nv = false;
  bool coopmat_prefill = false;   // NV 16x16x16 f16 -> f32, f16 math, memory model, subgroup 32
  bool executable_stats = false;  // VK_KHR_pipeline_executable_properties (registers per kernel)
  // Buffer device addresses (core in Vulkan 1.2): kernels that serve many streams
  // reach each stream's cache through an address in a descriptor buffer.
  bool buffer_address = false;
  // Integer dot products of 4x8-bit packed vectors (VK_KHR_shader_integer_dot_product),
  // and whether the driver says they are faster than its own shifts and multiplies.
  bool integer_dot = false, integer_dot_fast = false;
  uint32_t compute_units = 0;  // streaming multiprocessors (VK_NV_shader_sm_builtins); 0: unknown
  uint32_t max_shared_bytes = 0;
  uint32_t max_workgroup_invocations = 0;
  std::array<uint32_t, 3> max_workgroup_count{};
  uint64_t max_storage_buffer_range = 0;
  uint64_t max_allocation_bytes = 0;
  bool timestamps = false;
  double timestamp_period_ns = 0.0;
};

const char* device_type_name(VkPhysicalDeviceType t);

// Lists every physical device Vulkan sees (needs no logical device).
std::vector<DeviceInfo> list_devices();

struct ContextOptions {
  // "" = best device (discrete > integrated > virtual > CPU); otherwise an index
  // or a case-insensitive name substring. Empty falls back to $SINKSTREAM_DEVICE.
  std::string device;
  // Validation layers with synchronization validation; also on when
  // $SINKSTREAM_VALIDATION=1. Messages are collected, see validation_messages().
  bool validation = false;
  // Cap on device bytes this context may allocate (0 = none); also
  // $SINKSTREAM_DEVICE_MEMORY_LIMIT (bytes, K/M/G suffixes).
  uint64_t memory_limit = 0;
  // Where the pipeline cache is loaded from and saved to ("" = in memory only);
  // also $SINKSTREAM_PIPELINE_CACHE.
  std::string pipeline_cache_path;
  // A submission that has not finished after this long is reported as a lost device;
  // 0 = $SINKSTREAM_SUBMIT_TIMEOUT (seconds) if set, else default_submit_timeout_ms().
  uint64_t submit_timeout_ms = 0;
};

// 120 s on GPUs. 30 minutes on CPU drivers: lavapipe compiles each kernel variant
// on its first dispatch, inside the submission, and a large one (attention with
// head_dim 256) took over 120 s on a busy 2-core machine, which is not a hang.
uint64_t default_submit_timeout_ms(VkPhysicalDeviceType type);

// Parses "123", "64K", "512M", "2G" (binary units). Throws InvalidArgument.
uint64_t parse_byte_size(std::string_view text);

// An environment variable, "" when unset.
std::string env(const char* name);
// A switch in the environment: set, and not "0", "false" or "off".
bool env_flag(const char* name);

enum class MemoryUse {
  device,    // GPU-only data (KV cache, weights, scratch)
  upload,    // written by the host every step, read by shaders
  readback,  // written by shaders, read by the host
};

class Context;

// A buffer and its memory. Host-visible buffers stay mapped for their lifetime.
// Must not outlive the Context that made it.
class GpuBuffer {
 public:
  GpuBuffer() = default;
  GpuBuffer(GpuBuffer&&) noexcept;
  GpuBuffer& operator=(GpuBuffer&&) noexcept;
  ~GpuBuffer();

  VkBuffer get() const { return buffer_.get(); }
  uint64_t size() const { return size_; }
  bool host_visible() const { return mapped_ != nullptr; }
  void* mapped() const { return mapped_; }  // nullptr unless host-visible
  // Its device address, where the device has buffer addresses; 0 otherwise.
  uint64_t address() const { return address_; }

 private:
  friend class Context;
  Buffer buffer_;
  DeviceMemory memory_;
  uint64_t size_ = 0;
  void* mapped_ = nullptr;
  uint64_t address_ = 0;
  std::atomic<uint64_t>* account_ = nullptr;  // the owning context's byte counter
};

struct SpecConstant {
  uint32_t id;
  uint32_t value;  // floats are passed bit-cast
};

struct KernelDesc {
  std::string_view shader;                      // embedded variant name
  uint32_t bindings = 0;                        // storage buffers 0..bindings-1 in set 0
  uint32_t push_bytes = 0;                      // sizeof the push-constant struct
  std::array<uint32_t, 3> local_size{1, 1, 1};  // given to spec ids 0, 1, 2
  std::vector<SpecConstant> spec;               // ids >= 3: tile geometry
};

// A compute pipeline with its layouts. Shaders use storage buffers only.
struct Kernel {
  std::string name;
  DescriptorSetLayout set_layout;
  PipelineLayout layout;
  Pipeline pipeline;
  uint32_t bindings = 0;
  uint32_t push_bytes = 0;
  std::array<uint32_t, 3> local_size{};
};

// A descriptor set made for one kernel; the pool that owns it owns its lifetime.
struct BindingSet {
  VkDescriptorSet set = VK_NULL_HANDLE;
  const Kernel* kernel = nullptr;
};

class Context {
 public:
  explicit Context(const ContextOptions& options = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const DeviceInfo& info() const { return info_; }
  VkDevice device() const { return device_.get(); }
  VkQueue queue() const { return queue_; }
  uint32_t queue_family() const { return queue_family_; }
  uint64_t submit_timeout_ns() const { return submit_timeout_ms_ * 1000000ull; }

  // Throws OutOfDeviceMemory (with sizes in the message) if the allocation
  // cannot be made or would exceed the memory limit.
  GpuBuffer create_buffer(uint64_t bytes, MemoryUse use, std::string_view what);
  uint64_t allocated_bytes() const { return allocated_.load(); }
  uint64_t memory_limit() const { return memory_limit_; }

  // Copies host data into / out of any buffer (through staging when the buffer
  // is not host-visible). Blocking; meant for set-up and tests, not hot paths.
  void upload(const GpuBuffer& dst, const void* src, uint64_t bytes, uint64_t offset = 0);
  void download(const GpuBuffer& src, void* dst, uint64_t bytes, uint64_t offset = 0);
  // Fills the buffers with zero bytes (blocking, like upload).
  void zero(std::span<const GpuBuffer* const> buffers);

  // The kernel for this shader variant, specialisation and workgroup size:
  // compiled on first use, then shared (kernels are immutable and live as long
  // as the context, so streams of the same shape never recompile).
  const Kernel& kernel(const KernelDesc& desc);
  DescriptorPool create_descriptor_pool(uint32_t max_sets, uint32_t max_buffers);
  BindingSet bind(VkDescriptorPool pool, const Kernel& kernel,
                  std::span<const GpuBuffer* const> buffers);

  CommandPool create_command_pool();
  Fence create_fence();
  QueryPool create_timestamp_pool(uint32_t count);

  // Submits and waits; a timeout or device loss throws DeviceLost.
  void submit_and_wait(VkCommandBuffer cmd, VkFence fence);
  // Records a one-off command buffer with `record`, submits it and waits (transfer lock held).
  void run_transfer(const std::function<void(VkCommandBuffer)>& record);
  // The two halves, for work queued behind work (the fence is reset on submit).
  void submit(VkCommandBuffer cmd, VkFence fence);
  void wait(VkFence fence);

  // Validation messages (warnings and errors) collected since the last take.
  std::vector<std::string> take_validation_messages();
  bool validation_enabled() const { return validation_; }

  void save_pipeline_cache() const;

 private:
  void create_instance();
  void pick_physical_device(const std::string& selector);
  void create_device();
  void load_pipeline_cache();
  uint32_t find_memory_type(uint32_t type_bits, MemoryUse use) const;
  std::unique_ptr<Kernel> create_kernel(const KernelDesc& desc);
  void print_pipeline_stats(VkPipeline pipeline, const std::string& key) const;

  static VkBool32 VKAPI_PTR on_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                             VkDebugUtilsMessageTypeFlagsEXT types,
                                             const VkDebugUtilsMessengerCallbackDataEXT* data,
                                             void* user);

  bool validation_ = false;
  bool capture_stats_ = false;  // $SINKSTREAM_PIPELINE_STATS, where the driver has the extension
  uint64_t memory_limit_ = 0;
  uint64_t submit_timeout_ms_ = 0;
  // Fault injection for tests ($SINKSTREAM_INJECT_DEVICE_LOST=N): submission N
  // and every later one fail as VK_ERROR_DEVICE_LOST. 0 = off.
  uint64_t inject_lost_at_ = 0, submissions_ = 0;
  std::string pipeline_cache_path_;   // "" = no cache file
  bool pipeline_cache_default_ = false;  // the default location: its folder may be created
  size_t pipeline_cache_loaded_ = 0;  // bytes read at start: an unchanged cache is not rewritten

  Instance instance_;
  DebugMessenger messenger_;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  DeviceInfo info_;
  VkPhysicalDeviceMemoryProperties memory_props_{};
  Device device_;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
  PipelineCache pipeline_cache_;
  CommandPool transfer_pool_;  // for upload()/download()
  Fence transfer_fence_;

  // Threads may share a Context (a Scheduler's callers create streams while it
  // steps): the queue and the transfer pool are externally synchronised objects.
  std::mutex queue_mutex_, transfer_mutex_;
  // A kernel is compiled once, by the first thread that asks for it, outside
  // kernels_mutex_: threads that need different kernels compile them at once.
  struct KernelSlot {
    std::once_flag compiled;
    std::unique_ptr<Kernel> kernel;
  };
  std::mutex kernels_mutex_;  // guards the map, not the compiling
  std::map<std::string, std::unique_ptr<KernelSlot>> kernels_;  // key: variant, local size, spec constants

  std::atomic<uint64_t> allocated_{0};
  mutable std::mutex messages_mutex_;
  std::vector<std::string> messages_;
};

}  // namespace sinkstream::vk
