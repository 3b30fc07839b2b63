#!/usr/bin/env bash
# Installs hvsig's Debian build and test dependencies. Idempotent: apt runs only when a package
# is missing. Run as root (or with sudo available).
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build ccache pkg-config binutils
  libssl-dev libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev
  libgcrypt20-dev  # the gcrypt provider, the RFC's option 2 (docs/crypto-options.md)
  # test oracles and peers
  openssl ca-certificates dpkg-dev
  efitools pesign  # EFI signature lists made at test time (tests/efi_test.cpp)
  sbsigntool osslsigncode libnss3-tools  # Authenticode peers (tests/authenticode_test.cpp)
  # the hypercall boundary: Xen's userspace headers and libraries, Debian's kexec-tools as the
  # real client, cpio for the demo's initrd
  libxen-dev kexec-tools cpio
  strace  # the dom0 tests prove, from the syscall trace, that nothing reached the host kernel
  # contrib/kexec-tools/fetch-build.sh: the patched kexec-tools regenerates its configure
  # (the rest of Debian's build needs only build-essential, dpkg-dev and libxen-dev)
  autoconf
  # the UEFI verifier (issue 11): built with gnu-efi, booted from a FAT image made by mtools
  # under QEMU with Debian's OVMF (tests/efi_boot_test.sh)
  gnu-efi mtools dosfstools qemu-system-x86 ovmf
)

bash "$(dirname "$0")/install-packages.sh" "${packages[@]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
# Tests fetch real signed binaries with `apt-get download`, which needs package lists.
if ! apt-cache policy shim-unsigned 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  "${sudo_cmd[@]}" apt-get update -qq
fi
echo "setup: dependencies present"
