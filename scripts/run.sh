#!/usr/bin/env bash
# The main job: build, then stream synthetic tokens through the GPU KV cache with
# attention sinks (any extra arguments go to `sinkstream demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec build/apps/sinkstream/sinkstream demo "$@"
