#!/usr/bin/env bash
# The main job: set up, build, and demonstrate hvsig end to end: the crypto core against
# Wycheproof, the freestanding link check, Authenticode on Debian's signed kernel, and, last and
# main, kexec under Secure Boot on the embedded hypervisor model (hvsig-model-demo).
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

echo
echo "== 3. Authenticode: the current Debian-signed kernel against the Debian Secure Boot CA"
kernel_package=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
root=$(HVSIG_TEST_CACHE=build/test-cache bash tests/fetch-debian.sh "$kernel_package" shim-unsigned)
kernel=$(ls "$root"/boot/vmlinuz-* | head -n 1)
ca="$root/usr/share/shim/debian-uefi-ca.der"
echo "-- $kernel_package: $(basename "$kernel"), Authenticode SHA-256 $(build/bin/hvsig digest "$kernel")"
build/bin/hvsig verify --cert "$ca" "$kernel"

tampered=build/demo-tampered-vmlinuz
cp "$kernel" "$tampered"
# Flip one byte in the middle of the kernel body: the signature still parses, the digest does not match.
offset=$(( $(stat -c %s "$tampered") / 2 ))
byte=$(od -An -tu1 -j "$offset" -N1 "$tampered" | tr -d ' ')
printf "$(printf '\\%03o' $(( byte ^ 255 )))" | dd of="$tampered" bs=1 seek="$offset" conv=notrunc status=none
echo "-- the same kernel with the byte at offset $offset inverted:"
if build/bin/hvsig verify --cert "$ca" "$tampered"; then
  echo "demo: FAILED: a tampered kernel was trusted" >&2
  exit 1
fi

echo
echo "== 4. The hypervisor model: kexec of the same kernel under Secure Boot, db = the Debian CA"
# dom0's ops go through the model's hypercall entry; the tool exits 1 if any step's outcome is
# not the expected one (lockdown, tamper rejection, verified load, status, exec handoff).
if ! build/bin/hvsig-model-demo --db "$ca" --kernel "$kernel" \
    --cmdline "root=/dev/vda1 ro console=ttyS0"; then
  echo "demo: FAILED: the hypervisor model did not behave as expected" >&2
  exit 1
fi
echo
echo "demo: done"
