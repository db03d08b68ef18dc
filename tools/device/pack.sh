#!/usr/bin/env bash
# Packs what a device call needs from a build folder into one small folder to
# carry (default build-dev): the CLI, sinkstream-synth and sinkstream-convert at
# the paths the device scripts use (BUILD=build-dev), and the shared libraries
# the CLI links besides glibc and libstdc++ (libedit, cpp-httplib, PCRE2, ...),
# which the device image lacks. The CLI is a wrapper that puts those libraries
# on LD_LIBRARY_PATH for itself only, so PyTorch on the device never sees them.
#   bash tools/device/pack.sh [BUILD] [DEST]
set -euo pipefail
SRC="${1:-build}"
DEST="${2:-build-dev}"
rm -rf "$DEST"
mkdir -p "$DEST/apps/sinkstream" "$DEST/tools" "$DEST/bin" "$DEST/lib"
cp "$SRC/apps/sinkstream/sinkstream" "$DEST/bin/sinkstream"
cp "$SRC/tools/sinkstream-synth" "$SRC/tools/sinkstream-convert" "$DEST/tools/"
ldd "$SRC/apps/sinkstream/sinkstream" > "$DEST/ldd.txt"
awk '$3 ~ /^\// {print $1, $3}' "$DEST/ldd.txt" | while read -r name path; do
  case "$name" in
    libc.so*|libm.so*|libstdc++.so*|libgcc_s.so*|libvulkan.so*|ld-linux*) ;;
    *) cp -L "$path" "$DEST/lib/" ;;
  esac
done
cat > "$DEST/apps/sinkstream/sinkstream" <<'SH'
#!/usr/bin/env bash
d="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LD_LIBRARY_PATH="$d/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$d/bin/sinkstream" "$@"
SH
chmod +x "$DEST/apps/sinkstream/sinkstream"
du -sh "$DEST"
