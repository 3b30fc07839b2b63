#!/usr/bin/env bash
# Builds Debian's kexec-tools with the RFC's change, 0001-xen-kexec-file-load.patch:
#   contrib/kexec-tools/fetch-build.sh OUT_DIR
# prints the patched binary, OUT_DIR/src/build/sbin/kexec. The source is the installed Debian
# version's (else the candidate's), fetched by `apt-get source` through a private apt
# configuration under OUT_DIR, so the system's sources and lists stay untouched. dpkg-source
# applies Debian's patches, then ours; the build uses Debian's flags (debian/rules) with
# --with-xen. Cached: a second run with the same patch and version only prints the path.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
patch_file="$here/0001-xen-kexec-file-load.patch"
mkdir -p "${1:?usage: fetch-build.sh OUT_DIR}"
out=$(cd "$1" && pwd)
src="$out/src"
kexec="$src/build/sbin/kexec"

version=$(dpkg-query -W -f='${Version}' kexec-tools 2>/dev/null || true)
if [ -z "$version" ]; then
  version=$(apt-cache policy kexec-tools | sed -n 's/^ *Candidate: \([^ ]*\)$/\1/p')
fi
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
  echo "fetch-build: no installed or candidate kexec-tools version to build" >&2
  exit 1
fi
stamp_key="$version $(sha256sum "$patch_file" | cut -d' ' -f1)"

# One build at a time per OUT_DIR (ctest fixtures and the demo may share it).
exec 9>"$out/.lock"
flock 9
if [ -x "$kexec" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp_key" ]; then
  echo "$kexec"
  exit 0
fi
rm -f "$out/stamp"

log="$out/build.log"
: >"$log"
run() {  # run CMD...: output to the log, shown only on failure
  if ! "$@" >>"$log" 2>&1; then
    echo "fetch-build: failed: $*" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
}

# The private apt configuration: Debian's archive as deb-src only.
apt_dir="$out/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
cat >"$apt_dir/sources.list" <<SOURCES
deb-src http://deb.debian.org/debian $codename main
deb-src http://deb.debian.org/debian $codename-updates main
deb-src http://deb.debian.org/debian-security $codename-security main
SOURCES
apt_opts=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache")
# As root apt downloads as _apt, which may not reach OUT_DIR; the files are ours anyway.
[ "$(id -u)" -ne 0 ] || apt_opts+=(-o APT::Sandbox::User=root)

download="$out/download"
if ! ls "$download"/kexec-tools_*.dsc >/dev/null 2>&1 ||
   [ "$(sed -n 's/^Version: //p' "$download"/kexec-tools_*.dsc)" != "$version" ]; then
  echo "fetch-build: fetching the source of kexec-tools $version" >&2
  rm -rf "$download"
  mkdir -p "$download"
  run apt-get "${apt_opts[@]}" update
  (cd "$download" && run apt-get "${apt_opts[@]}" source --download-only "kexec-tools=$version")
fi

echo "fetch-build: building kexec-tools $version with $(basename "$patch_file")" >&2
rm -rf "$src"
run dpkg-source -x "$download"/kexec-tools_*.dsc "$src"
run patch -d "$src" -p1 --batch --forward -i "$patch_file"
cd "$src"
# As debian/rules (dh_autoreconf): regenerate configure and config.h.in, since the patch touches
# configure.ac; then Debian's build flags and paths. Debian's amd64 build has no zlib or liblzma
# (not in its Build-Depends), so neither has this one.
run autoheader --force
run autoconf --force
run env CPPFLAGS="$(dpkg-buildflags --get CPPFLAGS)" CFLAGS="$(dpkg-buildflags --get CFLAGS)" \
  LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" \
  ./configure --prefix=/usr --sbindir=/sbin --mandir=/usr/share/man --datadir=/usr/share \
  --with-xen --without-zlib --without-lzma
run make -j"$(nproc)" build/sbin/kexec
echo "$stamp_key" >"$out/stamp"
echo "$kexec"
