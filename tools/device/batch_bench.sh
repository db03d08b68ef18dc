#!/usr/bin/env bash
# One device call (see docs/performance.md): the scheduler's `bench batch` on
# Llama-3.2-1B-shaped random-weight models, F16, Q8_0 and Q4_0, with the
# single-stream `bench generate` at the same depth as the baseline, and the
# scheduler's tests on the GPU. Run from the repository root after
# `source .vkdevice/env.sh`; results go to $OUT (or /tmp/batch-out).
# TYPES and STREAMS override the defaults.
set -uo pipefail
OUT="${OUT:-/tmp/batch-out}"
mkdir -p "$OUT"
B=build/apps/sinkstream/sinkstream
TYPES="${TYPES:-q4_0 q8_0 f16}"
STREAMS="${STREAMS:-1,2,4,8,16,32,64}"
for T in $TYPES; do
  build/tools/sinkstream-synth --preset llama-3.2-1b --type "$T" --out "/tmp/l1b-$T.gguf" >/dev/null
done
for T in $TYPES; do
  echo "== $T"
  $B bench generate --model "/tmp/l1b-$T.gguf" --sinks 4 --window 4092 --prompt-tokens 512 \
    --decode-tokens 64 --positions 4200 --json | tee "$OUT/generate-$T.json"
  $B bench batch --model "/tmp/l1b-$T.gguf" --sinks 4 --window 4092 --streams "$STREAMS" \
    --steps 32 --ingest-tokens 4096 | tee "$OUT/batch-$T.txt"
done
(cd build && SINKSTREAM_TEST_VALIDATION=0 SINKSTREAM_CHECK_FINITE=1 ./tests/sinkstream_tests -ts=scheduler) \
  2>&1 | tail -4 | tee "$OUT/tests.txt"
