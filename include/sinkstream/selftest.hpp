// `sinkstream selftest`: every GPU kernel variant this device runs, checked
// against a CPU reference, then a short end-to-end greedy run of the default
// model against its committed token ids. For users to check their own GPU and
// report the result (the JSON form of SelftestReport).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sinkstream/export.hpp"

namespace sinkstream {

struct SelftestOptions {
  std::string device;       // "" = best; index or name substring
  bool quick = false;       // fewer, smaller cases: a few seconds
  bool validation = false;  // Khronos validation: any message fails the variant that caused it
  // The end-to-end model: the default model (models/sinkstream-books-14m.gguf)
  // has committed golden ids; "" skips the check.
  std::string model_path;
  // Only these kernels (a family such as "matmul", or one variant such as
  // "matmul_q4_k"); empty: all.
  std::vector<std::string> only;
  // Checks run at once, on as many threads (0: the CPU's cores, at most 8). With
  // validation on, one at a time, so that a message names the check it came from.
  // Each check's `ms` is its own wall time, longer when others run beside it.
  uint32_t jobs = 0;
};

struct KernelReport {
  std::string kernel, variant;  // shader family and variant ("" when it has none)
  bool applicable = true;       // false: this device does not run it (note says why)
  std::string note;             // why not applicable, or the error that stopped the check
  uint32_t cases = 0;
  double max_error = 0, tolerance = 0;
  std::string error_measure;  // how max_error is measured
  bool pass = false;
  double ms = 0;
};

struct EndToEndReport {
  bool ran = false;
  std::string model, note;
  // A prompt of BOS and the first golden ids in one chunk, then greedy steps: the
  // ids picked on the GPU, how many equal the golden ids, the first that differs
  // (its index in the golden ids; -1: none).
  uint32_t tokens = 0, matched = 0;
  int32_t first_mismatch = -1;
  bool pass = false;
  double ms = 0;
};

struct SelftestDevice {
  std::string name, type, driver, vulkan;
  uint32_t subgroup_size = 0;
  bool subgroup_arithmetic = false, subgroup_shuffle = false, fp16 = false, storage_16bit = false;
  bool coopmat_nv = false, coopmat_khr = false, coopmat_prefill = false, buffer_address = false,
       uma = false;
  uint32_t max_shared_bytes = 0;
  uint64_t memory_bytes = 0;
};

struct SINKSTREAM_API SelftestReport {
  SelftestDevice device;
  std::vector<KernelReport> kernels;
  uint32_t jobs = 1;        // kernel checks that ran at once
  double kernels_ms = 0;    // wall time of all the kernel checks
  EndToEndReport end_to_end;
  bool pass() const;  // every applicable kernel and the end-to-end check (when it ran)
};

// Runs every check; on_kernel (when set) sees each kernel's report as it finishes.
// Throws only when the device cannot be opened.
SINKSTREAM_API SelftestReport run_selftest(const SelftestOptions& options,
                                           const std::function<void(const KernelReport&)>& on_kernel = {});

// The default model's path, relative to the repository root.
SINKSTREAM_API const char* default_selftest_model();

}  // namespace sinkstream
