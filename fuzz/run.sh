#!/usr/bin/env bash
# Builds the libFuzzer targets (preset fuzz) and runs each for SECONDS_PER_TARGET, one after the
# other, on a copy of its seed corpus in build-fuzz/run/. The big seeds derived from the test
# cache (Debian's kernel, OVMF's variable stores) are replayed whole first; the fuzzing itself
# keeps inputs under -max_len (128 KiB: an 8 MiB kernel per mutation would mean ~20 exec/s).
# Prints, per target, the executions, the coverage of the final stats line and the crashes
# (crash/leak/timeout/oom artifacts); exits nonzero if any target found one or failed to run.
# usage: fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 60 s, every target)
#   HVSIG_TEST_CACHE   where the test cache is (default build/test-cache)
#   HVSIG_FUZZ_BIG_SEEDS=0   do not add the runtime-derived big seeds
#   HVSIG_FUZZ_ARGS    extra libFuzzer flags (e.g. -runs=10000000 instead of a time budget)
#   HVSIG_FUZZ_WORK    the run directory (default build-fuzz/run; give each concurrent run its own)
#   HVSIG_FUZZ_NO_BUILD=1   use the targets already built (a concurrent run is building them)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
[ $# -gt 0 ] && shift
all_targets=(der x509 pkcs7 pe verify esl livepatch_elf livepatch_sig bzimage kexec_op livepatch_op)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}

if [ "${HVSIG_FUZZ_NO_BUILD:-0}" != 1 ]; then
  bash fuzz/setup.sh
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j "$(nproc)"
fi

work=${HVSIG_FUZZ_WORK:-build-fuzz/run}
rm -rf "$work"
mkdir -p "$work"
if [ "${HVSIG_FUZZ_BIG_SEEDS:-1}" != 0 ]; then
  python3 fuzz/make-corpus.py --runtime "${HVSIG_TEST_CACHE:-build/test-cache}" "$work/big-seeds"
fi

dictionary() {
  case "$1" in
    der|x509|pkcs7) echo "-dict=fuzz/dict/der.dict" ;;
    pe|verify) echo "-dict=fuzz/dict/pe.dict" ;;
  esac
}

status=0
rows=()
for t in "${targets[@]}"; do
  corpus=$work/corpus/$t
  artifacts=$work/artifacts/$t
  log=$work/$t.log
  mkdir -p "$corpus" "$artifacts"
  cp fuzz/corpus/"$t"/* "$corpus"/
  big=0
  rc=0
  set +e
  if [ -d "$work/big-seeds/$t" ]; then
    big=$(find "$work/big-seeds/$t" -type f | wc -l)
    build-fuzz/fuzz/"${t}"_fuzz -runs=0 -timeout=60 -rss_limit_mb=2048 \
      -artifact_prefix="$artifacts/" "$work/big-seeds/$t" >"$work/$t.big-seeds.log" 2>&1
    rc=$?
    # The ones within -max_len (OVMF's 128 KiB stores) are mutated too.
    find "$work/big-seeds/$t" -type f -size -131073c -exec cp {} "$corpus"/ \;
  fi
  if [ "$rc" -eq 0 ]; then
    # shellcheck disable=SC2046,SC2086
    build-fuzz/fuzz/"${t}"_fuzz -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
      -max_len=131072 -print_final_stats=1 -artifact_prefix="$artifacts/" $(dictionary "$t") \
      ${HVSIG_FUZZ_ARGS:-} "$corpus" >"$log" 2>&1
    rc=$?
  fi
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  coverage=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)
  found=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  rows+=("$(printf '%-14s %12s  %-22s %7s  %9s  %s' "$t" "${execs:-?}" "${coverage:-?}" "$found" "$big" "$rc")")
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    status=1
    echo "fuzz: $t: exit $rc, $found finding(s); log $log, artifacts $artifacts" >&2
    grep -E 'ERROR|SUMMARY|==[0-9]+==' "$log" | head -20 >&2 || true
  fi
done

printf '%-14s %12s  %-22s %7s  %9s  %s\n' target executions coverage crashes big-seeds exit
printf '%s\n' "${rows[@]}"
exit $status
