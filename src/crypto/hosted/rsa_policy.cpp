#include "crypto/hosted/rsa_policy.h"

#include <cstring>

namespace hvsig::hosted {
namespace {

// Same bounds as the builtin provider (issue 2: RSA 2048..8192 bits).
constexpr size_t kMinRsaBits = 2048;
constexpr size_t kMaxRsaBits = 8192;

}  // namespace

size_t BitLength(Input normalized) {
  if (normalized.empty()) {
    return 0;
  }
  size_t top_bits = 0;
  for (uint8_t top = normalized[0]; top != 0; top >>= 1) {
    ++top_bits;
  }
  return (normalized.size() - 1) * 8 + top_bits;
}

Input WithoutLeadingZeros(Input value) {
  size_t skip = 0;
  while (skip < value.size() && value[skip] == 0) {
    ++skip;
  }
  return Input(value.data() + skip, value.size() - skip);
}

bool LessThan(Input a, Input b) {
  if (a.size() != b.size()) {
    return a.size() < b.size();
  }
  return std::memcmp(a.data(), b.data(), a.size()) < 0;
}

Result CheckRsaPolicy(const RsaPublicKey& key, NormalizedRsaKey& out) {
  const Input n = WithoutLeadingZeros(key.modulus);
  const Input e = WithoutLeadingZeros(key.exponent);
  if (n.empty()) {
    return Result::CryptoBadKey;
  }
  if (BitLength(n) < kMinRsaBits) {
    return Result::CryptoKeyTooSmall;
  }
  if (BitLength(n) > kMaxRsaBits) {
    return Result::CryptoKeyTooLarge;
  }
  if ((n[n.size() - 1] & 1) == 0) {
    return Result::CryptoBadKey;  // an even modulus is not a product of two odd primes
  }
  if (e.empty() || (e[e.size() - 1] & 1) == 0) {
    return Result::CryptoBadKey;  // an even exponent is never invertible mod lambda(n)
  }
  if (e.size() == 1 && e[0] < 3) {
    return Result::CryptoBadKey;  // e = 1 makes the signature equal to the message
  }
  if (!LessThan(e, n)) {
    return Result::CryptoBadKey;
  }
  out = {n, e};
  return Result::Success;
}

Result CheckRsaVerifyInputs(const RsaPublicKey& key, DigestAlg alg, Input digest, Input signature,
                            NormalizedRsaKey& out) {
  HVSIG_TRY(CheckRsaPolicy(key, out));
  if (DigestLength(alg) == 0) {
    return Result::CryptoUnsupportedAlgorithm;
  }
  if (digest.size() != DigestLength(alg)) {
    return Result::CryptoBadDigestLength;
  }
  if (signature.size() != out.modulus.size()) {
    return Result::CryptoBadSignatureLength;
  }
  if (!LessThan(signature, out.modulus)) {
    return Result::CryptoSignatureOutOfRange;  // same length, so a plain byte compare
  }
  return Result::Success;
}

}  // namespace hvsig::hosted
