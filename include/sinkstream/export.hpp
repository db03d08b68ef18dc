// SINKSTREAM_API marks what the shared library exports: it is built with
// hidden visibility, so only the public API (these headers' classes and
// functions, and the C API) is visible to the programs that link it.
#pragma once

#if defined(_WIN32)
#  if defined(SINKSTREAM_BUILDING_SHARED)
#    define SINKSTREAM_API __declspec(dllexport)
#  elif defined(SINKSTREAM_SHARED)
#    define SINKSTREAM_API __declspec(dllimport)
#  else
#    define SINKSTREAM_API
#  endif
#else
#  define SINKSTREAM_API __attribute__((visibility("default")))
#endif
