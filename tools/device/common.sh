# Sourced by session.sh and families.sh (NAME set first).
# The device tool returns at most 8 files from $OUT: everything is written to
# a scratch folder ($OUT from here on) and packed into one archive,
# $OUT/NAME-PID.tgz, on exit (a timeout included).
FINAL="${OUT:-/tmp/$NAME-out}"
mkdir -p "$FINAL"
OUT="$(mktemp -d)"
trap 'exit 143' TERM INT
trap 'tar czf "$FINAL/$NAME-$$.tgz" -C "$OUT" . ; rm -rf "$OUT"' EXIT
# PARTS picks the sections to run (default all).
want() { [ "${PARTS:-all}" = all ] || [[ " $PARTS " == *" $1 "* ]]; }
BUILD="${BUILD:-build}"
B="$BUILD/apps/sinkstream/sinkstream"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
