#!/usr/bin/env bash
# The test suite: installs what is missing, builds everything with ASan+UBSan (strict: a
# listed test file that is missing fails the build) and runs every test: unit tests (no
# services), the end-to-end CLI tests, the service-backed tests (PostgreSQL, NATS
# JetStream) against servers this script starts and stops itself, and a bounded run of
# every fuzz target (clang, libFuzzer).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --with-services
# playwright-core (drives Debian's Chromium; no browser download), pinned by package-lock.json.
if [[ ! -d tests/e2e/console/node_modules/playwright-core ]]; then
  npm ci --prefix tests/e2e/console --no-audit --no-fund >&2
fi
cmake --preset asan -DFANOUT_STRICT=ON >/dev/null
cmake --build --preset asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== unit and end-to-end tests" >&2
ctest --preset asan --label-exclude 'pg|nats'
if ctest --test-dir build/asan -N -L pg | grep -q "Total Tests: [1-9]"; then
  echo "== PostgreSQL-backed tests" >&2
  scripts/with-postgres.sh ctest --test-dir build/asan --output-on-failure -L pg
fi
if ctest --test-dir build/asan -N -L nats | grep -q "Total Tests: [1-9]"; then
  echo "== JetStream-backed tests" >&2
  scripts/with-nats.sh ctest --test-dir build/asan --output-on-failure -L nats
fi
# libFuzzer targets (fuzz/): built with clang (only they and what they link), each run for
# FUZZ_SECONDS (20) under ASan/UBSan; their seeds and regressions were replayed above.
echo "== fuzzing (${FUZZ_SECONDS:-20} s per target)" >&2
scripts/fuzz.sh
echo "== all tests passed" >&2
