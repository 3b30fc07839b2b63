#!/usr/bin/env bash
# Fetches Debian packages for tests and unpacks them into one extraction root.
#   HVSIG_TEST_CACHE=DIR tests/fetch-debian.sh PACKAGE...
# Downloads each package with `apt-get download` into DIR/debs (once), extracts it with
# `dpkg-deb -x` into DIR/root (once), and prints DIR/root. Idempotent and safe to run
# concurrently (one lock per cache).
set -euo pipefail

cache=${HVSIG_TEST_CACHE:?set HVSIG_TEST_CACHE to the cache directory}
if [ "$#" -eq 0 ]; then
  echo "usage: HVSIG_TEST_CACHE=DIR $0 PACKAGE..." >&2
  exit 2
fi

mkdir -p "$cache/debs" "$cache/root" "$cache/extracted"
exec 9>"$cache/lock"
flock 9

for package in "$@"; do
  marker="$cache/extracted/$package"
  [ -e "$marker" ] && continue
  deb=$(ls "$cache/debs/${package}"_*.deb 2>/dev/null | head -n 1 || true)
  if [ -z "$deb" ]; then
    # apt-get download writes into the current directory; as root, apt drops to the _apt user
    # for the download, which must be able to write there.
    (cd "$cache/debs" && chmod 0777 . && apt-get download -q "$package" >&2)
    deb=$(ls "$cache/debs/${package}"_*.deb | head -n 1)
  fi
  dpkg-deb -x "$deb" "$cache/root"
  touch "$marker"
done

echo "$cache/root"
