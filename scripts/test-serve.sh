#!/usr/bin/env bash
# `sinkstream serve` with clients no one here wrote: the official `openai` npm
# package, curl, and Debian's Chromium driven by Playwright, on the fixture
# model (and the project's own); then faults (disconnects, a client that reads
# nothing, SIGTERM) and SERVE_LOAD_CLIENTS (32) streaming clients for
# SERVE_LOAD_SECONDS (120). Needs the build (scripts/build.sh) in $BUILD_DIR
# (build). The page's screenshot is left in $BUILD_DIR/serve-artifacts/.
# Cases that need the shared fixtures are reported as skipped without them.
set -euo pipefail
cd "$(dirname "$0")/.."
export BUILD_DIR="${BUILD_DIR:-build}"
[ -x "$BUILD_DIR/apps/sinkstream/sinkstream" ] || bash scripts/build.sh
command -v node >/dev/null && command -v npm >/dev/null || bash scripts/install-deps.sh nodejs npm
bash scripts/install-deps.sh chromium curl
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "test-serve: node $(node --version) is too old; playwright-core needs node >= 20" >&2
  exit 1
fi
start=$(date +%s)
(cd tests/serve && npm ci --no-audit --no-fund --loglevel=error)
echo "== serve tests (node $(node --version), $(chromium --version 2>/dev/null || echo 'no chromium'))"
(cd tests/serve && node --test --test-concurrency=1 --test-reporter=spec .)
echo "== serve tests took $(( $(date +%s) - start )) s; screenshot: $BUILD_DIR/serve-artifacts/serve-page.png"
