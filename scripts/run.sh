#!/usr/bin/env bash
# The main job: build, then stream text from the project's own model
# (models/sinkstream-books-14m.gguf, trained on public-domain books) on the
# best Vulkan device, in the constant memory of a sinks + window cache.
# Extra arguments go to `sinkstream generate` (e.g. --tokens 100000 --ignore-eos).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >&2  # the build's output (ninja's "no work to do") stays off stdout, which is the text
MODEL=models/sinkstream-books-14m.gguf
if [ ! -f "$MODEL" ]; then
  echo "missing $MODEL (it is committed with the repository; is this a partial checkout?)" >&2
  exit 1
fi
exec build/apps/sinkstream/sinkstream generate --model "$MODEL" \
  --prompt "It was a dark and stormy night; the rain fell in torrents" --tokens 300 "$@"
