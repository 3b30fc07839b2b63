#!/bin/bash
# Writes Wycheproof-format vector files for combinations shared/ does not ship, signed at test
# time by the openssl CLI, then (second form) runs hvsig-vectors on them.
#
#   make_vectors.sh DIR                          generate DIR/*_test.json
#   make_vectors.sh --check TOOL PROVIDER DIR    exit 0 and "N passed, 0 failed" required
#
# Each file holds openssl's valid signatures over a few messages, and "invalid" ones derived
# from them: one signature byte flipped, one message byte flipped; for ECDSA also the same
# signature with a non-minimal (BER) length; for PSS a signature made with another salt length.
# RSA-8192 is left out: its key generation alone takes 5-60 s.
set -euo pipefail

if [[ ${1:-} == --check ]]; then
  tool=$2 provider=$3 dir=$4
  files=("$dir"/*_test.json)
  [[ -e ${files[0]} ]] || { echo "no vector files in $dir" >&2; exit 1; }
  status=0
  output=$("$tool" --provider "$provider" "${files[@]}") || status=$?
  printf '%s\n' "$output"
  [[ $status -eq 0 ]] || { echo "hvsig-vectors exited with $status" >&2; exit 1; }
  [[ $(tail -n 1 <<<"$output") =~ ^[1-9][0-9]*\ passed,\ 0\ failed$ ]] ||
    { echo "the last line is not \"N passed, 0 failed\"" >&2; exit 1; }
  exit 0
fi

out=$1
work=$(mktemp -d "${out%/}.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
rm -rf "$out.tmp"
mkdir -p "$out.tmp"

hex() { od -An -v -tx1 "$1" | tr -d ' \n'; }
unhex() { local h=$1 escaped=""; for ((i = 0; i < ${#h}; i += 2)); do escaped+="\\x${h:i:2}"; done; printf "$escaped" >"$2"; }
# Flips the low bit of byte `index` (negative: from the end) of a hex string.
flip() {
  local h=$1 index=$2
  ((index < 0)) && index=$((${#h} / 2 + index))
  printf '%s%02x%s' "${h:0:2*index}" $((0x${h:2*index:2} ^ 1)) "${h:2*index+2}"
}

# Messages: empty, short, one byte, and longer than every hash block.
openssl rand -out m2 1
openssl rand -out m3 33
openssl rand -out m4 200
printf 'abc' >m1
: >m0
messages=(m0 m1 m2 m3 m4)

tests="" count=0 id=0
add() {  # result comment msg_hex sig_hex flag
  id=$((id + 1)) count=$((count + 1))
  tests+="${tests:+,}
        {\"tcId\": $id, \"comment\": \"$2\", \"flags\": [\"$5\"], \"msg\": \"$3\", \"sig\": \"$4\", \"result\": \"$1\"}"
}
# Valid signatures, then the same with one signature byte and one message byte changed.
add_signed() {  # msg_file sig_file
  local msg sig
  msg=$(hex "$1") sig=$(hex "$2")
  add valid "signed by openssl" "$msg" "$sig" Valid
  add invalid "signature byte flipped" "$msg" "$(flip "$sig" -1)" ModifiedSignature
  add invalid "signature byte flipped" "$msg" "$(flip "$sig" $((${#sig} / 4)))" ModifiedSignature
  if [[ -z $msg ]]; then
    add invalid "message byte appended" "00" "$sig" ModifiedMessage
  else
    add invalid "message byte flipped" "$(flip "$msg" 0)" "$sig" ModifiedMessage
  fi
}
write() {  # file algorithm schema group_fields
  cat >"$1" <<EOF
{
  "algorithm": "$2",
  "schema": "$3",
  "numberOfTests": $count,
  "header": ["Generated at test time by tests/make_vectors.sh with the openssl CLI."],
  "testGroups": [
    {
      $4,
      "tests": [$tests
      ]
    }
  ]
}
EOF
  tests="" count=0 id=0
}

# ECDSA: P-256 with SHA-384/512 and P-384 with SHA-256.
for combo in "prime256v1 secp256r1 256 sha384 SHA-384" "prime256v1 secp256r1 256 sha512 SHA-512" \
             "secp384r1 secp384r1 384 sha256 SHA-256"; do
  read -r curve name bits md sha <<<"$combo"
  [[ -e ec_$curve.pem ]] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:$curve -out ec_$curve.pem
  openssl pkey -in ec_$curve.pem -pubout -outform DER -out ec_$curve.der
  for m in "${messages[@]}"; do
    openssl dgst -$md -sign ec_$curve.pem -out sig "$m"
    add_signed "$m" sig
    # The same signature with its SEQUENCE length in long form (81 LL): BER, not DER.
    sig=$(hex sig)
    add invalid "BER: non-minimal SEQUENCE length" "$(hex "$m")" "3081${sig:2}" BerEncodedSignature
  done
  write "$out.tmp/ecdsa_${name}_${md}_generated_test.json" ECDSA ecdsa_verify_schema_v1.json \
    "\"type\": \"EcdsaVerify\",
      \"publicKey\": {\"type\": \"EcPublicKey\", \"curve\": \"$name\", \"keySize\": $bits},
      \"publicKeyDer\": \"$(hex ec_$curve.der)\",
      \"sha\": \"$sha\""
done

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out rsa.pem 2>/dev/null
openssl pkey -in rsa.pem -pubout -outform DER -out rsa.der
rsa_fields() {  # type sha
  printf '"type": "%s",\n      "keySize": 3072,\n      "publicKeyDer": "%s",\n      "sha": "%s"' \
    "$1" "$(hex rsa.der)" "$2"
}

# PKCS#1 v1.5 with a key of its own (shared/ has 3072-bit files, with another key).
for md in sha256 sha384 sha512; do
  for m in "${messages[@]}"; do
    openssl dgst -$md -sign rsa.pem -out sig "$m"
    add_signed "$m" sig
  done
  write "$out.tmp/rsa_signature_3072_${md}_generated_test.json" RSASSA-PKCS1-v1_5 \
    rsassa_pkcs1_verify_schema_v1.json "$(rsa_fields RsassaPkcs1Verify "SHA-${md#sha}")"
done

# PSS with SHA-512 and salt lengths 0 and 64, and SHA-256 with 64 (shared/: 32 or 0 only).
for combo in "sha512 0 64" "sha512 64 0" "sha256 64 32"; do
  read -r md salt other <<<"$combo"
  pss=(-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:$salt -sigopt rsa_mgf1_md:$md)
  for m in "${messages[@]}"; do
    openssl dgst -$md -sign rsa.pem "${pss[@]}" -out sig "$m"
    add_signed "$m" sig
    # sLen is given: a signature made with another salt length must not verify.
    openssl dgst -$md -sign rsa.pem -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:$other \
      -sigopt rsa_mgf1_md:$md -out other_sig "$m"
    add invalid "salt length $other instead of $salt" "$(hex "$m")" "$(hex other_sig)" WrongSaltLength
  done
  write "$out.tmp/rsa_pss_3072_${md}_mgf1_${salt}_generated_test.json" RSASSA-PSS \
    rsassa_pss_verify_schema_v1.json "$(rsa_fields RsassaPssVerify "SHA-${md#sha}"),
      \"mgf\": \"MGF1\",
      \"mgfSha\": \"SHA-${md#sha}\",
      \"sLen\": $salt"
done

rm -rf "$out"
mv "$out.tmp" "$out"
