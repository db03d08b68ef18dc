#!/usr/bin/env bash
# Regenerates the charts in docs/img/ and prints the numbers of docs/evidence.md.
# Meant for a real GPU (minutes); on lavapipe it takes hours. Usage, from the
# repository root after scripts/build.sh:
#   tools/evidence.sh [SHARED_DIR]     (default ../shared)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${1:-../shared}"
BOOKS="$SHARED/data/pg/eval"
B=build/apps/sinkstream/sinkstream
IMG=docs/img
mkdir -p "$IMG"
common=(--sinks 4 --window 508)

# Issue 7's acceptance: all 8 held-out books, BOS + 24,575 tokens, tail perplexity.
for f in "$BOOKS"/*.txt; do
  "$B" ppl --model models/sinkstream-books-14m.gguf --text "$f" --tokens 24576 \
    --compare sinks,window,dense "${common[@]}" --segment 512 --json > /tmp/sinkstream-acc.json
  python3 tools/tail_ppl.py /tmp/sinkstream-acc.json "$(basename "$f" .txt)"
done
"$B" ppl --model models/sinkstream-books-14m.gguf --text "$BOOKS/pg77-the-house-of-the-seven-gables.txt" \
  --tokens 4000 --compare sinks,window,recompute,dense "${common[@]}" --segment 500 \
  --plot "$IMG/ppl-books14m-house-of-seven-gables.svg"
"$B" ppl --model models/sinkstream-books-14m.gguf --text "$BOOKS/pg1268-the-mysterious-island.txt" \
  --tokens 20000 --compare sinks,window,dense "${common[@]}" --segment 500 \
  --plot "$IMG/ppl-books14m-mysterious-island.svg"
for b in pg284-house-of-mirth pg77-the-house-of-the-seven-gables; do
  "$B" ppl --model models/sinkstream-books-14m.gguf --text "$BOOKS/$b.txt" --tokens 20000 \
    --compare sinks,window,dense "${common[@]}" --segment 1000
done
"$B" ppl --model models/sinkstream-books-5m-learned-sinks.gguf --text "$BOOKS/pg284-house-of-mirth.txt" \
  --tokens 20000 --compare sinks,window,dense "${common[@]}" --segment 1000 \
  --plot "$IMG/ppl-books5m-learned-sinks.svg"
"$B" ppl --model "$SHARED/fixtures/stories260K.bin" --tokenizer "$SHARED/fixtures/tok512.bin" \
  --text "$BOOKS/pg77-the-house-of-the-seven-gables.txt" --tokens 8000 --compare sinks,window,dense \
  "${common[@]}" --segment 500 --plot "$IMG/ppl-stories260k.svg"
"$B" bench stream --model models/sinkstream-books-14m.gguf --stream-tokens 100000 \
  --plot "$IMG/stream-books14m.svg"
"$B" bench stream --model "$SHARED/fixtures/stories260K.gguf" --stream-tokens 1000000 \
  --plot "$IMG/stream-stories260k.svg"
"$B" sinks --model models/sinkstream-books-14m.gguf --text "$BOOKS/pg284-house-of-mirth.txt" \
  --heatmap "$IMG/sinks-books14m.svg"
"$B" sinks --model "$SHARED/fixtures/stories260K.bin" --tokenizer "$SHARED/fixtures/tok512.bin" \
  --text "$BOOKS/pg284-house-of-mirth.txt" --heatmap "$IMG/sinks-stories260k.svg"
