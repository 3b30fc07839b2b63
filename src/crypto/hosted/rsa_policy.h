// The builtin provider's RSA acceptance policy, for the providers backed by a library (OpenSSL,
// libgcrypt). The libraries accept more (any key size or exponent, signatures shorter than the
// modulus), so these checks run first, with the builtin provider's Results and in its order,
// and the library only does the arithmetic. Hosted only.
#pragma once

#include "hvsig/crypto.h"

namespace hvsig::hosted {

// Big-endian magnitudes without leading zero octets.
struct NormalizedRsaKey {
  Input modulus;
  Input exponent;
};

Input WithoutLeadingZeros(Input value);

// Bits in a normalized magnitude (0 for the empty one).
size_t BitLength(Input normalized);

// a < b for normalized big-endian magnitudes.
bool LessThan(Input a, Input b);

// Key size 2048..8192 bits, odd modulus, odd exponent in [3, n).
Result CheckRsaPolicy(const RsaPublicKey& key, NormalizedRsaKey& out);

// Everything the builtin provider rejects before the RSA operation: the key, an algorithm without
// a digest length, a digest of the wrong length, a signature not exactly as long as the modulus
// or not below it.
Result CheckRsaVerifyInputs(const RsaPublicKey& key, DigestAlg alg, Input digest, Input signature,
                            NormalizedRsaKey& out);

}  // namespace hvsig::hosted
