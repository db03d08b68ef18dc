#!/usr/bin/env bash
# The library, the CLI and the whole test suite built with AddressSanitizer +
# UndefinedBehaviorSanitizer (leak checking on), run on the local Vulkan device
# with validation and the NaN/Inf guard. Only third-party leaks are suppressed:
# see scripts/lsan.supp. The soak, the weight-type numerics (label numeric) and the
# end-to-end selftest run (label once) are left out: the plain passes run them, and
# their host code (block decoders, encoders, the upload, the kernel checks) runs here
# in the quant_types, model, scheduler and kernels suites.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=build-asan bash scripts/build.sh -DSINKSTREAM_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cd build-asan
export SINKSTREAM_VALIDATION=1 SINKSTREAM_CHECK_FINITE=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export LSAN_OPTIONS="suppressions=$(cd .. && pwd)/scripts/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== ctest (ASan + UBSan)"
ctest --output-on-failure -j2 -LE "soak|numeric|once"
# The NaN guard (on above) keeps the scheduler from recording steps ahead: that path once more without it.
echo "== scheduler steps recorded ahead (ASan + UBSan, NaN guard off)"
SINKSTREAM_CHECK_FINITE=0 ./tests/sinkstream_tests -ts=scheduler -tc="steps recorded*"
