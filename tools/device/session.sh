#!/usr/bin/env bash
# One device call for the open issues (see docs/performance.md): `selftest
# --json` (issue 32), the scheduler's `bench batch` (issue 25, via
# batch_bench.sh) and `sinkstream serve` through HTTP for 1, 8 and 32 clients
# (issue 27); an empty SAMPLE, MVROWS, AHEAD or INGEST skips that comparison. Run from the repository root after `source .vkdevice/env.sh`;
# results go to $OUT. Each part has its own time limit so one cannot eat the call.
set -uo pipefail
NAME=session  # PARTS: selftest batch serve
source "$(dirname "$0")/common.sh"

if want selftest; then
echo "== selftest"
timeout "${SELFTEST_S:-150}" $B selftest --json --model models/sinkstream-books-14m.gguf > "$OUT/selftest.json"; echo "selftest exit $?"
python3 - "$OUT/selftest.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ks = r["kernels"]
print(f"{sum(k['pass'] for k in ks)} pass, {sum(not k['pass'] for k in ks)} fail of {len(ks)} entries; overall pass: {r.get('pass')}")
for k in ks:
    if not k["pass"]: print("FAIL", k)
PY
fi

if want batch; then
echo "== bench batch"
TYPES="${TYPES:-q4_0 q8_0}" PROFILE="${PROFILE:-}" SAMPLE="${SAMPLE-q4_0}" MVROWS="${MVROWS-8 1}" AHEAD="${AHEAD-q4_0}" INGEST="${INGEST-q4_0}" OUT="$OUT" \
  timeout 330 bash tools/device/batch_bench.sh

fi

if want serve; then
echo "== serve, 1 / 8 / 32 clients"
[ -f /tmp/l1b-q4_0.gguf ] || "$BUILD/tools/sinkstream-synth" --preset llama-3.2-1b --type q4_0 --out /tmp/l1b-q4_0.gguf >/dev/null
$B serve --model /tmp/l1b-q4_0.gguf --port 18080 --streams 33 --window 4092 > "$OUT/serve.log" 2>&1 &
pid=$!
get() { python3 -c "import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())" "$1"; }
for i in $(seq 60); do get http://127.0.0.1:18080/health >/dev/null 2>&1 && break; sleep 1; done
timeout 150 python3 tools/serve_load.py --url http://127.0.0.1:18080 --clients 1,8,32 --seconds "${SERVE_S:-30}" \
  --max-tokens 128 --json > "$OUT/serve-load.json"
cat "$OUT/serve-load.json"
get http://127.0.0.1:18080/metrics | grep -E "^sinkstream_(device_bytes|streams_live)" | tee "$OUT/serve-metrics.txt"
kill -TERM $pid; wait $pid; echo "serve exit $?"
fi
