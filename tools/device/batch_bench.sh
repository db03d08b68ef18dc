#!/usr/bin/env bash
# One device call (see docs/performance.md): the scheduler's `bench batch` on
# Llama-3.2-1B-shaped random-weight models, with the single-stream
# `bench generate` at the same depth as the baseline, and an op profile.
# Run from the repository root after `source .vkdevice/env.sh`; results go to
# $OUT (or /tmp/batch-out). TYPES, STREAMS, PROFILE, SAMPLE, AHEAD, INGEST and MVROWS override the defaults.
set -uo pipefail
OUT="${OUT:-/tmp/batch-out}"
mkdir -p "$OUT"
BUILD="${BUILD:-build}"
B="$BUILD/apps/sinkstream/sinkstream"
TYPES="${TYPES:-q4_0 q8_0 f16}"
STREAMS="${STREAMS:-1,2,4,8,16,32,64}"
for T in $TYPES; do
  [ -f "/tmp/l1b-$T.gguf" ] || "$BUILD/tools/sinkstream-synth" --preset llama-3.2-1b --type "$T" --out "/tmp/l1b-$T.gguf" >/dev/null
done
for T in $TYPES; do
  echo "== $T"
  $B bench generate --model "/tmp/l1b-$T.gguf" --sinks 4 --window 4092 --prompt-tokens 512 \
    --decode-tokens 64 --positions 4200 --json > "$OUT/generate-$T.json"
  $B bench batch --model "/tmp/l1b-$T.gguf" --sinks 4 --window 4092 --streams "$STREAMS" \
    --steps 24 --ingest-tokens 4096 --json > "$OUT/batch-$T.json"
  python3 - "$OUT/generate-$T.json" "$OUT/batch-$T.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
print(f"single stream (bench generate @4200): {g['decode_tokens_per_s']:.0f} tok/s, batched greedy {g['decode_batched_tokens_per_s']:.0f}")
for r in b["rows"]:
    print(f"{r['streams']:3d} streams{' +ingest' if r['ingesting'] else '        '}: {r['aggregate_tokens_per_s']:8.1f} tok/s  x{r['vs_first']:.2f}  median {r['median_step_ms']:.2f} ms  p99 {r['p99_step_ms']:.2f} ms")
PY
done
for T in ${PROFILE:-}; do
  $B bench batch --model "/tmp/l1b-$T.gguf" --sinks 4 --window 4092 --streams 1,8,32 --steps 16 \
    --ingest-tokens 0 --profile 2> "$OUT/profile-$T.txt" >/dev/null
  grep profile "$OUT/profile-$T.txt" | cut -c1-600
done
# `bench batch` on /tmp/l1b-TYPE.gguf once per value of an environment
# variable, in the same call: TYPE VAR "VALUES" STREAMS INGEST_TOKENS NAME [FLAG].
ab() {
  local v
  for v in $3; do
    echo "== $1 $2=$v"
    env "$2=$v" $B bench batch --model "/tmp/l1b-$1.gguf" --sinks 4 --window 4092 --streams "$4" \
      --steps 32 --ingest-tokens "$5" ${7:-} --json > "$OUT/$6-$1-$v.json"
    python3 -c "import json,sys; [print(f\"{r['streams']:3d}{' +ingest' if r['ingesting'] else '        '}: {r['aggregate_tokens_per_s']:8.1f} tok/s median {r['median_step_ms']:.2f} p99 {r['p99_step_ms']:.2f} ms, ingested {r['prompt_tokens_ingested']}\") for r in json.load(open(sys.argv[1]))['rows']]" "$OUT/$6-$1-$v.json"
  done
}
# Sampled streams (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05): the GPU
# sampler against host sampling.
for T in ${SAMPLE:-}; do ab "$T" SINKSTREAM_GPU_SAMPLING "1 0" 1,8,32 0 sample --sample; done
# Steps recorded while the previous one runs (the default) against steps
# recorded when they run, greedy.
for T in ${AHEAD:-}; do ab "$T" SINKSTREAM_RECORD_AHEAD "1 0" 1,8,32 0 ahead; done
# A prompt ingested beside decoding streams with its chunks cut to the latency
# aim (2, serve's default) against whole chunks (0).
for T in ${INGEST:-}; do ab "$T" SINKSTREAM_INGEST_LATENCY "2 0" 1,4,16 4096 ingest; done
# Steps of few rows on the matvec kernels (SINKSTREAM_MATVEC_ROWS=8) against
# the prompt-chunk kernels (1): 1-8 streams, alone and + ingest.
[ -n "${MVROWS:-}" ] && ab q4_0 SINKSTREAM_MATVEC_ROWS "$MVROWS" 1,2,4,8 4096 mvrows
true
