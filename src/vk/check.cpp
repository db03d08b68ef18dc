#include "vk/check.hpp"

#include <string>

namespace sinkstream::vk {

const char* result_name(VkResult r) {
  switch (r) {
#define NAME(x) \
  case x:       \
    return #x;
    NAME(VK_SUCCESS)
    NAME(VK_NOT_READY)
    NAME(VK_TIMEOUT)
    NAME(VK_INCOMPLETE)
    NAME(VK_ERROR_OUT_OF_HOST_MEMORY)
    NAME(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    NAME(VK_ERROR_INITIALIZATION_FAILED)
    NAME(VK_ERROR_DEVICE_LOST)
    NAME(VK_ERROR_MEMORY_MAP_FAILED)
    NAME(VK_ERROR_LAYER_NOT_PRESENT)
    NAME(VK_ERROR_EXTENSION_NOT_PRESENT)
    NAME(VK_ERROR_FEATURE_NOT_PRESENT)
    NAME(VK_ERROR_INCOMPATIBLE_DRIVER)
    NAME(VK_ERROR_TOO_MANY_OBJECTS)
    NAME(VK_ERROR_FORMAT_NOT_SUPPORTED)
    NAME(VK_ERROR_FRAGMENTED_POOL)
    NAME(VK_ERROR_OUT_OF_POOL_MEMORY)
    NAME(VK_ERROR_UNKNOWN)
#undef NAME
    default:
      return "VkResult(unknown)";
  }
}

void throw_vk_error(VkResult r, const char* expr, const char* file, int line) {
  const std::string where =
      std::string(" [") + result_name(r) + " from " + expr + " at " + file + ":" + std::to_string(line) + "]";
  switch (r) {
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
      throw OutOfDeviceMemory("the GPU ran out of memory; try a smaller window, f16 KV or a smaller model" + where);
    case VK_ERROR_OUT_OF_HOST_MEMORY:
      throw OutOfDeviceMemory("the system ran out of memory while talking to the GPU driver" + where);
    case VK_ERROR_DEVICE_LOST:
      throw DeviceLost("the GPU stopped responding (device lost); the driver may have reset it" + where);
    case VK_ERROR_INCOMPATIBLE_DRIVER:
    case VK_ERROR_INITIALIZATION_FAILED:
      throw NoDeviceError("no working Vulkan driver could be initialised; install your GPU's Vulkan driver "
                          "(or mesa-vulkan-drivers for the CPU driver lavapipe)" + where);
    default:
      throw VulkanError("Vulkan call failed" + where);
  }
}

}  // namespace sinkstream::vk
