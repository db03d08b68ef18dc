// Move-only RAII owners for Vulkan objects: one type per object kind, no logic.
// Child objects remember the VkDevice that destroys them.
#pragma once
#include <vulkan/vulkan.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <utility>

namespace sinkstream::vk {

// How many handles of one kind are alive in the process: soak tests assert the
// set of Vulkan objects does not grow while a stream runs.
// Keyed by the destroy function: on 32-bit targets every handle type is uint64_t.
template <auto Destroy>
struct LiveCount {
  static inline std::atomic<int64_t> n{0};
};

template <typename T, void (*Destroy)(VkDevice, T, const VkAllocationCallbacks*)>
class DeviceChild {
 public:
  DeviceChild() = default;
  DeviceChild(VkDevice device, T handle) : device_(device), handle_(handle) {
    if (handle_ != VK_NULL_HANDLE) ++LiveCount<Destroy>::n;
  }
  DeviceChild(const DeviceChild&) = delete;
  DeviceChild& operator=(const DeviceChild&) = delete;
  DeviceChild(DeviceChild&& o) noexcept
      : device_(std::exchange(o.device_, VK_NULL_HANDLE)),
        handle_(std::exchange(o.handle_, VK_NULL_HANDLE)) {}
  DeviceChild& operator=(DeviceChild&& o) noexcept {
    if (this != &o) {
      reset();
      device_ = std::exchange(o.device_, VK_NULL_HANDLE);
      handle_ = std::exchange(o.handle_, VK_NULL_HANDLE);
    }
    return *this;
  }
  ~DeviceChild() { reset(); }

  T get() const { return handle_; }
  explicit operator bool() const { return handle_ != VK_NULL_HANDLE; }
  void reset() {
    if (handle_ != VK_NULL_HANDLE) {
      Destroy(device_, handle_, nullptr);
      --LiveCount<Destroy>::n;
    }
    handle_ = VK_NULL_HANDLE;
  }

 private:
  VkDevice device_ = VK_NULL_HANDLE;
  T handle_ = VK_NULL_HANDLE;
};

using Buffer = DeviceChild<VkBuffer, vkDestroyBuffer>;
using DeviceMemory = DeviceChild<VkDeviceMemory, vkFreeMemory>;
using ShaderModule = DeviceChild<VkShaderModule, vkDestroyShaderModule>;
using DescriptorSetLayout = DeviceChild<VkDescriptorSetLayout, vkDestroyDescriptorSetLayout>;
// vkDestroyDescriptorPool, and forgets the room Context::bind counts in the pool.
void destroy_descriptor_pool(VkDevice device, VkDescriptorPool pool, const VkAllocationCallbacks* allocator);
using DescriptorPool = DeviceChild<VkDescriptorPool, destroy_descriptor_pool>;
using PipelineLayout = DeviceChild<VkPipelineLayout, vkDestroyPipelineLayout>;
using Pipeline = DeviceChild<VkPipeline, vkDestroyPipeline>;
using PipelineCache = DeviceChild<VkPipelineCache, vkDestroyPipelineCache>;
using CommandPool = DeviceChild<VkCommandPool, vkDestroyCommandPool>;
using Fence = DeviceChild<VkFence, vkDestroyFence>;
using QueryPool = DeviceChild<VkQueryPool, vkDestroyQueryPool>;

// Live device objects of every kind above, in declaration order.
inline std::array<int64_t, 11> live_objects() {
  return {LiveCount<vkDestroyBuffer>::n.load(),
          LiveCount<vkFreeMemory>::n.load(),
          LiveCount<vkDestroyShaderModule>::n.load(),
          LiveCount<vkDestroyDescriptorSetLayout>::n.load(),
          LiveCount<destroy_descriptor_pool>::n.load(),
          LiveCount<vkDestroyPipelineLayout>::n.load(),
          LiveCount<vkDestroyPipeline>::n.load(),
          LiveCount<vkDestroyPipelineCache>::n.load(),
          LiveCount<vkDestroyCommandPool>::n.load(),
          LiveCount<vkDestroyFence>::n.load(),
          LiveCount<vkDestroyQueryPool>::n.load()};
}

class Instance {
 public:
  Instance() = default;
  explicit Instance(VkInstance h) : h_(h) {}
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;
  Instance(Instance&& o) noexcept : h_(std::exchange(o.h_, VK_NULL_HANDLE)) {}
  Instance& operator=(Instance&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, VK_NULL_HANDLE);
    }
    return *this;
  }
  ~Instance() { reset(); }
  VkInstance get() const { return h_; }
  void reset() {
    if (h_ != VK_NULL_HANDLE) vkDestroyInstance(h_, nullptr);
    h_ = VK_NULL_HANDLE;
  }

 private:
  VkInstance h_ = VK_NULL_HANDLE;
};

class Device {
 public:
  Device() = default;
  explicit Device(VkDevice h) : h_(h) {}
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  Device(Device&& o) noexcept : h_(std::exchange(o.h_, VK_NULL_HANDLE)) {}
  Device& operator=(Device&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, VK_NULL_HANDLE);
    }
    return *this;
  }
  ~Device() { reset(); }
  VkDevice get() const { return h_; }
  void reset() {
    if (h_ != VK_NULL_HANDLE) vkDestroyDevice(h_, nullptr);
    h_ = VK_NULL_HANDLE;
  }

 private:
  VkDevice h_ = VK_NULL_HANDLE;
};

// The messenger is destroyed through a function pointer fetched at run time,
// because VK_EXT_debug_utils is an instance extension.
class DebugMessenger {
 public:
  DebugMessenger() = default;
  DebugMessenger(VkInstance inst, VkDebugUtilsMessengerEXT h,
                 PFN_vkDestroyDebugUtilsMessengerEXT destroy)
      : inst_(inst), h_(h), destroy_(destroy) {}
  DebugMessenger(const DebugMessenger&) = delete;
  DebugMessenger& operator=(const DebugMessenger&) = delete;
  DebugMessenger(DebugMessenger&& o) noexcept
      : inst_(o.inst_), h_(std::exchange(o.h_, VK_NULL_HANDLE)), destroy_(o.destroy_) {}
  DebugMessenger& operator=(DebugMessenger&& o) noexcept {
    if (this != &o) {
      reset();
      inst_ = o.inst_;
      h_ = std::exchange(o.h_, VK_NULL_HANDLE);
      destroy_ = o.destroy_;
    }
    return *this;
  }
  ~DebugMessenger() { reset(); }
  void reset() {
    if (h_ != VK_NULL_HANDLE) destroy_(inst_, h_, nullptr);
    h_ = VK_NULL_HANDLE;
  }

 private:
  VkInstance inst_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT h_ = VK_NULL_HANDLE;
  PFN_vkDestroyDebugUtilsMessengerEXT destroy_ = nullptr;
};

}  // namespace sinkstream::vk
