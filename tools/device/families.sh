#!/usr/bin/env bash
# One device call for issues 28 and 29: the families against transformers
# (tools/hf/compare_transformers.py; its reference files land in
# $OUT/commit for tests/data/families), then `bench generate` on real-size
# random-weight shapes: Llama-3.2-1B in Q4_0 (today's baseline, same call),
# Q4_K_M and Q6_K, Qwen3-1.7B and Gemma-3-1B in Q8_0, gpt-oss-20b (MXFP4 experts). Run from the repository root after
# `source .vkdevice/env.sh`; BUILD names the build folder.
set -uo pipefail
NAME=families  # PARTS: compare generate kquant families experts grouped idot attention lanes
source "$(dirname "$0")/common.sh"
S="$BUILD/tools/sinkstream-synth"

if want compare; then
echo "== families against transformers"
timeout 150 python3 tools/hf/compare_transformers.py --convert "$BUILD/tools/sinkstream-convert" --cli "$B" \
  --out /tmp/families --commit "$OUT/commit" > "$OUT/families.json" 2> "$OUT/families.err"
echo "exit $?"
cat "$OUT/families.json"
tail -3 "$OUT/families.err"
fi

echo "== bench generate (prompt 512, 64 decoded at a full 4 + 4092 ring)"
gen() {  # name kv
  timeout 120 $B bench generate --model "/tmp/$1.gguf" --sinks 4 --window 4092 --prompt-tokens 512 \
    --decode-tokens 64 --positions 4200 --kv-type "$2" --json > "$OUT/generate-$1-$2.json"
  python3 -c "import json,sys; g=json.load(open(sys.argv[1])); print(sys.argv[2], {k: v for k, v in g.items() if 'per_s' in k or 'bandwidth' in k or 'bytes' in k})" \
    "$OUT/generate-$1-$2.json" "$1 $2 KV"
}
bench() {  # name preset type [kv types]
  [ -f "/tmp/$1.gguf" ] || timeout 150 "$S" --preset "$2" --type "$3" --out "/tmp/$1.gguf" > /dev/null ||
    { echo "$1: synth failed"; return; }
  for kv in ${4:-f16}; do gen "$1" "$kv"; done
  [ -n "${KEEP:-}" ] || rm -f "/tmp/$1.gguf"  # KEEP=1: left for session.sh
}
if want generate; then
for t in f16 q8_0 q4_0; do bench "l1b-$t" llama-3.2-1b "$t" "f16 q8_0"; done
fi
if want kquant; then
for t in q4_k_m q6_k q5_k q4_k q3_k iq4_xs; do bench "l1b-$t" llama-3.2-1b "$t"; done
fi
if want families; then
bench qwen3-1.7b-q8_0 qwen3-1.7b q8_0
bench gemma3-1b-q8_0 gemma3-1b q8_0  # 22 of its 26 layers on 512-slot rings
# gpt-oss-20b's shapes, its experts in MXFP4 as released and the rest in Q8_0:
# 4 of 32 experts per token: a decode step reads the chosen experts' rows only.
bench gpt-oss-20b-mxfp4 gpt-oss-20b q8_0
fi
if want experts; then
# What a token reads with experts: the same gpt-oss-mini model with 1, 2, 4 and 8
# of its 32 experts used per token (decode should scale with the experts used).
for used in 1 2 4 8; do
  timeout 60 "$S" --preset gpt-oss-mini --type f16 --experts-used "$used" --out "/tmp/gpt-oss-mini-$used.gguf" > /dev/null &&
    gen "gpt-oss-mini-$used" f16
  rm -f "/tmp/gpt-oss-mini-$used.gguf"
done
fi
if want grouped; then
echo "== gpt-oss-20b's shapes: a chunk's experts grouped into tiles of one expert's pairs, or each pair alone (same call)"
[ -f /tmp/gpt-oss-20b-mxfp4.gguf ] || timeout 200 "$S" --preset gpt-oss-20b --type q8_0 --out /tmp/gpt-oss-20b-mxfp4.gguf > /dev/null
run=0
for g in 1 0 1 0; do
  run=$((run + 1))
  f="$OUT/grouped-$run-$g.json"
  SINKSTREAM_MOE_GROUPED=$g timeout 120 $B bench generate --model /tmp/gpt-oss-20b-mxfp4.gguf --prompt-tokens 512 \
    --decode-tokens 16 --positions 600 --window 4092 --json > "$f" &&
    python3 -c "import json,sys; g=json.load(open(sys.argv[1])); print(sys.argv[2], round(g['prefill_tokens_per_s']), 'prefill tok/s,', round(g['decode_tokens_per_s']), 'decode')" "$f" "SINKSTREAM_MOE_GROUPED=$g:"
done
fi
if want idot; then
echo "== integer dot products in the Q8_0 / Q4_0 decode products (issue 28), same call"
for t in q8_0 q4_0; do
  timeout 150 "$S" --preset llama-3.2-1b --type "$t" --out "/tmp/l1b-$t.gguf" > /dev/null || continue
  for dot in 0 1; do
    SINKSTREAM_INTEGER_DOT=$dot gen "l1b-$t" f16
    mv "$OUT/generate-l1b-$t-f16.json" "$OUT/generate-l1b-$t-f16-idot$dot.json"
  done
  rm -f "/tmp/l1b-$t.gguf"
done

fi
if want attention; then
echo "== bench attention, f16 and q8_0 KV (issue 28)"
timeout 90 $B bench attention --cache 4096,16384,65536 --kv-type f16,q8_0 | tee "$OUT/attention-kv.txt"
fi
if want lanes; then
# Lanes per key (SINKSTREAM_DECODE_LANES; 16 is the default for f16 rows of 128)
# against keys in flight per lane group (SINKSTREAM_DECODE_UNROLL; 8 the default):
# fewer lanes per key mean fewer shuffle steps and softmax updates per byte read.
echo "== bench attention: lanes per key x keys in flight, f16 KV (same call)"
for lanes in 16 8 4; do
  for unroll in 8 4 2; do
    echo "lanes $lanes unroll $unroll: $(SINKSTREAM_DECODE_LANES=$lanes SINKSTREAM_DECODE_UNROLL=$unroll timeout 60 \
      $B bench attention --cache 4096,16384,65536 --kv-type f16 --iters 10 --json | python3 -c \
      "import json,sys; print(' '.join(f\"{r['cache']}: {r['attention_us']:.1f} us {r['ratio_to_copy']:.3f}\" for r in json.load(sys.stdin)['results']))")" |
      tee -a "$OUT/lanes.txt"
  done
done
fi

