#!/usr/bin/env bash
# The code an embedder links to verify images: the members of the freestanding archive that
# authenticode::VerifyImage and BuiltinProvider pull in (PE, PKCS#7, X.509, DER, RSA, ECDSA,
# SHA-1/2), as the linker picks them (`ld -r -u ...`, no --whole-archive). Fails if their .text
# exceeds MAX_TEXT_BYTES. Built at -Os (preset freestanding-os) this is the size figure of
# docs/embedding.md.
# usage: freestanding_size.sh ARCHIVE [MAX_TEXT_BYTES]
set -euo pipefail
archive=$1
max_text=${2:-131072}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
entries=()
for pattern in '_ZN5hvsig12authenticode11VerifyImageE[A-Za-z0-9_]*' '_ZN5hvsig15BuiltinProviderEv'; do
  symbol=$(nm --defined-only "$archive" 2>/dev/null | grep -oE " T $pattern\$" | awk '{print $2}' | head -n 1)
  if [ -z "$symbol" ]; then
    echo "FAIL $pattern not defined in $archive"
    exit 1
  fi
  entries+=(-u "$symbol")
done
ld -r "${entries[@]}" "$archive" -o "$tmp/verifier.o" -Map="$tmp/map"
members=$(sed -n 's/^[^ ]*\.a(\([^)]*\))$/\1/p' "$tmp/map" |
  sed 's/\.cpp\.o$//' | sort | tr '\n' ' ')
text=$(size -A "$tmp/verifier.o" | awk '$1 ~ /^\.text/ {sum += $2} END {print sum + 0}')
rodata=$(size -A "$tmp/verifier.o" | awk '$1 ~ /^\.rodata/ {sum += $2} END {print sum + 0}')
echo "verifier objects: $members"
echo "verifier .text: $text bytes ($(( (text + 1023) / 1024 )) KiB), .rodata: $rodata bytes, limit $max_text"
if [ "$text" -gt "$max_text" ]; then
  echo "FAIL .text $text bytes > $max_text"
  exit 1
fi
echo "size check: passed"
