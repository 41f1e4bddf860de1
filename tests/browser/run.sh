#!/usr/bin/env bash
# Runs the browser tests: installs the npm packages (playwright-core, mpegts.js, hls.js) from
# package-lock.json only when node_modules is missing, then runs the node:test suite.
# Needs node >= 18, npm and /usr/bin/chromium (scripts/install-browser-deps.sh installs them).
# Args: the test files to run (default test_http_flv_mpegts.mjs).
# Env: XUELIANG_BIN (default build/xueliang relative to the source tree), CHROMIUM, XL_SCREENSHOT.
set -euo pipefail
cd "$(dirname "$0")"
# Missing tools fail the test with the fix named: `make test` installs them.
fail() { echo "run.sh: FAILED: $*" >&2; exit 1; }
command -v node >/dev/null 2>&1 || fail "node not found; run scripts/install-browser-deps.sh"
command -v npm >/dev/null 2>&1 || fail "npm not found; run scripts/install-browser-deps.sh"
[[ -x "${CHROMIUM:-/usr/bin/chromium}" ]] || fail "${CHROMIUM:-/usr/bin/chromium} not found; run scripts/install-browser-deps.sh"
if [[ ! -d node_modules/playwright-core || ! -f node_modules/mpegts.js/dist/mpegts.js ||
      ! -f node_modules/hls.js/dist/hls.js ]]; then
  echo "run.sh: installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --prefer-offline || fail "npm ci failed (no npm registry or cache?)"
fi
# Playwright must never download a browser of its own: it drives Debian's chromium.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
# spec output for people; TAP to a temp file for the plain closing line "N passed, N failed".
tap="$(mktemp -t xl-browser-tap.XXXXXX)"
trap 'rm -f "$tap"' EXIT
rc=0
node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" "${@:-test_http_flv_mpegts.mjs}" || rc=$?
count() { awk -v k="# $1" '$1 " " $2 == k { n = $3 } END { print n + 0 }' "$tap"; }
echo "browser: $(count pass) passed, $(count fail) failed, $(( $(count todo) + $(count skipped) )) skipped"
exit "$rc"
