#!/usr/bin/env bash
# Debian's real kexec-tools (/sbin/kexec, linked to Debian's libxenctrl) and the patched kexec
# (contrib/kexec-tools) under hvsig-dom0, against hvsig-hypervisor. Each case starts its own
# daemon on a temporary socket; every call's exit status and output are checked, and so is the
# daemon's summary line for the call (`(XEN) hypercall kexec_op(<subop>) from pid N: <result>`,
# read from the log lines the call added), so a result that never reached the model cannot pass.
#   kexectools_test.sh CASE
# CASE: legacy_exploit | legacy_lockdown | legacy_exec | patched_file_load
# Environment: HVSIG_HYPERVISOR, HVSIG_DOM0 (the tools), HVSIG_TEST_CACHE (authenticode/ from
# fetch-authenticode.sh, kexec-tools/ from contrib/kexec-tools/fetch-build.sh).
set -euo pipefail

case_name=${1:?usage: kexectools_test.sh CASE}
hypervisor=${HVSIG_HYPERVISOR:?}
dom0=${HVSIG_DOM0:?}
cache=${HVSIG_TEST_CACHE:?}
kernel=$cache/authenticode/vmlinuz
ca=$cache/authenticode/debian-uefi-ca.der
debian_kexec=/sbin/kexec
patched_kexec=$cache/kexec-tools/src/build/sbin/kexec
# The crash region the daemon reserves (kexec -p must place every segment inside it).
crash_start=$((0x10000000))
crash_size=$((256 << 20))
cmdline="console=ttyS0 hvsig-kexectools-test"

echo "kexec-tools package: $(dpkg-query -W kexec-tools)"
echo "Debian's kexec: $("$debian_kexec" --version 2>&1)"

work=$(mktemp -d "${TMPDIR:-/tmp}/hvsig-kexectools.XXXXXX")
daemon_pid=
cleanup() {
  if [ -n "$daemon_pid" ]; then
    kill "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [ -f "$work/hv.log" ]; then
    echo "---- daemon log (last 40 lines)" >&2
    tail -n 40 "$work/hv.log" >&2
  fi
  exit 1
}

# A small initrd: a newc cpio archive with one /init.
mkdir -p "$work/initrd-root"
printf '#!/bin/sh\necho hvsig test initrd\n' >"$work/initrd-root/init"
chmod +x "$work/initrd-root/init"
(cd "$work/initrd-root" && find . | cpio -o -H newc --quiet) >"$work/initrd.cpio"
initrd=$work/initrd.cpio

# start_daemon OPTION...: hvsig-hypervisor on a fresh socket; returns once the socket exists
# (the daemon creates it only when it serves).
start_daemon() {
  sock=$work/hv.sock
  log=$work/hv.log
  "$hypervisor" --socket "$sock" --log "$log" --memory 4G \
    --crash-region "$crash_start:$crash_size" "$@" >"$work/hv.out" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 100); do
    [ -S "$sock" ] && break
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/hv.out" >&2; fail "the daemon exited"; }
    sleep 0.1
  done
  [ -S "$sock" ] || fail "no socket after 10 s"
  echo "== daemon: hvsig-hypervisor $*"
  grep -q "ready on $sock" "$log" || fail "no ready line in the daemon log"
}

# dom0 CMD ARG...: runs CMD under hvsig-dom0; sets rc, out, err, pid (the client's pid, which the
# daemon's summary lines name) and mark (the log's line count before the call). A shell inside
# dom0 records its pid and execs CMD, so pid is CMD's.
dom0() {
  mark=$(wc -l <"$log")
  echo "-- \$ $*"
  rm -f "$work/pid"
  rc=0
  "$dom0" --socket "$sock" -- sh -c 'echo $$ >"$0"; exec "$@"' "$work/pid" "$@" \
    >"$work/out" 2>"$work/err" || rc=$?
  pid=$(cat "$work/pid")
  out=$(cat "$work/out")
  err=$(cat "$work/err")
  show stdout "$out"
  show stderr "$err"
  echo "   exit $rc"
}
# show NAME TEXT: TEXT in the test log, at most 12 lines (kexec -d prints hundreds).
show() {
  [ -n "$2" ] || return 0
  printf '%s\n' "$2" | head -n 12 | sed "s/^/   $1: /"
  local lines
  lines=$(printf '%s\n' "$2" | wc -l)
  [ "$lines" -le 12 ] || echo "   $1: ... $((lines - 12)) more lines"
}

new_log() { tail -n "+$((mark + 1))" "$log"; }

expect_rc() {
  [ "$rc" -eq "$1" ] || fail "exit status $rc, expected $1"
}
expect_failure() {
  [ "$rc" -ne 0 ] || fail "exit status 0, expected a failure"
}
expect_out() {
  grep -Eq -- "$1" <<<"$out" || fail "stdout lacks /$1/"
}
expect_err() {
  grep -Eq -- "$1" <<<"$err" || fail "stderr lacks /$1/"
}
# expect_log REGEX: a line the call added matches (the summary line may follow the reply, so
# wait for it up to 5 s).
expect_log() {
  for _ in $(seq 50); do
    if new_log | grep -Eq -- "$1"; then
      new_log | grep -E -- "$1" | head -n 3 | sed 's/^/   log: /'
      return 0
    fi
    sleep 0.1
  done
  fail "the daemon log lacks /$1/ after the call; it added:$(printf '\n'; new_log)"
}
# expect_call SUBOP RESULT: the call's summary line for kexec_op(SUBOP), from the client's pid.
expect_call() {
  expect_log "^\(XEN\) hypercall kexec_op\($1\) from pid $pid: $2\$"
}
# expect_no_call SUBOP: the call made no kexec_op(SUBOP) hypercall (check after expect_call, so
# every line of the call is in the log).
expect_no_call() {
  if new_log | grep -Eq -- "hypercall kexec_op\($1\)"; then
    fail "the call made a $1 hypercall: $(new_log | grep -E "hypercall kexec_op\($1\)")"
  fi
}
expect_alive() {
  kill -0 "$daemon_pid" 2>/dev/null || fail "the daemon died"
}

# expect_segments_in_crash_region: every segment `kexec -d` printed lies in the crash region.
expect_segments_in_crash_region() {
  local mems sizes i n
  mapfile -t mems < <(sed -n 's/^segment\[[0-9]*\]\.mem *= *\(0x[0-9a-f]*\)$/\1/p' <<<"$err")
  mapfile -t sizes < <(sed -n 's/^segment\[[0-9]*\]\.memsz *= *\(0x[0-9a-f]*\)$/\1/p' <<<"$err")
  n=${#mems[@]}
  [ "$n" -gt 0 ] && [ "$n" -eq "${#sizes[@]}" ] || fail "kexec -d printed no segments"
  for ((i = 0; i < n; i++)); do
    if (( mems[i] < crash_start || mems[i] + sizes[i] > crash_start + crash_size )); then
      fail "segment $i at ${mems[i]} (+${sizes[i]}) lies outside the crash region"
    fi
  done
  echo "   $n segments, all inside the crash region $(printf '%#x+%#x' "$crash_start" "$crash_size")"
}

legacy_args=(-l "$kernel" --initrd="$initrd" --append="$cmdline")
crash_args=(-p "$kernel" --initrd="$initrd" --append="$cmdline")

case "$case_name" in
legacy_exploit)
  # Secure Boot off, mode off: Xen 4.17's behaviour. Debian's unmodified kexec loads whatever
  # dom0's root hands it through KEXEC_CMD_kexec_load.
  start_daemon --secure-boot off --mode off
  dom0 "$debian_kexec" "${legacy_args[@]}"
  expect_rc 0
  expect_log '^\(XEN\) kexec: KEXEC_CMD_kexec_load: default image, [0-9]+ segments, .*\(unverified\)'
  expect_call KEXEC_CMD_kexec_load 0
  # kexec -S checks the crash image unless -l says otherwise; it exits 1 when loaded.
  dom0 "$debian_kexec" -S -l
  expect_rc 1
  expect_call KEXEC_CMD_kexec_status 1
  dom0 "$debian_kexec" -S
  expect_rc 0
  expect_call KEXEC_CMD_kexec_status 0
  dom0 "$debian_kexec" -u
  expect_rc 0
  expect_log '^\(XEN\) kexec: KEXEC_CMD_kexec_unload: default image unloaded'
  expect_call KEXEC_CMD_kexec_unload 0
  dom0 "$debian_kexec" -S -l
  expect_rc 0
  expect_call KEXEC_CMD_kexec_status 0
  # The crash image: kexec asks Xen for the crash region, and every segment lands inside it
  # (the model also refuses a crash segment outside it with -EADDRNOTAVAIL).
  dom0 "$debian_kexec" -d "${crash_args[@]}"
  expect_rc 0
  expect_segments_in_crash_region
  expect_log '^\(XEN\) hypercall kexec_op\(KEXEC_CMD_kexec_get_range\) from pid [0-9]+: 0$'
  expect_log '^\(XEN\) kexec: KEXEC_CMD_kexec_load: crash image, [0-9]+ segments'
  expect_call KEXEC_CMD_kexec_load 0
  dom0 "$debian_kexec" -S
  expect_rc 1
  expect_call KEXEC_CMD_kexec_status 1
  expect_alive
  ;;

legacy_lockdown)
  # Secure Boot on (mode enforce), db = the Debian CA: the unverified op is refused, the hole
  # is closed.
  start_daemon --secure-boot on --db "$ca"
  dom0 "$debian_kexec" "${legacy_args[@]}"
  expect_failure
  expect_err 'kexec_load failed: Operation not permitted'
  expect_log '^\(XEN\) kexec: lockdown: KEXEC_CMD_kexec_load refused \(-EPERM\)'
  expect_call KEXEC_CMD_kexec_load -EPERM
  dom0 "$debian_kexec" "${crash_args[@]}"
  expect_failure
  expect_err 'kexec_load failed: Operation not permitted'
  expect_call KEXEC_CMD_kexec_load -EPERM
  dom0 "$debian_kexec" -S -l
  expect_rc 0
  expect_call KEXEC_CMD_kexec_status 0
  # Debian's -s goes to dom0 Linux's kexec_file_load(2), never to Xen; hvsig-dom0's seccomp
  # filter answers EPERM, and the hypervisor sees no load.
  dom0 "$debian_kexec" -s "${legacy_args[@]}"
  expect_failure
  expect_err 'kexec_file_load failed: Operation not permitted'
  expect_no_call 'KEXEC_CMD_kexec_(file_)?load'
  expect_alive
  ;;

legacy_exec)
  # kexec -e: Xen records the handoff and, in the model, returns; Debian's kexec then reports
  # "kexec failed" whatever happened, so the daemon's log is the judge. --no-ifdown: kexec
  # would otherwise take down this machine's network interfaces before the call. hvsig-dom0's
  # seccomp filter refuses that ioctl (SIOCSIFFLAGS, EPERM) as well; the option stays so that
  # the host's network never depends on the filter alone.
  start_daemon --secure-boot off --mode off
  dom0 "$debian_kexec" "${legacy_args[@]}"
  expect_rc 0
  expect_call KEXEC_CMD_kexec_load 0
  dom0 "$debian_kexec" -e --no-ifdown
  expect_failure
  expect_err 'kexec failed'
  expect_log '^\(XEN\) kexec: reboot: default image \(slot [0-9], load #[0-9]+\) entry 0x[0-9a-f]+ .*legacy image: not checked'
  expect_call KEXEC_CMD_kexec 0
  expect_log '^\(XEN\) hvsig-hypervisor: kexec handoff: default image load #[0-9]+, kernel sha256 \(legacy load: not measured\)'
  expect_log '^\(XEN\) hvsig-hypervisor: boot #2: '
  # The machine now runs the new image: nothing is loaded in it.
  dom0 "$debian_kexec" -S -l
  expect_rc 0
  expect_call KEXEC_CMD_kexec_status 0
  expect_alive
  ;;

patched_file_load)
  # The RFC's change in kexec-tools: -s reads the files and hands them to Xen, which verifies
  # the kernel. Secure Boot on, db = the Debian CA.
  [ -x "$patched_kexec" ] || fail "no patched kexec at $patched_kexec (fixture kexec_tools_patched)"
  expected_digest=$(pesign -h -i "$kernel" | sed -n 's/^hash: //p')
  [ -n "$expected_digest" ] || fail "pesign printed no hash"
  osslsigncode extract-signature -in "$kernel" -out "$work/sig.der" >/dev/null
  expected_serial=$(openssl pkcs7 -inform DER -in "$work/sig.der" -print |
    sed -n 's/^ *serial: 0x\([0-9A-Fa-f]*\)$/\1/p' | head -n 1 | tr 'A-F' 'a-f')
  [ -n "$expected_serial" ] || fail "no signer serial in the kernel's signature"
  tampered=$work/vmlinuz-tampered
  cp "$kernel" "$tampered"
  offset=$(( $(stat -L -c %s "$tampered") / 2 ))
  byte=$(od -An -tu1 -j "$offset" -N1 "$tampered" | tr -d ' ')
  printf "$(printf '\\%03o' $(( byte ^ 255 )))" |
    dd of="$tampered" bs=1 seek="$offset" conv=notrunc status=none
  unsigned=$work/vmlinuz-unsigned
  osslsigncode remove-signature -in "$kernel" -out "$unsigned" >/dev/null

  start_daemon --secure-boot on --db "$ca"
  dom0 "$patched_kexec" -s "${legacy_args[@]}"
  expect_rc 0
  expect_out '^Xen kexec_file_load: trusted \(mode enforce, keyring [a-z]+, reason 0\)$'
  expect_out "^Xen kexec_file_load: kernel sha256 $expected_digest\$"
  expect_out "^Xen kexec_file_load: signer serial $expected_serial, subject sha256 [0-9a-f]{64}\$"
  expect_call KEXEC_CMD_kexec_file_load 0
  expect_no_call KEXEC_CMD_kexec_load
  dom0 "$patched_kexec" -S -l
  expect_rc 1
  expect_call KEXEC_CMD_kexec_status 1

  # Tampered: rejected, and a rejection is final, even with -a (file load with fallback).
  for mode in -s -a; do
    dom0 "$patched_kexec" "$mode" -l "$tampered" --initrd="$initrd" --append="$cmdline"
    expect_failure
    expect_err '^Xen kexec_file_load: rejected \(mode enforce, keyring [a-z]+, reason [1-9][0-9]*\)$'
    expect_err "^Xen kexec_file_load: kernel sha256 $(pesign -h -i "$tampered" | sed -n 's/^hash: //p')\$"
    expect_err '^kexec_file_load failed: Key was rejected by service$'
    expect_call KEXEC_CMD_kexec_file_load -EKEYREJECTED
    expect_no_call KEXEC_CMD_kexec_load
  done
  dom0 "$patched_kexec" -s -l "$unsigned" --initrd="$initrd" --append="$cmdline"
  expect_failure
  expect_err '^Xen kexec_file_load: rejected \(mode enforce'
  # The Authenticode digest leaves the signature out: the same as the signed kernel's.
  expect_err "^Xen kexec_file_load: kernel sha256 $expected_digest\$"
  expect_err '^kexec_file_load failed: No data available$'
  expect_call KEXEC_CMD_kexec_file_load -ENODATA
  # The refused loads left the verified image in place.
  dom0 "$patched_kexec" -S -l
  expect_rc 1
  expect_call KEXEC_CMD_kexec_status 1

  dom0 "$patched_kexec" -s -u
  expect_rc 0
  expect_log '^\(XEN\) kexec: file_load: default image unloaded'
  expect_call KEXEC_CMD_kexec_file_load 0
  dom0 "$patched_kexec" -S -l
  expect_rc 0
  expect_call KEXEC_CMD_kexec_status 0

  dom0 "$patched_kexec" -s "${crash_args[@]}"
  expect_rc 0
  expect_out '^Xen kexec_file_load: trusted \(mode enforce'
  expect_call KEXEC_CMD_kexec_file_load 0
  dom0 "$patched_kexec" -S
  expect_rc 1
  expect_call KEXEC_CMD_kexec_status 1

  # The unpatched binary still has only the unverified op, which Secure Boot refuses.
  dom0 "$debian_kexec" "${legacy_args[@]}"
  expect_failure
  expect_call KEXEC_CMD_kexec_load -EPERM

  # kexec -e of the verified image: Xen re-checks every segment's digest and hands off to the
  # kernel it measured (kexec itself then prints "kexec failed", see legacy_exec; --no-ifdown
  # as there).
  dom0 "$patched_kexec" -s "${legacy_args[@]}"
  expect_rc 0
  expect_call KEXEC_CMD_kexec_file_load 0
  dom0 "$patched_kexec" -e --no-ifdown
  expect_failure
  expect_err 'kexec failed'
  expect_log '^\(XEN\) kexec: reboot: default image .*, all segments match their load digests$'
  expect_call KEXEC_CMD_kexec 0
  expect_log "^\\(XEN\\) hvsig-hypervisor: kexec handoff: default image load #[0-9]+, kernel sha256 $expected_digest, "
  expect_alive
  ;;

*)
  echo "kexectools_test.sh: unknown case $case_name" >&2
  exit 2
  ;;
esac
echo "PASS: $case_name"
