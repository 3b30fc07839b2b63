#!/usr/bin/env bash
# Fixture for the Authenticode tests: fetches the Debian-signed binaries and the Debian CA
# (through fetch-debian.sh) and links them under fixed names in $HVSIG_TEST_CACHE/authenticode/,
# so the tests never guess a kernel version:
#   vmlinuz  grubx64.efi.signed  mmx64.efi.signed  fbx64.efi.signed  fwupdx64.efi.signed
#   shimx64.efi.signed  shimx64.efi (unsigned)  debian-uefi-ca.der
#   HVSIG_TEST_CACHE=DIR tests/fetch-authenticode.sh
set -euo pipefail

cache=${HVSIG_TEST_CACHE:?set HVSIG_TEST_CACHE to the cache directory}
here=$(cd "$(dirname "$0")" && pwd)

# The kernel linux-image-amd64 currently depends on (e.g. linux-image-6.1.0-56-amd64).
kernel_package=$(apt-cache depends linux-image-amd64 |
  sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
if [ -z "$kernel_package" ]; then
  echo "fetch-authenticode: cannot resolve the kernel linux-image-amd64 depends on" >&2
  exit 1
fi

root=$("$here/fetch-debian.sh" "$kernel_package" grub-efi-amd64-signed shim-helpers-amd64-signed \
  fwupd-amd64-signed shim-signed shim-unsigned)

out="$cache/authenticode"
mkdir -p "$out"
link() {  # link NAME PATH-IN-ROOT
  if [ ! -f "$root/$2" ]; then
    echo "fetch-authenticode: $2 missing from the extracted packages" >&2
    exit 1
  fi
  ln -sfn "$root/$2" "$out/$1"
}
link vmlinuz "boot/vmlinuz-${kernel_package#linux-image-}"
link grubx64.efi.signed usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed
link mmx64.efi.signed usr/lib/shim/mmx64.efi.signed
link fbx64.efi.signed usr/lib/shim/fbx64.efi.signed
link fwupdx64.efi.signed usr/libexec/fwupd/efi/fwupdx64.efi.signed
link shimx64.efi.signed usr/lib/shim/shimx64.efi.signed
link shimx64.efi usr/lib/shim/shimx64.efi
link debian-uefi-ca.der usr/share/shim/debian-uefi-ca.der
echo "$out"
