#!/usr/bin/env bash
# Shows that `sinkstream selftest` catches a wrong kernel: builds the CLI with
# one shader compiled wrong (-DSINKSTREAM_BREAK_KERNEL=rmsnorm, a test-only flag;
# tests off, so only the library and the CLI are built) into its own build
# folder, and expects selftest to exit non-zero naming rmsnorm, and only it.
set -euo pipefail
cd "$(dirname "$0")/.."
BROKEN_DIR="${BROKEN_DIR:-${BUILD_DIR:-build}-broken}"
KERNEL="${1:-rmsnorm}"
cmake -S . -B "$BROKEN_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSINKSTREAM_BUILD_TESTS=OFF \
  -DSINKSTREAM_BREAK_KERNEL="$KERNEL" >/dev/null
cmake --build "$BROKEN_DIR" --target sinkstream_cli
set +e
"$BROKEN_DIR/apps/sinkstream/sinkstream" selftest --quick --json --model "" >"$BROKEN_DIR/selftest.json"
status=$?
set -e
if [ "$status" -ne 1 ]; then
  echo "selftest with a broken $KERNEL exited $status, expected 1" >&2
  exit 1
fi
python3 - "$BROKEN_DIR/selftest.json" "$KERNEL" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
failed = sorted({k["kernel"] for k in report["kernels"] if not k["pass"]})
if failed != [sys.argv[2]] or report["pass"]:
    sys.exit(f"expected only {sys.argv[2]} to fail, got {failed}")
print(f"selftest failed and named {failed[0]}, as it should with -DSINKSTREAM_BREAK_KERNEL={sys.argv[2]}")
PY
