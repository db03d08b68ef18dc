#!/usr/bin/env bash
# Several training runs at once on the one GPU of the device machine, each
# trained, evaluated and packed for the trip back in $OUT.
#
#   tools/train/device_multi.sh RECIPES TIME_BUDGET_S N_WEIGHTS [eval_stream.py options...]
#
# RECIPES is a file with one run a line, "NAME MAX_STEPS train.py options...";
# '#' starts a comment. Every run trains with --compile --fit-steps and the
# same --time-budget, so all of them end together, then is evaluated twice:
# at its training context with the given eval_stream.py options (eval.json),
# and at cache 256 with sinks and window only (eval256.json).
#
# DATA (default .traindata) names the carried prepare_data.py or subset_data.py
# folder, with train.bin compressed as train.bin.xz.
#
# Back in $OUT: NAME.tgz per run (eval.json, eval256.json, log.txt,
# train_log.jsonl), and the float16 weights of the N_WEIGHTS runs with the
# highest window / sinks tail perplexity as NAME.pt.partNN (15 MiB parts; join
# with cat). The tool returns at most 8 files: keep runs + parts within that.
set -uo pipefail
recipes=$1 budget=$2 keep=$3
shift 3
data=${DATA:-.traindata}
[ -f $data/train.bin ] || xz -dkT0 $data/train.bin.xz || exit 1
export PYTHONUNBUFFERED=1
names=()
while read -r name steps opts; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    names+=("$name")
    run=.trainout/$name
    mkdir -p "$run"
    (
        cd tools/train
        # shellcheck disable=SC2086
        python3 train.py --data ../../$data --out ../../$run --steps "$steps" --time-budget "$budget" \
            --compile --fit-steps $opts > ../../$run/log.txt 2>&1
        python3 eval_stream.py --model ../../$run/model.pt --data ../../$data --out ../../$run/eval.json "$@" \
            >> ../../$run/log.txt 2>&1
        python3 eval_stream.py --model ../../$run/model.pt --data ../../$data --out ../../$run/eval256.json \
            --cache 256 --policies sinks window >> ../../$run/log.txt 2>&1
    ) < /dev/null &
done < "$recipes"
wait
for name in "${names[@]}"; do
    echo "== $name"
    grep -E '^(config|\{"step": [0-9]+, "fit|saved|time budget|sink metric|tail ppl|Traceback)|Error' .trainout/$name/log.txt
    tar -czf "$OUT/$name.tgz" -C .trainout/$name $(cd .trainout/$name && ls eval.json eval256.json log.txt train_log.jsonl 2>/dev/null)
done
python3 - "$keep" "${names[@]}" <<'EOF'
import json, os, subprocess, sys
from pathlib import Path
keep, names = int(sys.argv[1]), sys.argv[2:]
rows = []
for n in names:
    try:
        r = json.loads(Path(f".trainout/{n}/eval.json").read_text())
        r256 = json.loads(Path(f".trainout/{n}/eval256.json").read_text())
    except (OSError, ValueError):
        print(f"{n}: no eval")
        continue
    t, t2 = r["tail_ppl"], r256["tail_ppl"]
    below18 = sum(b["sinks"] < 18 for b in r["per_book_tail_ppl"].values())
    rows.append((t["window"] / t["sinks"], n))
    print(f"{n}: cache {r['cache']} sinks {t['sinks']:.2f} window {t['window']:.2f} ratio {t['window'] / t['sinks']:.3f} "
          f"books<18 {below18} | cache 256 sinks {t2['sinks']:.2f} window {t2['window']:.2f} "
          f"ratio {t2['window'] / t2['sinks']:.3f} | heads>0.3 {r['sink_metric']['frac_heads_above_0.3_past_layer0']:.2f} "
          f"layers {[round(a, 2) for a in r['sink_metric']['layer_mean']]}")
for _, n in sorted(rows, reverse=True)[:keep]:
    subprocess.run(["split", "-b", "15M", "-d", f".trainout/{n}/model.pt", f"{os.environ['OUT']}/{n}.pt.part"],
                   check=True)
    print(f"weights of {n} in $OUT")
EOF
ls -la "$OUT"
