#!/usr/bin/env bash
# One training run on the GPU machine: train, evaluate the streaming policies,
# and leave what must come back in $OUT (each file under the tool's 16 MiB).
#
#   tools/train/device_run.sh NAME STEPS TIME_BUDGET_S [train.py options...]
#
# Expects the carried folder .traindata/ (prepare_data.py output with
# train.bin compressed as train.bin.xz), or the folder named by DATA (e.g. a
# subset_data.py output). Writes to .trainout/NAME/ and copies the float16
# weights (split in 15 MiB parts) to $OUT/NAME/ as soon as training ends, so
# they come back even if the evaluation outruns the call; then eval.json (at
# the training context, all policies), eval256.json (cache 256, sinks and
# window) and the log (device_eval.sh).
set -euo pipefail
name=$1 steps=$2 budget=$3
shift 3
data=${DATA:-.traindata}
run=.trainout/$name
mkdir -p "$run" "$OUT/$name"
[ -f $data/train.bin ] || xz -dkT0 $data/train.bin.xz
export PYTHONUNBUFFERED=1
(cd tools/train
 python3 train.py --data ../../$data --out ../../$run --steps "$steps" --time-budget "$budget" --compile "$@" \
     2>&1 | tee -a ../../$run/log.txt)
tools/train/device_eval.sh "$run" "$data" "$OUT/$name"
