// One error policy for every Vulkan call: VK_CHECK throws a typed sinkstream
// error carrying the expression and file:line. No VkResult is ever dropped.
#pragma once
#include <vulkan/vulkan.h>

#include "sinkstream/error.hpp"

namespace sinkstream::vk {

const char* result_name(VkResult r);

// Throws the sinkstream error type that matches `r` (never returns).
[[noreturn]] void throw_vk_error(VkResult r, const char* expr, const char* file, int line);

}  // namespace sinkstream::vk

#define VK_CHECK(expr)                                                           \
  do {                                                                           \
    const VkResult vk_check_result_ = (expr);                                    \
    if (vk_check_result_ != VK_SUCCESS)                                          \
      ::sinkstream::vk::throw_vk_error(vk_check_result_, #expr, __FILE__, __LINE__); \
  } while (0)
