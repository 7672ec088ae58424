#!/usr/bin/env bash
# The test command: sets up (first time only), builds, runs every test; ends with ctest's summary.
# usage: scripts/test.sh [extra ctest args, e.g. -L unit]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
  scripts/setup.sh
fi
cmake --build build -j "$(nproc)"
cd build
ctest --output-on-failure -j "$(nproc)" "$@"
