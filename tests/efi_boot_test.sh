#!/usr/bin/env bash
# Boots hvsig-verify.efi under QEMU with Debian's OVMF (no KVM) from a FAT image made with
# dosfstools and mtools (no mount), and checks its verdict lines on the serial console:
#   \vmlinuz-signed     Debian's signed kernel: trusted, with the digest `hvsig digest` prints;
#   \vmlinuz-tampered   the same with one byte of a section changed: rejected, with its digest;
#   \fbx64-revoked.efi  Debian's signed fallback loader, trusted by `hvsig verify` with the same
#                       CA, whose Authenticode digest (as pesign computes it) \dbx.esl revokes:
#                       RevokedImageHash.
# The digests expected are those of `hvsig digest` and, independently, of `pesign -h`.
# One boot verifies all three; the application powers the machine off.
# usage: efi_boot_test.sh EFI_APP HVSIG_TOOL TEST_CACHE WORK_DIR
set -euo pipefail
app=$1
hvsig=$2
cache=$3/authenticode
work=$4
ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd
ovmf_vars=/usr/share/OVMF/OVMF_VARS_4M.fd

rm -rf "$work"
mkdir -p "$work"
cd "$work"
for tool in qemu-system-x86_64 mmd mcopy mkfs.vfat pesign; do
  command -v "$tool" >/dev/null || { echo "FAIL $tool missing (scripts/setup.sh installs it)"; exit 1; }
done
for file in "$ovmf_code" "$ovmf_vars" "$app" "$cache/vmlinuz" "$cache/fbx64.efi.signed"; do
  [ -f "$file" ] || { echo "FAIL $file missing"; exit 1; }
done

cp "$cache/vmlinuz" vmlinuz-signed
cp "$cache/vmlinuz" vmlinuz-tampered
cp "$cache/fbx64.efi.signed" fbx64-revoked.efi
# The middle of the kernel is inside its (hashed) payload section, far from the signature.
python3 - vmlinuz-tampered <<'PY'
import os, sys
path = sys.argv[1]
with open(path, "r+b") as f:
    f.seek(os.path.getsize(path) // 2)
    byte = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([byte[0] ^ 0xff]))
PY
pesign_digest() {
  pesign -h -i "$1" | sed -n 's/^hash: \([0-9a-f]\{64\}\)$/\1/p'
}
revoked_digest=$(pesign_digest fbx64-revoked.efi)
# One EFI_SIGNATURE_LIST of type EFI_CERT_SHA256_GUID holding that digest (UEFI 2.10 32.4.1).
python3 - "$revoked_digest" dbx.esl <<'PY'
import struct, sys, uuid
digest = bytes.fromhex(sys.argv[1])
sha256_type = uuid.UUID("c1c41626-504c-4092-aca9-41f936934328").bytes_le
owner = uuid.UUID("605dab50-e046-4300-abb6-3dd810dd8b23").bytes_le
entry = owner + digest
with open(sys.argv[2], "wb") as f:
    f.write(sha256_type + struct.pack("<III", 28 + len(entry), 0, len(entry)) + entry)
PY
printf '# hvsig-verify.efi configuration (tests/efi_boot_test.sh)\ndbx=\\dbx.esl\nimage=\\vmlinuz-signed\nimage=\\vmlinuz-tampered\nimage=\\fbx64-revoked.efi\n' > hvsig.cfg

# Expected values, from the hosted tool: the same core, another provider path, no firmware.
signed_digest=$("$hvsig" digest vmlinuz-signed)
tampered_digest=$("$hvsig" digest vmlinuz-tampered)
if [ "$signed_digest" != "$(pesign_digest vmlinuz-signed)" ] ||
   [ "$tampered_digest" != "$(pesign_digest vmlinuz-tampered)" ]; then
  echo "FAIL hvsig digest and pesign -h disagree"
  exit 1
fi
if [ "$signed_digest" = "$tampered_digest" ]; then
  echo "FAIL the tampered kernel has the signed kernel's digest"
  exit 1
fi
ca="$cache/debian-uefi-ca.der"
"$hvsig" verify --cert "$ca" fbx64-revoked.efi >/dev/null || { echo "FAIL fbx64 not trusted without dbx"; exit 1; }
if "$hvsig" verify --cert "$ca" --dbx dbx.esl fbx64-revoked.efi >/dev/null; then
  echo "FAIL dbx.esl does not revoke fbx64 for hvsig verify"
  exit 1
fi

truncate -s 48M fat.img
mkfs.vfat -F 16 -n HVSIG fat.img >/dev/null
mmd -i fat.img ::/EFI ::/EFI/BOOT
mcopy -i fat.img "$app" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i fat.img vmlinuz-signed vmlinuz-tampered fbx64-revoked.efi dbx.esl hvsig.cfg ::/
cp "$ovmf_vars" vars.fd

start=$(date +%s)
status=0
timeout 180 qemu-system-x86_64 -machine q35 -accel tcg -nographic -m 512 -net none -no-reboot \
  -drive if=pflash,format=raw,readonly=on,file="$ovmf_code" \
  -drive if=pflash,format=raw,file=vars.fd \
  -drive format=raw,file=fat.img </dev/null >serial.log 2>qemu.err || status=$?
echo "qemu exited with $status after $(( $(date +%s) - start ))s"
# The console carries terminal escapes and CRs: keep the application's lines only.
sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\r//g' serial.log | grep -a 'hvsig-verify:' > verdicts.txt || true
cat verdicts.txt
if [ "$status" -ne 0 ]; then
  echo "FAIL qemu exit status $status (124: timeout; the application did not power off)"
  cat qemu.err
  exit 1
fi

failed=0
expect() {  # expect REGEX DESCRIPTION
  if ! grep -qxE "$1" verdicts.txt; then
    echo "FAIL $2: no line matching $1"
    failed=1
  fi
}
expect 'hvsig-verify: keys loaded \(with dbx\)' "keys and dbx"
expect "hvsig-verify: \\\\vmlinuz-signed: trusted reason=Success@0 sha256=$signed_digest" \
  "signed kernel trusted with hvsig digest's digest"
expect "hvsig-verify: \\\\vmlinuz-tampered: rejected reason=[A-Za-z0-9]+@[0-9]+ sha256=$tampered_digest" \
  "tampered kernel rejected with its digest"
expect "hvsig-verify: \\\\fbx64-revoked\\.efi: rejected reason=RevokedImageHash@[0-9]+ sha256=$revoked_digest" \
  "fbx64 revoked by dbx"
expect 'hvsig-verify: done' "the application finished"
[ "$failed" -eq 0 ] && echo "efi boot test: passed"
exit "$failed"
