#!/usr/bin/env bash
# Proves the core can be linked into a hypervisor: links libhvsig_core_freestanding.a into one
# relocatable object and fails if it
#   - imports anything but mem* and retpoline thunks (which the embedder supplies),
#   - has static constructors (.init_array/.ctors sections),
#   - has any stack frame over the limit, or an unbounded dynamic frame (-fstack-usage output),
#   - has a call chain deeper than MAX_DEPTH_BYTES or any recursion (tests/stack_depth.py over
#     the -fcallgraph-info call graph),
#   - has an address-taken function without ENDBR64 (CET-IBT, tests/freestanding_ibt.py).
# Prints the .text size so growth is visible in every CI log.
# usage: freestanding_check.sh ARCHIVE OBJECT_ROOT [MAX_FRAME_BYTES [MAX_DEPTH_BYTES]]
set -euo pipefail
archive=$1
object_root=$2
max_frame=${3:-4096}
# The worst chain measured is 6008 bytes (-O2, P-384 ECDSA; RSA 5.5 KiB, docs/embedding.md),
# rounded up to 512 bytes: the limit keeps it from growing.
max_depth=${4:-6144}
here=$(cd "$(dirname "$0")" && pwd)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ld -r --whole-archive "$archive" -o "$tmp/core.o"

failed=0
imports=$(nm -u "$tmp/core.o" | awk '{print $2}' | sort -u)
unexpected=$(printf '%s\n' "$imports" | grep -vE '^(memcpy|memmove|memset|memcmp|__x86_indirect_thunk_[a-z0-9]+)?$' || true)
if [ -n "$unexpected" ]; then
  echo "FAIL imports: the core needs symbols an embedder does not provide:"
  printf '  %s\n' $unexpected
  failed=1
fi
echo "imports: $(echo $imports)"

ctor_sections=$(readelf -SW "$tmp/core.o" | grep -oE '\.(init_array|ctors|fini_array|dtors)[^ ]*' | sort -u || true)
if [ -n "$ctor_sections" ]; then
  echo "FAIL static constructors/destructors: $(echo $ctor_sections)"
  failed=1
fi
for section in .eh_frame .gcc_except_table; do
  if readelf -SW "$tmp/core.o" | grep -qF " $section "; then
    echo "FAIL $section present: unwind tables or exceptions crept into the core"
    failed=1
  fi
done

su_files=$(find "$object_root" -path '*_fs.dir/*' -name '*.su' | sort)
if [ -z "$su_files" ]; then
  echo "FAIL no -fstack-usage output found under $object_root"
  failed=1
fi
largest=0
largest_fn=""
while IFS=$'\t' read -r fn bytes kind; do
  [ -n "$fn" ] || continue
  if [ "$kind" = "dynamic" ]; then
    echo "FAIL unbounded dynamic stack frame: $fn"
    failed=1
  fi
  if [ "$bytes" -gt "$max_frame" ]; then
    echo "FAIL stack frame $bytes bytes > $max_frame: $fn"
    failed=1
  fi
  if [ "$bytes" -gt "$largest" ]; then largest=$bytes; largest_fn=$fn; fi
done < <(cat $su_files)
echo "largest stack frame: $largest bytes ($largest_fn)"

python3 "$here/stack_depth.py" "$object_root" "$tmp/core.o" --max "$max_depth" \
  --entry hvsig::policy::Decide --entry hvsig::authenticode::VerifyImage || failed=1
python3 "$here/freestanding_ibt.py" "$tmp/core.o" || failed=1

text=$(size -A "$tmp/core.o" | awk '$1 ~ /^\.text/ {sum += $2} END {print sum + 0}')
rodata=$(size -A "$tmp/core.o" | awk '$1 ~ /^\.rodata/ {sum += $2} END {print sum + 0}')
echo ".text: $text bytes, .rodata: $rodata bytes"

if [ "$failed" -ne 0 ]; then
  echo "freestanding check: FAILED"
  exit 1
fi
echo "freestanding check: passed"
