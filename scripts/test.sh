#!/usr/bin/env bash
# Builds and runs the whole test suite with validation layers (synchronization
# validation included) on whatever Vulkan device is present (lavapipe in CI),
# then again with lavapipe's vector width doubled, which changes its subgroup
# size, to catch subgroup-size assumptions.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd "${BUILD_DIR:-build}"
export SINKSTREAM_VALIDATION=1
echo "== ctest (default device settings)"
ctest --output-on-failure -j2
echo "== ctest (LP_NATIVE_VECTOR_WIDTH=128)"
LP_NATIVE_VECTOR_WIDTH=128 ctest --output-on-failure -j2
