#!/bin/sh
# Runs hvsig-bench (median of 3 repetitions) and prints each builtin variant's rate next to
# OpenSSL's, with the builtin/openssl ratio (> 1 means builtin is faster).
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
awk -F, '
  $1 ~ /_median"?$/ {
    name = $1; gsub(/"/, "", name); sub(/_median$/, "", name)
    split(name, part, "/"); op = part[1]; provider = part[2]
    if ($9 == "true") { rate[op, provider] = -1 }
    else if ($6 != "") { rate[op, provider] = $6 / 1e6; unit[op] = "MB/s" }
    else { rate[op, provider] = $7; unit[op] = "verify/s" }
    if (!(op in seen)) { seen[op] = 1; order[++count] = op }
  }
  function show(v) { return v < 0 ? "error" : sprintf("%.1f", v) }
  function ratio(a, b) { return (a <= 0 || b <= 0) ? "-" : sprintf("%.2f", a / b) }
  END {
    printf "%-9s %-9s %14s %14s %14s %13s %15s\n", "op", "unit", "builtin-simd", "builtin-scalar",
           "openssl", "simd/openssl", "scalar/openssl"
    for (i = 1; i <= count; i++) {
      op = order[i]
      s = rate[op, "builtin-simd"]; c = rate[op, "builtin-scalar"]; o = rate[op, "openssl"]
      printf "%-9s %-9s %14s %14s %14s %13s %15s\n", op, unit[op], show(s), show(c), show(o),
             ratio(s, o), ratio(c, o)
    }
  }' "$csv"
