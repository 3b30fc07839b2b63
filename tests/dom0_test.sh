#!/usr/bin/env bash
# hvsig-dom0's ctest cases (label dom0). No daemon: where a Xen call is made, it must fail
# to reach one, which shows it took the Xen path.
# usage: dom0_test.sh CASE HVSIG_DOM0 DOM0_PROBE DEFAULT_SOCKET WORK_DIR
set -uo pipefail
case_name=$1 dom0=$2 probe=$3 default_socket=$4 work=$5
lib=$(realpath "$(dirname "$dom0")/../lib")
# A path where no daemon listens.
socket=$work/no-daemon.sock
mkdir -p "$work"
rm -f "$socket"

fail() { echo "FAIL: $*"; exit 1; }

# run NAME CMD...: CMD's stdout+stderr in $work/NAME.out, its exit status in $status.
run() {
  local name=$1; shift
  "$@" >"$work/$name.out" 2>&1
  status=$?
  echo "--- $name: $* -> exit $status"
  cat "$work/$name.out"
}

expect_status() { [[ $status == "$1" ]] || fail "$2: exit $status, want $1"; }
expect_output() {
  ! grep -q 'ASan runtime does not come first' "$work/$1.out" ||
    fail "$1: a library loaded into this program was built with ASan; the ones under lib/ must not be"
  grep -qE -- "$2" "$work/$1.out" || fail "$1: output lacks /$2/"
}
expect_no_output() { ! grep -qE -- "$2" "$work/$1.out" || fail "$1: output has /$2/"; }

# The host syscalls a run made that must never be made from under hvsig-dom0 (strace, if any).
traced() {
  local name=$1; shift
  if ! command -v strace >/dev/null; then
    echo "(strace not installed: the syscall trace check of $name is skipped)"
    run "$name" "$@"
    return
  fi
  # LeakSanitizer cannot run under ptrace (an ASan build of hvsig-dom0).
  ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 run "$name" strace -f -qq -o "$work/$name.trace" -e trace=kexec_load,kexec_file_load,reboot,openat "$@"
  echo "--- $name: kexec/reboot syscalls and kexec files seen by strace:"
  grep -E 'kexec_load|kexec_file_load|reboot\(|/sys/kernel/kexec' "$work/$name.trace" || echo "(none)"
}
expect_no_host_kexec() {
  [[ -f $work/$1.trace ]] || return 0
  ! grep -qE 'kexec_load\(|kexec_file_load\(|reboot\(|/sys/kernel/kexec' "$work/$1.trace" ||
    fail "$1: reached the host's kexec"
}

case $case_name in
probe)
  # Every check passes inside the dom0 environment.
  run probe "$dom0" --socket "$socket" -- "$probe"
  expect_status 0 "the probe under hvsig-dom0"
  expect_output probe '^0 check\(s\) failed$'
  expect_no_output probe '^FAIL'
  ;;

probe_native_fails)
  # The same checks fail on this host without hvsig-dom0: they can fail. The program's own
  # SIGILL handling passes either way, as it must.
  run native "$probe"
  expect_status 1 "the probe without hvsig-dom0"
  for check in access_proc_xen stat_proc_xen_directory statx_proc_xen_directory \
               sys_hypervisor_type_fopen sys_hypervisor_major_open xen_cpuid_probe_kexec_tools \
               xen_cpuid_leaf_2_hypercall_page seccomp_filter_active; do
    expect_output native "^FAIL $check: "
  done
  for check in ud2_reaches_siginfo_handler ud2_reaches_signal_handler ud2_handler_runs_with_its_mask \
               ud2_sa_resethand sigaction_reports_program_handler other_paths_untouched \
               siocgifflags_allowed; do
    expect_output native "^PASS $check$"
  done
  # SIOCSIFFLAGS on an interface that does not exist: with CAP_NET_ADMIN the host answers
  # ENODEV (only the filter gives EPERM); without it the host's own EPERM comes first.
  cap_eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
  if (( (0x$cap_eff >> 12) & 1 )); then
    expect_output native "^FAIL siocsifflags_eperm: rc -1 ENODEV$"
    expect_output native "^FAIL siocsifflags_high_bits_eperm: rc -1 ENODEV$"
  fi
  ;;

environment)
  show='env | grep -E "^(LD_LIBRARY_PATH|LD_PRELOAD|HVSIG_HYPERVISOR_SOCKET)="'
  # An ASan build of hvsig-dom0 itself would refuse to start after a preloaded library.
  run explicit env ASAN_OPTIONS=verify_asan_link_order=0 LD_LIBRARY_PATH=/old/lib LD_PRELOAD=libdl.so.2 \
    "$dom0" --socket "$socket" -- sh -c "$show"
  expect_status 0 "env under hvsig-dom0"
  expect_output explicit "^LD_LIBRARY_PATH=$lib/xen:/old/lib$"
  expect_output explicit "^LD_PRELOAD=$lib/libhvsig-dom0.so:libdl.so.2$"
  expect_output explicit "^HVSIG_HYPERVISOR_SOCKET=$socket$"
  run defaults env -u LD_LIBRARY_PATH -u LD_PRELOAD -u HVSIG_HYPERVISOR_SOCKET "$dom0" -- sh -c "$show"
  expect_status 0 "env under hvsig-dom0 with defaults"
  expect_output defaults "^LD_LIBRARY_PATH=$lib/xen$"
  expect_output defaults "^LD_PRELOAD=$lib/libhvsig-dom0.so$"
  expect_output defaults "^HVSIG_HYPERVISOR_SOCKET=$default_socket$"
  run equals "$dom0" --socket="$work/other.sock" sh -c "$show"
  expect_status 0 "--socket=PATH and a command without --"
  expect_output equals "^HVSIG_HYPERVISOR_SOCKET=$work/other.sock$"
  ;;

exit_status)
  run exit7 "$dom0" --socket "$socket" -- sh -c 'exit 7'
  expect_status 7 "sh exiting 7"
  run terminated "$dom0" --socket "$socket" -- sh -c 'kill -TERM $$'
  expect_status 143 "sh killed by SIGTERM"
  # SIGTERM for hvsig-dom0 (a supervisor stopping it) goes on to the command, which would
  # otherwise be left running.
  rm -f "$work/ready"
  "$dom0" --socket "$socket" -- sh -c "echo \$\$ >'$work/ready.tmp'; mv '$work/ready.tmp' '$work/ready'; exec sleep 600" &
  launcher=$!
  for _ in $(seq 600); do [[ -e $work/ready ]] && break; sleep 0.05; done
  [[ -e $work/ready ]] || fail "the command did not start"
  command_pid=$(cat "$work/ready")
  kill -TERM "$launcher"
  wait "$launcher"
  status=$?
  echo "--- forwarded SIGTERM -> exit $status"
  expect_status 143 "hvsig-dom0 sent SIGTERM"
  ! kill -0 "$command_pid" 2>/dev/null || { kill "$command_pid"; fail "the command outlived hvsig-dom0"; }
  # A SIGILL sent by a process (not a fault) under the default disposition ends it too.
  run sent_sigill "$dom0" --socket "$socket" -- sh -c 'kill -ILL $$'
  expect_status 132 "sh sent SIGILL"
  # A SIGILL the probe does not own goes to the program's disposition: default or ignored,
  # the fault ends it (as natively, which the second pair shows).
  for disposition in default ignore; do
    run "ud2_$disposition" "$dom0" --socket "$socket" -- "$probe" --ud2 "$disposition"
    expect_status 132 "ud2 with SIGILL $disposition under hvsig-dom0"
    expect_no_output "ud2_$disposition" 'survived'
    run "ud2_${disposition}_native" "$probe" --ud2 "$disposition"
    expect_status 132 "ud2 with SIGILL $disposition natively"
  done
  run missing "$dom0" --socket "$socket" -- "$work/no-such-command"
  expect_status 127 "a missing command"
  expect_output missing "^hvsig-dom0: $work/no-such-command: No such file or directory$"
  printf 'not a program\n' >"$work/not-executable"
  chmod 644 "$work/not-executable"
  run not_executable "$dom0" --socket "$socket" -- "$work/not-executable"
  expect_status 127 "a non-executable command"
  ;;

usage)
  for args in "" "--socket" "--bogus -- true" "--" "--socket= -- true" "-x true"; do
    # shellcheck disable=SC2086  # the words are the arguments
    run usage "$dom0" $args
    expect_status 2 "hvsig-dom0 $args"
    expect_output usage '^usage: hvsig-dom0 '
  done
  run help "$dom0" --help
  expect_status 0 "--help"
  expect_output help '^usage: hvsig-dom0 \[--socket PATH\] -- CMD'
  ;;

missing_preload)
  # An install tree without the library: refuse, and do not run the command.
  rm -rf "$work/tree"
  mkdir -p "$work/tree/bin" "$work/tree/lib"
  cp "$dom0" "$work/tree/bin/"
  run missing_preload "$work/tree/bin/hvsig-dom0" --socket "$socket" -- touch "$work/tree/ran"
  expect_status 1 "hvsig-dom0 without its preload library"
  expect_output missing_preload "^hvsig-dom0: preload library $work/tree/lib/libhvsig-dom0.so: No such file or directory"
  [[ ! -e $work/tree/ran ]] || fail "the command ran without the preload library"
  ;;

seccomp_refused)
  # Where the filter cannot be installed, the command must not run.
  rm -f "$work/ran"
  run refused "$probe" --without-seccomp "$dom0" --socket "$socket" -- touch "$work/ran"
  expect_status 1 "hvsig-dom0 unable to install its filter"
  expect_output refused '^hvsig-dom0: seccomp filter: Invalid argument; refusing to run touch'
  [[ ! -e $work/ran ]] || fail "the command ran without the seccomp filter"
  ;;

debian_kexec_status)
  # Debian's kexec -S finds Xen (access("/proc/xen") and the CPUID probe) and asks the
  # hypervisor through libxenctrl -> our libxencall, which finds no daemon. Natively it
  # reads /sys/kernel/kexec_crash_loaded instead and never mentions Xen.
  kexec=$(command -v kexec || echo /sbin/kexec)
  [[ -x $kexec ]] || { echo "kexec-tools is not installed"; exit 77; }
  dpkg-query -W kexec-tools 2>/dev/null || true
  [[ -e $lib/xen/libxencall.so.1 ]] || fail "$lib/xen/libxencall.so.1 is not built (target hvsig_xenlibs)"
  traced status "$dom0" --socket "$socket" -- "$kexec" -S
  [[ $status != 0 ]] || fail "kexec -S succeeded with no hypervisor"
  expect_output status "^hvsig libxencall: error: cannot reach hvsig-hypervisor at $socket: No such file or directory"
  expect_no_host_kexec status
  run native "$kexec" -S
  expect_no_output native 'xencall|hypervisor'
  ;;

debian_kexec_without_preload)
  # A client whose interposition failed takes the native path: the filter answers EPERM.
  kexec=$(command -v kexec || echo /sbin/kexec)
  [[ -x $kexec ]] || { echo "kexec-tools is not installed"; exit 77; }
  traced unload "$dom0" --socket "$socket" -- env -u LD_PRELOAD "$kexec" -u
  [[ $status != 0 ]] || fail "kexec -u succeeded"
  expect_output unload '^kexec unload failed: Operation not permitted$'
  expect_no_output unload 'hvsig libxencall'
  if [[ -f $work/unload.trace ]]; then
    grep -qE 'kexec_load\(.*= -1 EPERM' "$work/unload.trace" || fail "strace shows no kexec_load refused with EPERM"
  fi
  # With the interposition, the same command goes to the hypervisor instead.
  traced unload_xen "$dom0" --socket "$socket" -- "$kexec" -u
  expect_output unload_xen "^hvsig libxencall: error: cannot reach hvsig-hypervisor at $socket"
  expect_no_host_kexec unload_xen
  ;;

*)
  fail "unknown case $case_name"
  ;;
esac
echo "PASS: $case_name"
