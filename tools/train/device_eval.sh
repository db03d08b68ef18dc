#!/usr/bin/env bash
# After a training run on the GPU machine: what must come back, into DEST
# (each file under the device tool's 16 MiB), in the order that saves the
# most if the call runs out of time: the float16 weights (15 MiB parts) and
# the log first, then eval.json (the training context, all policies), then
# eval256.json (cache 256, sinks and window), the log again after each.
#
#   tools/train/device_eval.sh RUN_DIR DATA_DIR DEST     (from the repo root)
#
# Used by device_run.sh and device_long.sh.
set -euo pipefail
run=$(realpath "$1") data=$(realpath "$2") dest=$3
export PYTHONUNBUFFERED=1
mkdir -p "$dest"
split -b 15M -d "$run/model.pt" "$dest/model.pt.part"
cp "$run/log.txt" "$dest/"
cd tools/train
python3 eval_stream.py --model "$run/model.pt" --data "$data" --out "$run/eval.json" \
    2>&1 | tee -a "$run/log.txt"
cp "$run"/{eval.json,log.txt} "$dest/"
python3 eval_stream.py --model "$run/model.pt" --data "$data" --out "$run/eval256.json" \
    --cache 256 --policies sinks window 2>&1 | tee -a "$run/log.txt"
cp "$run"/{eval256.json,log.txt} "$dest/"
