#!/usr/bin/env bash
# One training run on the GPU machine: train, evaluate the streaming policies,
# and leave what must come back in $OUT (each file under the tool's 16 MiB).
#
#   tools/train/device_run.sh NAME STEPS TIME_BUDGET_S [train.py options...]
#
# Expects the carried folder .traindata/ (prepare_data.py output with
# train.bin compressed as train.bin.xz). Writes to .trainout/NAME/ and copies
# the float16 weights (split in 15 MiB parts when larger), eval.json and the log
# to $OUT/NAME/.
set -euo pipefail
name=$1 steps=$2 budget=$3
shift 3
data=.traindata
run=.trainout/$name
mkdir -p "$run" "$OUT/$name"
[ -f $data/train.bin ] || xz -dkT0 $data/train.bin.xz
export PYTHONUNBUFFERED=1
cd tools/train
python3 train.py --data ../../$data --out ../../$run --steps "$steps" --time-budget "$budget" --compile "$@" \
    2>&1 | tee -a ../../$run/log.txt
python3 eval_stream.py --model ../../$run/model.pt --data ../../$data --out ../../$run/eval.json \
    2>&1 | tee -a ../../$run/log.txt
cd ../..
cp "$run"/{eval.json,log.txt} "$OUT/$name/"
split -b 15M -d "$run/model.pt" "$OUT/$name/model.pt.part"
