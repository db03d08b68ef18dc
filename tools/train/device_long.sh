#!/usr/bin/env bash
# One training run longer than one device call (10 minutes), on a machine
# kept warm between calls. The device tool keeps a machine for 30 s after a
# call, and a process that started its own session (setsid) runs on there;
# but each call re-syncs the checkout and removes ignored folders it did not
# carry (round 11 lost .trainout/ that way; the process lived). So the run's
# data, log and outputs live outside the checkout, under RUN_ROOT
# (/tmp/sinkstream-train). The first call starts train.py detached and waits;
# the next call, made within those 30 s, waits for it to end, then evaluates
# and returns what device_run.sh returns. One process, one compile, one
# schedule: no checkpoint has to travel (ckpt.pt, ~220 MB, could not).
#
#   tools/train/device_long.sh start NAME TIME_BUDGET_S WAIT_S [train.py options...]
#   tools/train/device_long.sh wait NAME WAIT_S     (a middle call, for runs of 3+ calls)
#   tools/train/device_long.sh finish NAME
#
# start: train.py --fit-steps --time-budget TIME_BUDGET_S in the background,
# then sleep WAIT_S (keep it under the call's limit) and report progress.
# wait: sleep WAIT_S more (less if the run ends) and report progress.
# finish: wait for that process, then as device_run.sh (device_eval.sh): the
# float16 weights (15 MiB parts), eval.json, eval256.json and the log under
# $OUT/NAME/.
# Data as in device_run.sh (DATA, default .traindata/), copied under RUN_ROOT
# by start. If the machine went back between the calls, finish says so and
# fails: the run is lost. Checked on the H200 with a 2-layer model (start
# with a 70 s budget and a 40 s wait, then finish: weights and both
# evaluations back) and with round 12's h24mz (start, then finish). `wait`
# met a machine that had gone back there and said so; its waiting was
# checked only here, with a stand-in python3.
set -euo pipefail
verb=$1 name=$2
shift 2
data=${DATA:-.traindata}
run=${RUN_ROOT:-/tmp/sinkstream-train}/$name
here=$(pwd)
export PYTHONUNBUFFERED=1

start() {
  local budget=$1 wait_s=$2
  shift 2
  mkdir -p "$run/data"
  [ -f $data/train.bin ] || xz -dkT0 $data/train.bin.xz
  for f in $data/eval/*.xz; do if [ -e "$f" ]; then xz -d -f "$f"; fi; done
  cp -r $data/train.bin $data/meta.json $data/eval "$run/data/"
  (cd tools/train
   setsid nohup python3 "$here/tools/train/train.py" --data "$run/data" --out "$run" --steps 100000 \
       --time-budget "$budget" --compile --fit-steps "$@" >"$run/log.txt" 2>&1 </dev/null &
   echo $! >"$run/pid")
  sleep "$wait_s"
  report
}

report() {  # progress, and the log so far
  mkdir -p "$OUT/$name"  # ($OUT is emptied before each call)
  tail -n 5 "$run/log.txt"
  cp "$run/log.txt" "$OUT/$name/"
}

running_pid() {
  if [ ! -f "$run/pid" ]; then
    echo "device_long.sh: no run $name here: the machine went back between the calls" >&2
    exit 1
  fi
  cat "$run/pid"
}

wait_more() {
  local pid left=$1
  pid=$(running_pid)
  while [ "$left" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do sleep 1; left=$((left - 1)); done
  report
}

finish() {
  local pid
  pid=$(running_pid)
  while kill -0 "$pid" 2>/dev/null; do sleep 2; done
  grep -q "^saved step" "$run/log.txt" || { tail -n 20 "$run/log.txt"; exit 1; }
  tools/train/device_eval.sh "$run" "$run/data" "$OUT/$name"
}

case $verb in
  start) start "$@" ;;
  wait) wait_more "$@" ;;
  finish) finish ;;
  *) echo "usage: $0 start NAME TIME_BUDGET_S WAIT_S [train.py options...] | wait NAME WAIT_S | finish NAME" >&2
     exit 2 ;;
esac
