#!/usr/bin/env bash
# The test command: set up dependencies, configure, build and run the whole suite.
# usage: scripts/test.sh [PRESET]   (default | asan | release; default: default)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-default}
# ccache keys on paths relative to the checkout, so a fresh clone reuses earlier compilations.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}

bash scripts/setup.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset" -j "$(nproc)"
