#!/usr/bin/env bash
# What fuzz/run.sh needs beyond scripts/setup.sh: clang-14 and libFuzzer's runtime (clang only
# recommends libclang-rt-14-dev, and without it -fsanitize=fuzzer does not link). Idempotent:
# apt runs only when a package is missing.
set -euo pipefail
bash "$(dirname "$0")/../scripts/install-packages.sh" clang-14 libclang-rt-14-dev cmake ninja-build python3
