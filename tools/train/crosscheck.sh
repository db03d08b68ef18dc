#!/usr/bin/env bash
# Cross-framework check: sinkstream's logits against the training code's own
# PyTorch forward pass (float32, CPU) for the same tokens, within the training
# context, for both committed book models, with f32 and f16 KV caches and with
# the prefill (chunk 64) and decode (chunk 1) paths.
#
#   tools/train/crosscheck.sh [SINKSTREAM_BINARY] [PYTHON]   (writes to ${OUT:-/tmp/crosscheck})
#
# Tolerances: f32 KV 1e-4 absolute on every logit (the float32 rounding of two
# different summation orders); f16 KV 3e-2 (keys and values rounded to half).
set -euo pipefail
bin=${1:-build/apps/sinkstream/sinkstream}
py=${2:-python3}
out=${OUT:-/tmp/crosscheck}
mkdir -p "$out"
book=$(ls ../shared/data/pg/eval/pg77*.txt 2>/dev/null || ls .fixtures/books/pg77*.txt)
text=$(head -c 3000 "$book" | tail -c 1400)
tok=models/sinkstream-books-tokenizer.model
status=0
for m in sinkstream-books-14m sinkstream-books-5m-learned-sinks; do
  (cd tools/train && "$py" reference_logits.py --model "../../models/$m.gguf" --tokenizer "../../$tok" \
      --text "$text" --out "$out/$m.ref") >/dev/null
  "$py" -c "import json,sys; print(' '.join(map(str, json.load(open(sys.argv[1]))['tokens'])))" \
      "$out/$m.ref.json" >"$out/$m.ids"
  for kv in f32 f16; do
    tol=$([ $kv = f32 ] && echo 1e-4 || echo 3e-2)
    for chunk in 64 1; do
      "$bin" logits --model "models/$m.gguf" --token-ids "$out/$m.ids" --kv-type $kv --chunk $chunk \
          --out "$out/$m.$kv.$chunk.f32" >/dev/null
      printf '%s kv=%s chunk=%s: ' "$m" $kv $chunk
      "$py" tools/train/compare_logits.py --ref "$out/$m.ref" --got "$out/$m.$kv.$chunk.f32" --tol "$tol" || status=1
    done
  done
done
exit $status
