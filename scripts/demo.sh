#!/usr/bin/env bash
# The main job: set up, build, and demonstrate what hvsig verifies today, end to end.
# Stages that later issues add (Authenticode verify of the Debian-signed kernel, keyrings,
# the hypervisor model's file-load op) extend this script.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${HVSIG_SHARED_DIR:-$(cd .. && pwd)/shared}

bash scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)"

echo
echo "== 1. The verify-only crypto core against Wycheproof, builtin and OpenSSL providers"
for provider in builtin openssl; do
  echo "-- provider: $provider"
  build/bin/hvsig-vectors --provider "$provider" "$shared"/testdata/wycheproof/*_test.json | tail -n 1
done

echo
echo "== 2. The core links into a hypervisor (Xen's x86 flags, no libc but mem*)"
bash tests/freestanding_check.sh build/libhvsig_core_freestanding.a build
