#!/usr/bin/env bash
# The training tools' own tests (tools/train/test_*.py: the streaming policies
# against token-by-token decoding, the GGUF round trip, Muon and the optimizer
# split and hand-over, exact resumes) on the CPU with the distribution's PyTorch.
# Seconds of work once the packages are in.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh python3-torch python3-numpy python3-sentencepiece
cd tools/train
for t in test_*.py; do
  echo "== $t"
  /usr/bin/python3 "$t"
done
