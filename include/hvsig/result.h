// One error enum for the whole core, in the style of mozilla::pkix's Result: every rejection
// has its own name so a log line says which check failed.
#pragma once

#include <stdint.h>

namespace hvsig {

enum class Result : uint16_t {
  Success = 0,

  // Input / generic
  InputTooLong,          // an input exceeds a fixed bound of the core
  BufferTooSmall,        // caller-provided storage cannot hold the result
  InvalidArgument,       // API misuse by the embedder

  // DER (src/core/der)
  DerTruncated,            // element header or contents run past the end of the input
  DerHighTagNumber,        // tag number >= 31 (multi-byte tag form) is not accepted
  DerIndefiniteLength,     // 0x80 length form is BER only
  DerNonMinimalLength,     // long form used where short form fits, or leading zero length byte
  DerLengthTooLarge,       // length does not fit the bounds of the reader (more than 4 length bytes)
  DerLengthExceedsParent,  // element extends past its enclosing element
  DerTrailingData,         // bytes left after the last expected element
  DerTooDeep,              // nesting depth limit exceeded
  DerUnexpectedTag,        // a different tag than the one the grammar requires
  DerBadInteger,           // empty or non-minimally encoded INTEGER
  DerNegativeInteger,      // negative where the grammar requires non-negative
  DerIntegerTooLarge,      // INTEGER larger than the caller's bound
  DerBadBoolean,           // BOOLEAN not exactly 0x00 or 0xFF, or DEFAULT FALSE encoded
  DerBadNull,              // NULL with contents
  DerBadBitString,         // BIT STRING with bad unused-bits count or non-zero padding bits
  DerBadOid,               // empty OID, non-minimal sub-identifier, truncated sub-identifier
  DerBadTime,              // malformed UTCTime / GeneralizedTime
  DerBadString,            // a string type whose contents are invalid for its type

  // X.509 (src/core/x509)
  CertBadVersion,
  CertBadSerial,                    // empty, negative or over 20 octets (RFC 5280 4.1.2.2)
  CertSignatureAlgorithmMismatch,   // tbs.signature != outer signatureAlgorithm
  CertUnsupportedSignatureAlgorithm,
  CertBadName,
  CertBadValidity,
  CertUnsupportedKeyAlgorithm,
  CertUnsupportedCurve,
  CertBadRsaKey,
  CertBadEcPoint,                   // not an uncompressed point on the named curve
  CertBadExtensions,
  CertDuplicateExtension,
  CertBadBasicConstraints,
  CertBadKeyUsage,
  CertBadExtKeyUsage,
  CertBadKeyIdentifier,
  CertTooManyExtKeyUsages,

  // Crypto providers (src/crypto)
  CryptoUnsupportedAlgorithm,   // digest/curve/padding the provider does not implement
  CryptoBadKey,                 // public key fails validation (even/zero modulus, bad exponent, ...)
  CryptoKeyTooSmall,
  CryptoKeyTooLarge,
  CryptoBadSignatureLength,     // signature length differs from the modulus length
  CryptoBadSignatureEncoding,   // ECDSA (r,s) not strict DER
  CryptoSignatureOutOfRange,    // RSA s >= n, ECDSA r or s not in [1, n-1]
  CryptoBadSignature,           // the signature does not verify
  CryptoBadDigestLength,        // digest length does not match the digest algorithm
  CryptoProviderFailure,        // the backing library failed for a reason other than a bad signature
};

// Stable, greppable name of a result ("DerNonMinimalLength", ...). Never null.
const char* ResultName(Result r);

constexpr bool IsSuccess(Result r) { return r == Result::Success; }

}  // namespace hvsig

// Propagates a failure to the caller: one visible line per check.
#define HVSIG_TRY(expr)                                   \
  do {                                                    \
    ::hvsig::Result hvsig_try_result_ = (expr);           \
    if (hvsig_try_result_ != ::hvsig::Result::Success) {  \
      return hvsig_try_result_;                           \
    }                                                     \
  } while (0)
