#!/bin/sh
# Runs hvsig-bench (median of 3 repetitions) and prints each provider's rate (builtin-simd,
# builtin-scalar, openssl, gcrypt: whichever the build has) with its ratio to OpenSSL's (> 1
# means faster than OpenSSL).
#   bench/run.sh [path/to/hvsig-bench] [extra Google Benchmark flags...]
set -eu
bench=${1:-"$(dirname "$0")/../build/bin/hvsig-bench"}
[ $# -gt 0 ] && shift
if [ ! -x "$bench" ]; then
  echo "run.sh: $bench not found; build first (cmake --preset default && cmake --build build)" >&2
  exit 2
fi
csv=$(mktemp)
trap 'rm -f "$csv"' EXIT
"$bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_format=csv "$@" >"$csv"

# CSV columns: name,iterations,real_time,cpu_time,time_unit,bytes_per_second,items_per_second,...
# The kernel row (whole verify, when HVSIG_BENCH_KERNEL and HVSIG_BENCH_CA are set) is shown in
# verifications/s; the digest rows in MB/s.
awk -F, '
  $1 ~ /_median"?$/ {
    name = $1; gsub(/"/, "", name); sub(/_median$/, "", name)
    split(name, part, "/"); op = part[1]; provider = part[2]
    if ($9 == "true") { rate[op, provider] = -1 }
    else if ($6 != "" && op != "kernel") { rate[op, provider] = $6 / 1e6; unit[op] = "MB/s" }
    else { rate[op, provider] = $7; unit[op] = "verify/s" }
    if (!(op in seen)) { seen[op] = 1; order[++count] = op }
    if (!(provider in known)) { known[provider] = 1; providers[++nproviders] = provider }
  }
  function show(v) { return v < 0 ? "error" : sprintf("%.1f", v) }
  function ratio(a, b) { return (a <= 0 || b <= 0) ? "-" : sprintf("%.2f", a / b) }
  END {
    printf "%-9s %-9s", "op", "unit"
    for (p = 1; p <= nproviders; p++) printf " %14s", providers[p]
    for (p = 1; p <= nproviders; p++) if (providers[p] != "openssl") printf " %15s", providers[p] "/openssl"
    printf "\n"
    for (i = 1; i <= count; i++) {
      op = order[i]
      printf "%-9s %-9s", op, unit[op]
      for (p = 1; p <= nproviders; p++) printf " %14s", show(rate[op, providers[p]])
      for (p = 1; p <= nproviders; p++) if (providers[p] != "openssl") printf " %15s", ratio(rate[op, providers[p]], rate[op, "openssl"])
      printf "\n"
    }
  }' "$csv"
