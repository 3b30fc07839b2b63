#!/usr/bin/env bash
# Reproduces every number in docs/crypto-options.md in one run: the RFC's two crypto options
# (in-tree "builtin" crypto, libgcrypt) and OpenSSL for reference.
#
#   bench/crypto-options.sh [BUILD_ROOT]        (default: build-crypto-options)
#
# Builds three trees under BUILD_ROOT, one per -DHVSIG_CRYPTO=builtin|gcrypt|openssl (only the
# targets measured; the first run compiles them, later runs are no-ops), then prints:
#   1. .text sizes: the core, each provider (ours, and the library it imports, both as whole
#      shared objects and as the static-link closure of the provider table), and the linked
#      hypervisor model (hvsig-model-demo, which links only HVSIG_CRYPTO's provider)
#   2. external dependencies, their Debian versions and licences (dpkg-query, copyright files)
#   3. freestanding suitability: `nm -u` of each provider and of the libraries it needs
#   4. speed and heap use: hvsig-bench with every provider (median of 3), including the whole
#      verify of Debian's signed kernel (fetched by tests/fetch-authenticode.sh)
#   5. lines of code we own, and of the imported libraries' sources (`apt-get source
#      --download-only` through a private apt configuration with deb-src entries, as
#      contrib/kexec-tools/fetch-build.sh does; cached in BUILD_ROOT/sources; if that fails, the
#      installed shared objects' sizes are printed instead and the output says so)
# After the first build the run takes about a minute (the benchmarks ~40 s).
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
root=${1:-$src/build-crypto-options}
options=(builtin gcrypt openssl)
libdir=$(dirname "$(gcc -print-file-name=libc.so.6)")
mkdir -p "$root"

say() { printf '%s\n' "$*"; }
section() { printf '\n## %s\n\n' "$*"; }
text_bytes() {  # sum of .text* sections of the given objects, archives or binaries
  size -A "$@" 2>/dev/null | awk '$1 ~ /^\.text/ {sum += $2} END {print sum + 0}'
}
lib_path() {  # the file behind a soname, e.g. libgcrypt.so.20
  readlink -f "$libdir/$1" 2>/dev/null || readlink -f "/lib/x86_64-linux-gnu/$1"
}

# ---- builds ------------------------------------------------------------------------------------
for option in "${options[@]}"; do
  tree="$root/$option"
  extra=(-DHVSIG_BUILD_BENCH=OFF -DHVSIG_BUILD_FREESTANDING=OFF)
  targets=(hvsig-model-demo)
  if [ "$option" = builtin ]; then
    # The reference tree also has the freestanding core, every provider and the benchmark.
    extra=(-DHVSIG_BUILD_BENCH=ON -DHVSIG_BUILD_FREESTANDING=ON)
    targets+=(hvsig_core_freestanding hvsig_crypto_gcrypt hvsig_crypto_openssl hvsig_crypto_hosted
              hvsig_builtin hvsig_common hvsig_der hvsig-bench)
  fi
  if [ ! -f "$tree/build.ninja" ]; then
    cmake -S "$src" -B "$tree" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHVSIG_CRYPTO="$option" \
      -DHVSIG_BUILD_TESTS=OFF "${extra[@]}" >"$root/configure-$option.log"
  fi
  ninja -C "$tree" -j2 "${targets[@]}" >"$root/build-$option.log"
done
ref="$root/builtin"

say "# hvsig crypto options: measurements ($(date -u +%Y-%m-%d), $(uname -m), $(gcc -dumpfullversion))"

# ---- 1. sizes ---------------------------------------------------------------------------------
section "1. .text bytes"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fs_objects() { find "$ref" -path '*_fs.dir/*' -name '*.o' | sort; }
builtin_fs=$(fs_objects | grep '/src/crypto/builtin/' || true)
core_fs=$(fs_objects | grep -v '/src/crypto/builtin/' || true)
# shellcheck disable=SC2086
ld -r -o "$tmp/core-fs.o" $core_fs
# shellcheck disable=SC2086
ld -r -o "$tmp/builtin-fs.o" $builtin_fs
say "core (parsers, Authenticode, policy; freestanding build, Xen flags):   $(text_bytes "$tmp/core-fs.o")"
say "builtin provider, freestanding build (Xen flags, no SIMD):             $(text_bytes "$tmp/builtin-fs.o")"
say "builtin provider, hosted build (-O2, with the SHA-NI path):            $(text_bytes "$ref"/src/crypto/builtin/libhvsig_builtin*.a)"
glue_gcrypt=$(text_bytes "$ref/src/crypto/gcrypt/libhvsig_crypto_gcrypt.a" "$ref/src/crypto/hosted/libhvsig_crypto_hosted.a")
glue_openssl=$(text_bytes "$ref/src/crypto/openssl/libhvsig_crypto_openssl.a" "$ref/src/crypto/hosted/libhvsig_crypto_hosted.a")
say "gcrypt provider, our glue (gcrypt_provider.cpp + hosted RSA checks):   $glue_gcrypt"
say "openssl provider, our glue (openssl_provider.cpp + hosted RSA checks): $glue_openssl"
gcrypt_so=$(lib_path libgcrypt.so.20)
gpgerror_so=$(lib_path libgpg-error.so.0)
crypto_so=$(lib_path libcrypto.so.3)
say "libgcrypt.so.20 + libgpg-error.so.0, whole:  $(text_bytes "$gcrypt_so") + $(text_bytes "$gpgerror_so")"
say "libcrypto.so.3, whole:                       $(text_bytes "$crypto_so")"

# The static-link closure: a program that takes the provider table's address (so every entry
# point and everything it reaches is kept), linked -static with --gc-sections, minus the same
# program without a provider (the C and C++ runtime).
closure() {  # closure NAME HEADER FUNCTION LIBS...
  local name=$1 header=$2 function=$3
  shift 3
  cat >"$tmp/$name.cpp" <<EOF
#include "$header"
int main() {
  const hvsig::CryptoProvider* volatile table = &hvsig::$function();
  return table->name[0] == 0;
}
EOF
  g++ -std=c++20 -O2 -ffunction-sections -fdata-sections -I"$src/include" -c "$tmp/$name.cpp" -o "$tmp/$name.o"
  g++ -static -Wl,--gc-sections -o "$tmp/$name" "$tmp/$name.o" "$@" 2>/dev/null
  echo $(($(text_bytes "$tmp/$name") - $(text_bytes "$tmp/baseline")))
}
printf 'int main() { return 0; }\n' >"$tmp/baseline.cpp"
g++ -static -O2 -o "$tmp/baseline" "$tmp/baseline.cpp"
arch() { echo "$ref/src/$1"; }
closure_builtin=$(closure builtin hvsig/crypto_builtin.h BuiltinProvider \
  "$(arch crypto/builtin/libhvsig_builtin.a)" "$(arch crypto/builtin/libhvsig_builtin_ec.a)" \
  "$(arch crypto/builtin/libhvsig_builtin_rsa.a)" "$(arch crypto/builtin/libhvsig_builtin_hash.a)" \
  "$(arch core/der/libhvsig_der.a)" "$(arch core/libhvsig_common.a)")
closure_gcrypt=$(closure gcrypt hvsig/crypto_gcrypt.h GcryptProvider \
  "$(arch crypto/gcrypt/libhvsig_crypto_gcrypt.a)" "$(arch crypto/hosted/libhvsig_crypto_hosted.a)" \
  "$(arch core/der/libhvsig_der.a)" "$(arch core/libhvsig_common.a)" -lgcrypt -lgpg-error)
closure_openssl=$(closure openssl hvsig/crypto_openssl.h OpenSslProvider \
  "$(arch crypto/openssl/libhvsig_crypto_openssl.a)" "$(arch crypto/hosted/libhvsig_crypto_hosted.a)" \
  "$(arch core/libhvsig_common.a)" -lcrypto -lpthread -ldl)
say "static-link closure of the provider (hosted, -static --gc-sections, minus libc/libstdc++ baseline):"
say "  builtin $closure_builtin   gcrypt $closure_gcrypt   openssl $closure_openssl"

say ""
say "hypervisor model (hvsig-model-demo, linked with HVSIG_CRYPTO's provider only):"
base_needed=$(readelf -d "$ref/bin/hvsig-model-demo" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort)
for option in "${options[@]}"; do
  binary="$root/$option/bin/hvsig-model-demo"
  needed=$(readelf -d "$binary" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort)
  added=$(comm -13 <(printf '%s\n' "$base_needed") <(printf '%s\n' "$needed") | tr '\n' ' ')
  added_text=0
  for soname in $added; do added_text=$((added_text + $(text_bytes "$(lib_path "$soname")"))); done
  say "  HVSIG_CRYPTO=$option: binary $(text_bytes "$binary"), extra shared objects [${added:-none}] $added_text"
done

# ---- 2. dependencies --------------------------------------------------------------------------
section "2. external dependencies (Debian packages) and licences"
for package in libgcrypt20 libgpg-error0 libssl3; do
  version=$(dpkg-query -W -f='${Version}' "$package" 2>/dev/null || echo "not installed")
  licences=$(grep -hE '^License( \(library\))?:' "/usr/share/doc/$package/copyright" 2>/dev/null |
    sed 's/^License[^:]*: *//' | grep -v '^$' | sort -u | tr '\n' ';' | sed 's/;$//; s/;/; /g')
  say "$package $version: ${licences:-see /usr/share/doc/$package/copyright}"
done
say "builtin: none (in tree, the project's licence)"

# ---- 3. freestanding suitability ----------------------------------------------------------------
section "3. undefined symbols (nm -u): what an embedder must provide"
say "builtin (freestanding objects; hvsig::der is the core's DER reader): $(nm -u -C "$tmp/builtin-fs.o" | sed 's/^ *U //; s/(.*//' | sort -u | tr '\n' ' ')"
glue_imports() {
  nm -u -C "$1" | awk '{ $1 = ""; sub(/^ /, ""); print }' | sort -u
}
for glue in gcrypt openssl; do
  imports=$(glue_imports "$ref/src/crypto/$glue/libhvsig_crypto_$glue.a")
  library=$(printf '%s\n' "$imports" | grep -cE '^(gcry_|gpg_|EVP_|OSSL_|BN_|ERR_|EC_|ASN1_|d2i_|i2d_|CRYPTO_)' || true)
  runtime=$(printf '%s\n' "$imports" | grep -v '^$' | grep -vE '^(gcry_|gpg_|EVP_|OSSL_|BN_|ERR_|EC_|ASN1_|d2i_|i2d_|CRYPTO_|hvsig::)' | tr '\n' ',' | sed 's/,$//')
  say "$glue provider glue: $library library functions; C/C++ runtime: $runtime"
done
notable='^(malloc|calloc|realloc|free|posix_memalign|pthread_[a-z_]*|open|open64|read|close|getentropy|getrandom|syslog|__syslog_chk|mlock|mmap|munmap|sysconf|fopen|fopen64|getenv|secure_getenv|getpid|getuid|geteuid|setuid|gettimeofday|clock_gettime|time|dlopen|dlsym|select|fstat|stat|stat64|access|signal|sigaction|abort|write)$'
for so in "$gcrypt_so" "$gpgerror_so" "$crypto_so"; do
  imports=$(nm -D --undefined-only "$so" | awk '{print $2}' | sed 's/@.*//' | grep -vE '^(_ITM_|__gmon_start__|__cxa_finalize)' | sort -u)
  say "$(basename "$so"): $(printf '%s\n' "$imports" | wc -l) imports; among them: $(printf '%s\n' "$imports" | grep -E "$notable" | tr '\n' ' ')"
done

# ---- 4. speed -----------------------------------------------------------------------------------
section "4. speed and heap (hvsig-bench, median of 3; kernel = whole verify of Debian's kernel)"
cache="$ref/test-cache"
if [ -z "${HVSIG_BENCH_KERNEL:-}" ]; then
  authenticode=$(HVSIG_TEST_CACHE="$cache" bash "$src/tests/fetch-authenticode.sh" 2>"$root/fetch.log")
  export HVSIG_BENCH_KERNEL="$authenticode/vmlinuz" HVSIG_BENCH_CA="$authenticode/debian-uefi-ca.der"
fi
say "kernel: $(basename "$(readlink -f "$HVSIG_BENCH_KERNEL")"), $(stat -L -c %s "$HVSIG_BENCH_KERNEL") bytes"
csv="$tmp/bench.csv"
"$ref/bin/hvsig-bench" --benchmark_min_time=0.2 --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true --benchmark_format=csv >"$csv" 2>"$root/bench.log"
# The same table bench/run.sh prints, from this run's CSV.
awk -F, -v OFS=' ' '
  $1 ~ /_median"?$/ {
    name = $1; gsub(/"/, "", name); sub(/_median$/, "", name)
    split(name, part, "/"); op = part[1]; provider = part[2]
    if ($6 != "" && op != "kernel") value = sprintf("%.1f MB/s", $6 / 1e6); else value = sprintf("%.1f /s", $7)
    row[op] = row[op] sprintf("  %s %s", provider, value)
    if (!(op in seen)) { seen[op] = 1; order[++count] = op }
  }
  END { for (i = 1; i <= count; i++) print order[i] ":" row[order[i]] }' "$csv"
say "heap per operation (the second call; allocations, peak bytes):"
header=$(grep -m1 '^name,' "$csv")
awk -F, -v header="$header" '
  BEGIN { n = split(header, h, ","); for (i = 1; i <= n; i++) { gsub(/"/, "", h[i]); col[h[i]] = i } }
  $1 ~ /_median"?$/ {
    name = $1; gsub(/"|_median/, "", name); split(name, part, "/")
    row[part[1]] = row[part[1]] sprintf("  %s %d/%d", part[2], $col["heap_allocations"], $col["heap_peak_bytes"])
    if (!(part[1] in seen)) { seen[part[1]] = 1; order[++count] = part[1] }
  }
  END { for (i = 1; i <= count; i++) print order[i] ":" row[order[i]] }' "$csv"

# ---- 5. lines of code -----------------------------------------------------------------------
section "5. lines of code (wc -l)"
count_lines() { cat "$@" | wc -l; }
say "ours: core $(count_lines $(find "$src/src/core" "$src/include/hvsig" -name '*.cpp' -o -name '*.h' -o -name '*.inc' | sort))," \
    "builtin crypto $(count_lines "$src"/src/crypto/builtin/*.cpp "$src"/src/crypto/builtin/*.h)," \
    "gcrypt glue $(count_lines "$src"/src/crypto/gcrypt/*.cpp "$src"/src/crypto/hosted/*.cpp "$src"/src/crypto/hosted/*.h "$src"/include/hvsig/crypto_gcrypt.h)," \
    "openssl glue $(count_lines "$src"/src/crypto/openssl/*.cpp "$src"/src/crypto/hosted/*.cpp "$src"/src/crypto/hosted/*.h "$src"/include/hvsig/crypto_openssl.h)"

# Debian's source packages through a private apt configuration (deb-src only), cached.
fetch_sources() {
  local apt_dir="$root/sources/apt" codename
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$root/sources/download"
  cat >"$apt_dir/sources.list" <<SOURCES
deb-src http://deb.debian.org/debian $codename main
deb-src http://deb.debian.org/debian $codename-updates main
deb-src http://deb.debian.org/debian-security $codename-security main
SOURCES
  local apt_opts=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache")
  [ "$(id -u)" -ne 0 ] || apt_opts+=(-o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" -qq update >/dev/null 2>&1 || return 1
  local package version
  for package in libgcrypt20 libgpg-error openssl; do
    # The installed binary package's source version.
    case $package in
      libgcrypt20) version=$(dpkg-query -W -f='${source:Version}' libgcrypt20) ;;
      libgpg-error) version=$(dpkg-query -W -f='${source:Version}' libgpg-error0) ;;
      openssl) version=$(dpkg-query -W -f='${source:Version}' libssl3) ;;
    esac
    ls "$root/sources/download/${package}_"*.orig.tar.* >/dev/null 2>&1 && continue
    # The archive may have moved past the installed version: then the newest one is counted
    # (the tarball's name in the output says which).
    # Only the upstream tarball is counted, so a missing Debian part (a 404 on a superseded
    # security upload's .dsc) does not matter.
    (cd "$root/sources/download" &&
      { apt-get "${apt_opts[@]}" -qq source --download-only "$package=$version" >/dev/null 2>&1 ||
        apt-get "${apt_opts[@]}" -qq source --download-only "$package" >/dev/null 2>&1; }) || true
    ls "$root/sources/download/${package}_"*.orig.tar.* >/dev/null 2>&1 || return 1
  done
}
# C, headers and assembly (OpenSSL's assembly is Perl that generates it: *.pl counted too).
source_lines() {
  tar -xOf "$1" --wildcards '*.c' '*.h' '*.S' '*.s' '*.asm' '*.pl' 2>/dev/null | wc -l
}
if fetch_sources; then
  for package in libgcrypt20 libgpg-error openssl; do
    tarball=$(ls "$root/sources/download/${package}_"*.orig.tar.* | grep -v '\.asc$' | head -n 1)
    say "imported (apt-get source, upstream tarball $(basename "$tarball")): $(source_lines "$tarball") lines of *.c *.h *.S *.s *.asm *.pl"
  done
else
  say "imported: apt-get source failed (no network?); installed shared object sizes instead:"
  for so in "$gcrypt_so" "$gpgerror_so" "$crypto_so"; do say "  $(basename "$so") $(stat -c %s "$so") bytes"; done
fi
