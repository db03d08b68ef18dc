#!/usr/bin/env bash
# The library as a user gets it: installs the build's library (static, then
# shared) into a temporary prefix, builds the two examples against the
# installed package once through pkg-config and once through
# find_package(sinkstream CONFIG), and runs them on the fixture model (on
# lavapipe in CI). Reuses the build in $BUILD_DIR (default build/): only the
# library and the CLI are relinked, nothing recompiled; the CLI, a user of the
# public API alone, must link against the shared library's exports. Without the
# fixture model the examples are built but not run, and the script says so.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
FIXTURES="${SINKSTREAM_FIXTURES:-$(pwd)/../shared/fixtures}"
MODEL="$FIXTURES/stories260K.gguf"
tmp="$(mktemp -d)"
cli="$BUILD_DIR/apps/sinkstream/sinkstream"
# Back to the static build, with its CLI (the later steps run it).
trap 'rm -rf "$tmp"; cmake -S . -B "$BUILD_DIR" -DBUILD_SHARED_LIBS=OFF >/dev/null
      [[ ! -d "$BUILD_DIR/apps" ]] || cmake --build "$BUILD_DIR" --target sinkstream_cli >/dev/null' EXIT
start=$SECONDS
# A failing check names itself (commands here send their output to /dev/null).
trap 'echo "FAILED (exit $?) at scripts/test-install.sh:$LINENO: $BASH_COMMAND" >&2' ERR

# Two turns; the reply to each must be non-empty text, and the program must end cleanly.
run_example() {
  local exe="$1" out
  if [[ ! -f "$MODEL" ]]; then
    echo "SKIPPED: running $exe (fixture $MODEL is not available)"
    return
  fi
  out="$(printf 'Once upon a time\nThe cat sat\n' | "$exe" "$MODEL" 24)"
  if [[ "$(grep -c '^\[24 tokens' <<<"$out")" != 2 ]]; then
    echo "FAILED: $exe did not answer both turns:"
    echo "$out"
    exit 1
  fi
  echo "ok: $exe"
}

for kind in static shared; do
  shared=OFF
  [[ $kind == shared ]] && shared=ON
  prefix="$tmp/prefix-$kind"
  cmake -S . -B "$BUILD_DIR" -DBUILD_SHARED_LIBS=$shared >/dev/null
  cmake --build "$BUILD_DIR" --target sinkstream >/dev/null
  cmake --install "$BUILD_DIR" --prefix "$prefix" >/dev/null
  echo "== $kind library installed in $prefix:"
  (cd "$prefix" && find . -type f | sort | sed 's/^/   /')
  if [[ $kind == shared ]]; then
    libs=("$prefix"/lib*/libsinkstream.so.*.*.*)
    lib="${libs[0]}"
    soname="$(objdump -p "$lib" | awk '/SONAME/ {print $2}')"
    echo "   SONAME $soname"
    [[ "$soname" == libsinkstream.so.* ]]
    # Hidden visibility: the API is exported, the internals (sinkstream::model, vk, sched) are not.
    nm -DC --defined-only "$lib" >"$tmp/symbols"
    grep -q ' ss_stream_feed$' "$tmp/symbols"
    grep -q ' sinkstream::Stream::generate(' "$tmp/symbols"
    if grep -E ' sinkstream::(model|vk|kv|sched|text|detail)::' "$tmp/symbols" | head -3 | grep .; then
      echo "FAILED: internal symbols are exported"
      exit 1
    fi
    if [[ -d "$BUILD_DIR/apps" ]]; then
      if ! cmake --build "$BUILD_DIR" --target sinkstream_cli >"$tmp/cli-build.log" 2>&1; then
        tail -40 "$tmp/cli-build.log"
        exit 1
      fi
      # Not `ldd | grep -q`: under pipefail, grep quitting at the first match can
      # kill ldd with SIGPIPE while the loader still writes, failing the step.
      ldd "$cli" >"$tmp/ldd"
      grep -q 'libsinkstream\.so' "$tmp/ldd"
      "$cli" --version >/dev/null
      echo "   the CLI links against it (the public API's exports alone)"
    fi
  fi

  # pkg-config (the static library needs --static for its dependencies).
  export PKG_CONFIG_PATH="$(dirname "$(find "$prefix" -name sinkstream.pc)")"
  static_flag=""
  [[ $kind == static ]] && static_flag="--static"
  found=("$prefix"/lib*/libsinkstream.*)
  rpath="-Wl,-rpath,$(dirname "${found[0]}")"
  cc -std=c11 -Wall -Wextra -Werror examples/chat.c $(pkg-config --cflags sinkstream) \
    $(pkg-config --libs $static_flag sinkstream) $([[ $kind == static ]] && echo -lstdc++) $rpath -o "$tmp/chat-c-pc"
  c++ -std=c++20 -Wall -Wextra -Werror examples/chat.cpp $(pkg-config --cflags sinkstream) \
    $(pkg-config --libs $static_flag sinkstream) $rpath -o "$tmp/chat-cpp-pc"
  run_example "$tmp/chat-c-pc"
  run_example "$tmp/chat-cpp-pc"

  # find_package(sinkstream CONFIG) -> sinkstream::sinkstream
  cmake -S examples -B "$tmp/examples-$kind" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$tmp/examples-$kind" >/dev/null
  run_example "$tmp/examples-$kind/chat-c"
  run_example "$tmp/examples-$kind/chat-cpp"
done
echo "test-install: $((SECONDS - start)) s"
