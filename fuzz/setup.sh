#!/usr/bin/env bash
# What fuzz/run.sh needs beyond scripts/setup.sh: clang-14 and libFuzzer's runtime (clang only
# recommends libclang-rt-14-dev, and without it -fsanitize=fuzzer does not link). Idempotent:
# apt runs only when a package is missing.
set -euo pipefail
packages=(clang-14 libclang-rt-14-dev cmake ninja-build python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
if [ ${#missing[@]} -gt 0 ]; then
  echo "fuzz/setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
