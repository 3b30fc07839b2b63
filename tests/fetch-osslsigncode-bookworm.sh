#!/usr/bin/env bash
# Fixture for the `hvsig sign pe` tests: Debian bookworm's own osslsigncode (2.5), next to the
# installed one (bookworm-backports has 2.9). The two read the certificate table differently:
# 2.5 reports "Invalid signature" unless dwLength covers the entry's padding.
# Extracts the package into $HVSIG_TEST_CACHE/osslsigncode-bookworm (once) and prints the
# binary's path.
#   HVSIG_TEST_CACHE=DIR tests/fetch-osslsigncode-bookworm.sh
set -euo pipefail

cache=${HVSIG_TEST_CACHE:?set HVSIG_TEST_CACHE to the cache directory}
out="$cache/osslsigncode-bookworm"
mkdir -p "$cache/debs"
exec 9>"$cache/osslsigncode-bookworm.lock"
flock 9

if [ ! -x "$out/usr/bin/osslsigncode" ]; then
  version=$(apt-cache madison osslsigncode |
    awk -F'|' '$3 ~ / bookworm\/main / { gsub(/ /, "", $2); print $2; exit }')
  if [ -z "$version" ]; then
    echo "fetch-osslsigncode-bookworm: apt-cache madison lists no bookworm/main osslsigncode" >&2
    exit 1
  fi
  deb_version=${version//:/%3a}
  if ! ls "$cache/debs/osslsigncode_${deb_version}_"*.deb >/dev/null 2>&1; then
    # As root, apt drops to the _apt user for the download, which must be able to write here.
    (cd "$cache/debs" && chmod 0777 . && apt-get download -q "osslsigncode=$version" >&2)
  fi
  rm -rf "$out.tmp"
  dpkg-deb -x "$(ls "$cache/debs/osslsigncode_${deb_version}_"*.deb | head -n 1)" "$out.tmp"
  rm -rf "$out"
  mv "$out.tmp" "$out"
fi
"$out/usr/bin/osslsigncode" --version >/dev/null
echo "$out/usr/bin/osslsigncode"
