#!/usr/bin/env bash
# The main job: set up, build and demonstrate hvsig end to end. Steps 1-3: the crypto core
# against Wycheproof, the freestanding link check, Authenticode on Debian's signed kernel. Step 4,
# the main one: the hypervisor model as a daemon behind the real hypercall ABI, with Secure Boot
# on and the Debian CA in db, driven by hvsig-kexec, Debian's own /sbin/kexec and kexec-tools
# with the RFC's patch, all under hvsig-dom0; a summary table ends it. Idempotent.
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

demo=build/demo
mkdir -p "$demo"
tampered=$demo/vmlinuz-tampered
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
echo "== 4. kexec through the hypercall boundary: hvsig-hypervisor, Secure Boot on, db = the Debian CA"
# The unsigned copy, a small initrd (a newc cpio archive), and kexec-tools built from Debian's
# source with the RFC's patch (contrib/kexec-tools; cached after the first run).
unsigned=$demo/vmlinuz-unsigned
rm -f "$unsigned"
osslsigncode remove-signature -in "$kernel" -out "$unsigned" >/dev/null
rm -rf "$demo/initrd-root"
mkdir -p "$demo/initrd-root"
printf '#!/bin/sh\necho "hello from the kexec'"'"'d kernel'"'"'s initrd"\n' >"$demo/initrd-root/init"
chmod +x "$demo/initrd-root/init"
(cd "$demo/initrd-root" && find . | cpio -o -H newc --quiet) >"$demo/initrd.cpio"
initrd=$demo/initrd.cpio
echo "-- building kexec-tools $(dpkg-query -W -f='${Version}' kexec-tools) with contrib/kexec-tools/0001-xen-kexec-file-load.patch"
patched_kexec=$(bash contrib/kexec-tools/fetch-build.sh build/test-cache/kexec-tools)
digest=$(build/bin/hvsig digest "$kernel")
cmdline="console=ttyS0 quiet"

sock=$demo/hypervisor.sock
log=$demo/hypervisor.log
rm -f "$sock" "$log"
build/bin/hvsig-hypervisor --socket "$sock" --log "$log" --secure-boot on --db "$ca" \
  --memory 4G --crash-region 256M:256M >/dev/null 2>&1 &
daemon=$!
trap 'kill "$daemon" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  [ -S "$sock" ] && break
  sleep 0.1
done
[ -S "$sock" ] || { echo "demo: FAILED: hvsig-hypervisor did not start" >&2; cat "$log" >&2; exit 1; }
sed 's/^/   /' "$log"

rows=()
failed=0
# step ID WHAT EXPECTED_RC LOG_REGEX -- CMD...: runs CMD under hvsig-dom0 (a PV dom0 on the
# daemon), shows its output and the console lines it caused, and checks its exit status and
# that the daemon's log has a line matching LOG_REGEX for it.
step() {
  local id=$1 what=$2 want_rc=$3 want_log=$4 mark rc=0 output got line
  shift 5
  mark=$(wc -l <"$log")
  echo
  echo "-- ($id) $what"
  echo "   \$ ${*/#$PWD\//}"
  output=$(build/bin/hvsig-dom0 --socket "$sock" -- "$@" 2>&1) || rc=$?
  [ -z "$output" ] || printf '%s\n' "$output" | grep -v '^segment\[\|^entry  \|^nr_segments' |
    sed 's/^/   | /'
  sleep 0.2  # the daemon logs its summary line right after the reply
  tail -n "+$((mark + 1))" "$log" | grep -v 'memory_op\|multicall\|get_range\|xen_version\|sysctl' |
    sed 's/^/   /'
  line=$(tail -n "+$((mark + 1))" "$log" | grep -E -- "$want_log" | tail -n 1 || true)
  if [ "$rc" -eq "$want_rc" ] && [ -n "$line" ]; then
    got=ok
  else
    got=FAILED
    failed=1
  fi
  rows+=("$id|$what|exit $rc (want $want_rc)|${line#(XEN) }|$got")
}

call() {  # call SUBOP RESULT: the daemon's summary line for a kexec_op
  printf '^\\(XEN\\) hypercall kexec_op\\(%s\\) from pid [0-9]+: %s$' "$1" "$2"
}

step a "hvsig-kexec -l: the Debian-signed kernel" 0 "$(call KEXEC_CMD_kexec_file_load 0)" -- \
  build/bin/hvsig-kexec -l "$kernel" --initrd "$initrd" --append "$cmdline"
step b1 "hvsig-kexec -l: a tampered copy" 1 "$(call KEXEC_CMD_kexec_file_load -EKEYREJECTED)" -- \
  build/bin/hvsig-kexec -l "$tampered" --initrd "$initrd" --append "$cmdline"
step b2 "hvsig-kexec -l: an unsigned copy" 1 "$(call KEXEC_CMD_kexec_file_load -ENODATA)" -- \
  build/bin/hvsig-kexec -l "$unsigned" --initrd "$initrd" --append "$cmdline"
# Debian's kexec-tools 2.0.25 knows only the legacy op: Secure Boot refuses it (exit 255).
step c "Debian's kexec -l (legacy KEXEC_CMD_kexec_load)" 255 "$(call KEXEC_CMD_kexec_load -EPERM)" -- \
  /sbin/kexec -l "$kernel" --initrd="$initrd" --append="$cmdline"
step c2 "patched kexec-tools: kexec -s -l, signed kernel" 0 "$(call KEXEC_CMD_kexec_file_load 0)" -- \
  "$patched_kexec" -s -l "$kernel" --initrd="$initrd" --append="$cmdline"
# kexec -S exits 1 when the image is loaded (its man page); hvsig-kexec -S exits 0.
step d1 "Debian's kexec -S -l: is an image loaded?" 1 "$(call KEXEC_CMD_kexec_status 1)" -- \
  /sbin/kexec -S -l
step d2 "hvsig-kexec -S: is an image loaded?" 0 "$(call KEXEC_CMD_kexec_status 1)" -- \
  build/bin/hvsig-kexec -S
# The handoff is asked for with hvsig-kexec, which only makes the hypercall. kexec-tools' `kexec -e`
# would first take every network interface but lo down (ifdown(): ioctl SIOCSIFFLAGS), and under
# hvsig-dom0 those are this machine's: hvsig-dom0's seccomp filter refuses that ioctl (EPERM),
# and tests/kexectools_test.sh still passes --no-ifdown, as anyone running it by hand should.
step e "hvsig-kexec -e: re-check the segments, hand off" 0 \
  "^\\(XEN\\) hvsig-hypervisor: kexec handoff: default image load #[0-9]+, kernel sha256 $digest," -- \
  build/bin/hvsig-kexec -e
step e2 "hvsig-kexec -S after the handoff (the new kernel)" 1 "$(call KEXEC_CMD_kexec_status 0)" -- \
  build/bin/hvsig-kexec -S

kill "$daemon"
wait "$daemon" 2>/dev/null || true
trap - EXIT

echo
echo "== Summary (daemon log: $log)"
printf '%-4s %-52s %-20s %-6s %s\n' step "what" "exit status" result "the daemon's line"
for row in "${rows[@]}"; do
  IFS='|' read -r id what status line got <<<"$row"
  printf '%-4s %-52s %-20s %-6s %s\n' "$id" "$what" "$status" "$got" "$line"
done
if [ "$failed" -ne 0 ]; then
  echo "demo: FAILED: a step did not give its expected outcome" >&2
  exit 1
fi
echo
echo "demo: done"
