// Error types thrown by sinkstream. Every failure a user can cause or meet (bad
// input, no device, out of memory, device lost) is one of these, with a message
// written for the person reading it, never an abort.
#pragma once
#include <stdexcept>
#include <string>

#include "sinkstream/export.hpp"

namespace sinkstream {

class SINKSTREAM_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Invalid argument or configuration passed by the caller.
class SINKSTREAM_API InvalidArgument : public Error {
 public:
  using Error::Error;
};

// The scheduler already serves max_streams streams. A stream destroyed during
// a step is freed before the next one, so a caller that just destroyed one may
// retry; an InvalidArgument for every other purpose (SS_ERR_INVALID_ARGUMENT).
class SINKSTREAM_API StreamLimitReached : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

// No usable Vulkan device, or the requested one does not exist.
class SINKSTREAM_API NoDeviceError : public Error {
 public:
  using Error::Error;
};

// Device memory exhausted (or the configured cap would be exceeded).
class SINKSTREAM_API OutOfDeviceMemory : public Error {
 public:
  using Error::Error;
};

// The driver reported VK_ERROR_DEVICE_LOST or a submission timed out; the
// context that threw is unusable, but the process is not.
class SINKSTREAM_API DeviceLost : public Error {
 public:
  using Error::Error;
};

// The NaN/Inf guard found a non-finite value; the message names the first op.
class SINKSTREAM_API NumericalError : public Error {
 public:
  using Error::Error;
};

// Any other Vulkan failure.
class SINKSTREAM_API VulkanError : public Error {
 public:
  using Error::Error;
};

}  // namespace sinkstream
