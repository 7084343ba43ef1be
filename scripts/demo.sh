#!/usr/bin/env bash
# The main job: installs what is missing, builds the release binary and runs `fanout demo`
# (two regions + push simulator in one process, 100000 simulated devices by default).
# Extra arguments go to `fanout demo`, e.g. scripts/demo.sh --devices 20000
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target fanout
exec build/release/apps/fanout/fanout demo "$@"
