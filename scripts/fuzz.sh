#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for
# SECONDS (default 60), seeded from the fixtures plus hand-made edge cases.
#   scripts/fuzz.sh [SECONDS]
# FUZZ_JOBS=N runs N fuzzing processes per target (libFuzzer -fork); with
# FUZZ_NO_BUILD=1 the binaries already in build-fuzz/tests/fuzz are used
# (a machine without clang, e.g. the GPU box with many cores).
# FUZZ_SECONDS_<target>=S overrides the time of one target (slow ones need more).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-60}"
FIX="${SINKSTREAM_FIXTURES:-$(pwd)/../shared/fixtures}"
export SINKSTREAM_FIXTURES="$FIX"
if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
  command -v clang++ >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev >/dev/null; }
  bash scripts/install-deps.sh
  CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DSINKSTREAM_FUZZ=ON -DSINKSTREAM_BUILD_TESTS=OFF >/dev/null
  cmake --build build-fuzz --target fuzz_gguf fuzz_model_files fuzz_tokenizer fuzz_chat_template fuzz_jinja fuzz_serve_request
fi
jobs=${FUZZ_JOBS:-1}
fork=()
[ "$jobs" -gt 1 ] && fork=(-fork="$jobs" -ignore_crashes=0)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{gguf,files,tok,chat,jinja,serve}
# Seeds: real files, their truncations, and hand-made headers (huge counts, bad
# versions). The project's own models and tokenizer stand in when the shared
# fixtures are absent.
head -c 65536 models/sinkstream-books-5m-learned-sinks.gguf > "$work/gguf/own-head"
(printf '\000'; head -c 60000 models/sinkstream-books-5m-learned-sinks.gguf) > "$work/files/own-gguf"
printf 'Once upon a time, \xe2\x80\x94 caf\xc3\xa9 42\n\n  tabs\t' > "$work/tok/own-text"
printf '{%% for m in messages %%}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{%% endfor %%}' > "$work/chat/chatml"
printf '<s>\000</s>\000system\000Be brief.\000user\000Hi\000assistant\000Hello' > "$work/chat/messages"
if [ -d "$FIX" ]; then
  for f in "$FIX"/templates/*.jinja; do head -c 8000 "$f" > "$work/chat/$(basename "$f")"; cp "$f" "$work/jinja/"; done
  cp "$FIX"/stories260K.gguf "$FIX"/tokenizers/ggml-vocab-gpt-2.gguf "$work/gguf/"
  (printf '\001'; cat "$FIX/tok512.bin") > "$work/files/tok"
  (printf '\000'; head -c 60000 "$FIX/stories260K.bin") > "$work/files/bin"
  for f in "$FIX"/tokenizers/*.inp; do head -c 4000 "$f" > "$work/tok/$(basename "$f")"; done
fi
printf '{%% set ns = namespace(n=0) %%}{%% for m in messages if m.role != "x" %%}{{ m.content|trim|tojson(indent=2) }}{%% set ns.n = ns.n + 1 %%}{%% endfor %%}{{ ns.n }}{%% macro f(a, b=2) %%}{{ a ~ b }}{%% endmacro %%}{{ f(1) }}' > "$work/jinja/features"
printf 'GGUF\003\000\000\000\377\377\377\377\377\377\377\377\000\000\000\000\000\000\000\000' > "$work/gguf/huge-count"
printf 'GGUF\001\000\000\000' > "$work/gguf/v1"
printf '\000\100\000\000\000\000\001\000\000\005\000\000\000\004\000\000\000\000\002\000\000\000\002\000\000' > "$work/files/hdr"
printf '\003\xff\xfe\xc3\x28\xe2\x82' > "$work/tok/bad-utf8"
# Request bodies (first byte odd: chat, even: completion).
printf '\001{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_tokens":7,"temperature":0,"top_p":0.5,"seed":-3,"stop":["a","b"],"stream":true,"stream_options":{"include_usage":true},"n":1}' > "$work/serve/chat"
printf '\000{"prompt":[1,403,407],"max_completion_tokens":4096,"echo":true,"logprobs":false,"response_format":{"type":"text"}}' > "$work/serve/ids"
printf '\000{"prompt":["caf\xc3\x28"],"max_tokens":-1,"stop":"x"}' > "$work/serve/bad"
for t in gguf:fuzz_gguf:65536 files:fuzz_model_files:70000 tok:fuzz_tokenizer:4096 chat:fuzz_chat_template:8192 jinja:fuzz_jinja:20000 serve:fuzz_serve_request:8192; do
  IFS=: read -r dir bin len <<<"$t"
  secs_var="FUZZ_SECONDS_$bin"
  secs="${!secs_var:-$SECONDS_EACH}"
  echo "== $bin (${secs}s)"
  log="$work/$bin.log"
  if ! "build-fuzz/tests/fuzz/$bin" "${fork[@]}" -max_total_time="$secs" -max_len="$len" -print_final_stats=1 \
      -artifact_prefix="$(pwd)/build-fuzz/crash-$bin-" "$work/$dir" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "$bin found a crash: the input is saved as build-fuzz/crash-$bin-*" >&2
    exit 1
  fi
  # One process prints its stats; -fork workers report "#N ... exec/s" lines instead.
  grep -E "^(stat::number_of_executed_units|Done)" "$log" || grep -E "^#[0-9]+" "$log" | tail -n 1
done
