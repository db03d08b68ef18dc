// The per-kernel checks: every compiled shader variant against a naive CPU
// reference (src/ref), over edge-case shapes, with a stated tolerance. One
// registry (registry.cpp) lists them; a compiled variant without an entry fails
// the build. The doctest suite (tests/test_kernels.cpp) and `sinkstream
// selftest` run the same entries on their device.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "vk/context.hpp"

namespace sinkstream::check {

struct CheckOptions {
  bool quick = false;  // fewer and smaller cases (`selftest --quick`)
};

// What one kernel variant's check found on one device.
struct VariantResult {
  std::string kernel, variant;  // shader family and variant suffix ("" when it has none)
  bool applicable = true;       // false: this device does not run the variant (note says why)
  std::string note;
  uint32_t cases = 0;
  double max_error = 0;  // worst error over the cases, in the kernel's own measure
  double tolerance = 0;
  bool pass = false;
  double ms = 0;  // wall time of the check (uploads, dispatches, reference)
};

// Runs the cases of `variant` (a suffix from KernelCheck::variants) on ctx and
// fills cases, max_error, tolerance (pass is set by the caller: max_error <= tolerance).
using RunCheck = void (*)(vk::Context& ctx, std::string_view variant, const CheckOptions& o,
                          VariantResult& r);

struct KernelCheck {
  std::string_view kernel;                     // shader variant prefix, e.g. "matmul"
  std::span<const std::string_view> variants;  // suffixes: shader "kernel_variant" ("" = "kernel")
  std::string_view error;                      // how max_error is measured, for reports
  RunCheck run;
};

// Every kernel check, in pipeline order.
std::span<const KernelCheck> kernel_checks();

// The shader variant name of a check's variant: "matmul_q4_k", or "rmsnorm".
std::string shader_name(std::string_view kernel, std::string_view variant);

// Runs one variant: catches the check's errors (reported as a failure with the
// message in note) and times it. Never throws for a kernel's misbehaviour.
VariantResult run_variant(vk::Context& ctx, const KernelCheck& k, std::string_view variant,
                          const CheckOptions& o);

}  // namespace sinkstream::check
