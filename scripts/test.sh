#!/usr/bin/env bash
# Builds and runs the whole test suite with validation layers (synchronization
# validation included) and the NaN/Inf guard on, on whatever Vulkan device is
# present (lavapipe in CI), then again with lavapipe's vector width doubled,
# which changes its subgroup size, to catch subgroup-size assumptions (suites
# of host logic, label host, run in the first pass only). The
# 10^5-token soak and the end-to-end selftest run in the first pass only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd "${BUILD_DIR:-build}"
export SINKSTREAM_VALIDATION=1 SINKSTREAM_CHECK_FINITE=1
echo "== ctest (default device settings, soak included)"
ctest --output-on-failure -j2
echo "== ctest (LP_NATIVE_VECTOR_WIDTH=128)"
LP_NATIVE_VECTOR_WIDTH=128 ctest --output-on-failure -j2 -LE "soak|host|once"
