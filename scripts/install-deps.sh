#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages sinkstream builds and tests with (or the
# packages named as arguments), if any is missing. Safe to run again: it does
# nothing when all are present.
set -euo pipefail
# nlohmann-json3-dev: the Jinja engine's inputs; python3-jinja2: only the tests' oracle for it;
# ccache: CI's later builds of the same sources (.ci/run).
# libcpp-httplib-dev: `sinkstream serve`'s HTTP server.
PKGS="cmake ninja-build g++ libvulkan-dev glslc glslang-tools spirv-tools doctest-dev mesa-vulkan-drivers
vulkan-validationlayers vulkan-tools libpcre2-dev pkg-config libedit-dev tmux python3 nlohmann-json3-dev python3-jinja2
ccache libcpp-httplib-dev"
[ $# -gt 0 ] && PKGS="$*"
missing=""
for p in $PKGS; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root (or sudo) to install:$missing" >&2; exit 1; }
  SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
