#!/usr/bin/env bash
# hvsig verify against the Authenticode peers and `openssl dgst -sha256`, on Debian's signed
# kernel and on signed PEs of 64 MiB, 256 MiB and 1 GiB; then the hypercall file load of the
# kernel end to end (hvsig-kexec -l under hvsig-dom0, answered by hvsig-hypervisor).
#
#   bench/compare.sh [--build DIR] [--no-1g] [--rounds N] [--out FILE.json]
#
#   --build DIR   build tree (default: build); configured (RelWithDebInfo) and built if needed
#   --no-1g       skip the 1 GiB image (its rounds take most of the run's ~4 minutes)
#   --rounds N    hyperfine invocations per input (default 5), see below
#   --out FILE    where the raw export goes (default bench/results/compare-<date>-<commit>.json)
#
# Inputs are made once into DIR/bench-cache (not committed): the kernel through
# tests/fetch-authenticode.sh; the large images by removing the kernel's signature (sbattach
# --remove), appending one section of random data (bench/grow-pe.py) and signing the result with
# sbsign and a throwaway test key made here.
#
# Interleaving: the machine is shared and its speed drifts, so each input is measured in N
# rounds, and every round runs all commands back to back (one hyperfine invocation). A drift
# then hits every command alike. Medians are over all runs of all rounds; the "paired" ratio is
# the median of the per-round ratios. Files are in the page cache (a warm-up run per round):
# the figures are CPU and memory bound, as for a kernel image that was just written or read.
#
# Peak RSS is `/usr/bin/time -v`'s "Maximum resident set size" of one extra run per command.
# Needs: hyperfine, time, sbsigntool, osslsigncode, pesign, openssl, python3 (the missing ones are
# installed with apt-get).
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build
rounds=5
with_1g=1
out=
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$(realpath -m "$2"); shift 2 ;;
    --no-1g) with_1g=0; shift ;;
    --rounds) rounds=$2; shift 2 ;;
    --out) out=$(realpath -m "$2"); shift 2 ;;
    *) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done

say() { printf '%s\n' "$*" >&2; }

# ---- tools ----------------------------------------------------------------------------------
need=()
for pair in hyperfine:hyperfine /usr/bin/time:time sbsign:sbsigntool sbverify:sbsigntool \
            sbattach:sbsigntool osslsigncode:osslsigncode pesign:pesign openssl:openssl \
            python3:python3 cmake:cmake ninja:ninja-build; do
  command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  say "compare: installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${need[@]}" >/dev/null
fi

# ---- build ----------------------------------------------------------------------------------
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
ninja -C "$build" -j "${HVSIG_BENCH_JOBS:-2}" hvsig hvsig-hypervisor hvsig-dom0 hvsig-kexec \
  hvsig_xenlibs >/dev/null
bin=$build/bin

# ---- inputs ---------------------------------------------------------------------------------
cache=$build/bench-cache
mkdir -p "$cache"
authenticode=$(HVSIG_TEST_CACHE=$build/test-cache bash "$src/tests/fetch-authenticode.sh" 2>"$cache/fetch.log")
kernel=$(readlink -f "$authenticode/vmlinuz")
debian_ca_der=$authenticode/debian-uefi-ca.der
debian_ca_pem=$cache/debian-uefi-ca.pem
[ -s "$debian_ca_pem" ] || openssl x509 -inform DER -in "$debian_ca_der" -out "$debian_ca_pem"

if [ ! -s "$cache/test-cert.der" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$cache/test-key.pem" -out "$cache/test-cert.pem" \
    -days 3650 -subj "/CN=hvsig bench test key" 2>/dev/null
  openssl x509 -in "$cache/test-cert.pem" -outform DER -out "$cache/test-cert.der"
fi
unsigned=$cache/vmlinuz.unsigned
if [ ! -s "$unsigned" ]; then
  cp "$kernel" "$unsigned.tmp"
  sbattach --remove "$unsigned.tmp" >/dev/null
  mv "$unsigned.tmp" "$unsigned"
fi
sizes=(64 256)
[ "$with_1g" -eq 0 ] || sizes+=(1024)
for mib in "${sizes[@]}"; do
  image=$cache/signed-${mib}m.efi
  [ -s "$image" ] && continue
  say "compare: making a signed ${mib} MiB PE"
  python3 "$src/bench/grow-pe.py" "$unsigned" "$cache/grown.efi" "$mib"
  sbsign --key "$cache/test-key.pem" --cert "$cache/test-cert.pem" --output "$image.tmp" \
    "$cache/grown.efi" 2>/dev/null
  rm -f "$cache/grown.efi"
  mv "$image.tmp" "$image"
done

# ---- runs -----------------------------------------------------------------------------------
work=$(mktemp -d)
daemons=()
cleanup() {
  for pid in "${daemons[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# measure NAME RUNS LABEL=COMMAND...: N rounds of one hyperfine invocation over all commands,
# then one /usr/bin/time -v run each; writes $work/NAME.json.
measure() {
  local name=$1 runs=$2
  shift 2
  local labels=() commands=() entry round
  for entry in "$@"; do
    labels+=("${entry%%=*}")
    commands+=("${entry#*=}")
  done
  local args=()
  for i in "${!commands[@]}"; do
    # A command that fails would be timed doing something else: check each once first.
    if ! ${commands[$i]} >/dev/null 2>"$work/stderr"; then
      say "compare: ${labels[$i]} fails on $name:"
      cat "$work/stderr" >&2
      exit 1
    fi
    args+=(--command-name "${labels[$i]}" "${commands[$i]}")
  done
  say "compare: $name: $rounds rounds of $runs runs per command"
  for round in $(seq "$rounds"); do
    # Its warnings about outliers are expected on a shared machine: shown only if it fails.
    hyperfine -N --style none --warmup 1 --runs "$runs" --export-json "$work/$name.r$round.json" \
      "${args[@]}" >/dev/null 2>"$work/stderr" || { cat "$work/stderr" >&2; exit 1; }
  done
  for i in "${!commands[@]}"; do
    /usr/bin/time -v ${commands[$i]} 2>&1 >/dev/null |
      sed -n "s/^.*Maximum resident set size (kbytes): /${labels[$i]} /p"
  done >"$work/$name.rss"
}

inputs=(kernel)
measure kernel 10 \
  "hvsig verify=$bin/hvsig verify --cert $debian_ca_der $kernel" \
  "sbverify=sbverify --cert $debian_ca_pem $kernel" \
  "osslsigncode verify=osslsigncode verify -in $kernel -CAfile $debian_ca_pem" \
  "pesign -h=pesign -h -i $kernel" \
  "openssl dgst=openssl dgst -sha256 $kernel"
for mib in "${sizes[@]}"; do
  image=$cache/signed-${mib}m.efi
  runs=$((mib >= 1024 ? 2 : mib >= 256 ? 3 : 5))
  inputs+=("${mib}m")
  measure "${mib}m" "$runs" \
    "hvsig verify=$bin/hvsig verify --cert $cache/test-cert.der $image" \
    "sbverify=sbverify --cert $cache/test-cert.pem $image" \
    "osslsigncode verify=osslsigncode verify -in $image -CAfile $cache/test-cert.pem" \
    "pesign -h=pesign -h -i $image" \
    "openssl dgst=openssl dgst -sha256 $image"
done

# The hypercall file load: one daemon per provider. builtin-scalar never touches vector
# registers, as in a Xen that has not saved the guest's vector state.
for provider in builtin builtin-scalar; do
  socket=$work/hv-$provider.sock
  "$bin/hvsig-hypervisor" --socket "$socket" --provider "$provider" --secure-boot on \
    --db "$debian_ca_der" --log "$work/hv-$provider.log" >/dev/null 2>&1 &
  daemons+=($!)
  for _ in $(seq 100); do
    [ -S "$socket" ] && break
    sleep 0.05
  done
  [ -S "$socket" ] || { say "compare: hvsig-hypervisor did not start"; cat "$work/hv-$provider.log" >&2; exit 1; }
done
inputs+=(file-load)
measure file-load 10 \
  "hvsig-kexec -l (builtin)=$bin/hvsig-dom0 --socket $work/hv-builtin.sock -- $bin/hvsig-kexec -l $kernel" \
  "hvsig-kexec -l (builtin-scalar)=$bin/hvsig-dom0 --socket $work/hv-builtin-scalar.sock -- $bin/hvsig-kexec -l $kernel"

# ---- report ---------------------------------------------------------------------------------
commit=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$src" diff --quiet HEAD -- src include bench 2>/dev/null || commit="$commit+local changes"
[ -n "$out" ] || out=$src/bench/results/compare-$(date -u +%Y%m%d)-${commit%%+*}.json
mkdir -p "$(dirname "$out")"
machine_model=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
machine_flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'sha_ni|adx|bmi2|avx2|avx512f' | tr '\n' ' ')
versions=$(dpkg-query -W -f='${Package} ${Version}; ' hyperfine sbsigntool osslsigncode pesign openssl 2>/dev/null)

python3 - "$work" "$out" "$commit" "$machine_model" "$machine_flags" "$(nproc)" "$versions" \
  "$(stat -c %s "$kernel")" "${inputs[@]}" <<'PYTHON'
import json, os, statistics, sys

work, out, commit, model, flags, cpus, versions, kernel_size, *inputs = sys.argv[1:]
PEERS = ("sbverify", "osslsigncode verify", "pesign -h")
report = {"commit": commit, "cpu": model, "cpu_flags": flags.split(), "cpus": int(cpus),
          "versions": versions.strip("; "), "inputs": {}}


print(f"machine: {model}, {cpus} CPUs, flags {flags.strip()}; commit {commit}")
print(f"peers: {report['versions']}")


def median_ms(values):
    return statistics.median(values) * 1e3


for name in inputs:
    rounds = []
    r = 1
    while os.path.exists(f"{work}/{name}.r{r}.json"):
        rounds.append(json.load(open(f"{work}/{name}.r{r}.json")))
        r += 1
    rss = {}
    for line in open(f"{work}/{name}.rss"):
        label, kib = line.rsplit(" ", 1)
        rss[label] = int(kib)
    report["inputs"][name] = {"rounds": rounds, "peak_rss_kib": rss}

    labels = [result["command"] for result in rounds[0]["results"]]
    times = {label: [] for label in labels}
    per_round = []
    for hyperfine in rounds:
        medians = {}
        for result in hyperfine["results"]:
            times[result["command"]] += result["times"]
            medians[result["command"]] = statistics.median(result["times"])
        per_round.append(medians)
    title = {"kernel": f"Debian kernel ({int(kernel_size) / 1e6:.1f} MB)",
             "file-load": "hypercall file load of the Debian kernel (hvsig-dom0 + hvsig-kexec -l -> hvsig-hypervisor)"}
    print(f"\n{title.get(name, name.replace('m', ' MiB signed PE'))}: "
          f"{len(rounds)} rounds x {len(rounds[0]['results'][0]['times'])} runs")
    print(f"  {'command':34} {'median ms':>10} {'min ms':>8} {'peak RSS MiB':>13}")
    for label in labels:
        print(f"  {label:34} {median_ms(times[label]):10.1f} {min(times[label]) * 1e3:8.1f} "
              f"{rss.get(label, 0) / 1024:13.1f}")
    if "hvsig verify" in times:
        hvsig = median_ms(times["hvsig verify"])
        dgst = median_ms(times["openssl dgst"])
        best = min(PEERS, key=lambda p: median_ms(times[p]))
        paired = statistics.median(m["hvsig verify"] / m["openssl dgst"] for m in per_round)
        paired_peer = statistics.median(m["hvsig verify"] / m[best] for m in per_round)
        print(f"  hvsig / openssl dgst: {hvsig / dgst:.2f} (paired per round: {paired:.2f})")
        print(f"  hvsig / best peer ({best}): {hvsig / median_ms(times[best]):.2f} "
              f"(paired: {paired_peer:.2f}; {median_ms(times[best]) / hvsig:.2f}x faster)")

json.dump(report, open(out, "w"), indent=1)
print(f"\nraw hyperfine export: {out}")
PYTHON
