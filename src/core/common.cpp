#include "hvsig/crypto.h"
#include "hvsig/result.h"

namespace hvsig {

const char* ResultName(Result r) {
  switch (r) {
#define HVSIG_RESULT_NAME(name) \
  case Result::name:            \
    return #name;
    HVSIG_RESULT_NAME(Success)
    HVSIG_RESULT_NAME(InputTooLong)
    HVSIG_RESULT_NAME(BufferTooSmall)
    HVSIG_RESULT_NAME(InvalidArgument)
    HVSIG_RESULT_NAME(DerTruncated)
    HVSIG_RESULT_NAME(DerHighTagNumber)
    HVSIG_RESULT_NAME(DerIndefiniteLength)
    HVSIG_RESULT_NAME(DerNonMinimalLength)
    HVSIG_RESULT_NAME(DerLengthTooLarge)
    HVSIG_RESULT_NAME(DerLengthExceedsParent)
    HVSIG_RESULT_NAME(DerTrailingData)
    HVSIG_RESULT_NAME(DerTooDeep)
    HVSIG_RESULT_NAME(DerUnexpectedTag)
    HVSIG_RESULT_NAME(DerBadInteger)
    HVSIG_RESULT_NAME(DerNegativeInteger)
    HVSIG_RESULT_NAME(DerIntegerTooLarge)
    HVSIG_RESULT_NAME(DerBadBoolean)
    HVSIG_RESULT_NAME(DerBadNull)
    HVSIG_RESULT_NAME(DerBadBitString)
    HVSIG_RESULT_NAME(DerBadOid)
    HVSIG_RESULT_NAME(DerBadTime)
    HVSIG_RESULT_NAME(DerBadString)
    HVSIG_RESULT_NAME(CertBadVersion)
    HVSIG_RESULT_NAME(CertBadSerial)
    HVSIG_RESULT_NAME(CertSignatureAlgorithmMismatch)
    HVSIG_RESULT_NAME(CertUnsupportedSignatureAlgorithm)
    HVSIG_RESULT_NAME(CertBadName)
    HVSIG_RESULT_NAME(CertBadValidity)
    HVSIG_RESULT_NAME(CertUnsupportedKeyAlgorithm)
    HVSIG_RESULT_NAME(CertUnsupportedCurve)
    HVSIG_RESULT_NAME(CertBadRsaKey)
    HVSIG_RESULT_NAME(CertBadEcPoint)
    HVSIG_RESULT_NAME(CertBadExtensions)
    HVSIG_RESULT_NAME(CertDuplicateExtension)
    HVSIG_RESULT_NAME(CertBadBasicConstraints)
    HVSIG_RESULT_NAME(CertBadKeyUsage)
    HVSIG_RESULT_NAME(CertBadExtKeyUsage)
    HVSIG_RESULT_NAME(CertBadKeyIdentifier)
    HVSIG_RESULT_NAME(CertTooManyExtKeyUsages)
    HVSIG_RESULT_NAME(CryptoUnsupportedAlgorithm)
    HVSIG_RESULT_NAME(CryptoBadKey)
    HVSIG_RESULT_NAME(CryptoKeyTooSmall)
    HVSIG_RESULT_NAME(CryptoKeyTooLarge)
    HVSIG_RESULT_NAME(CryptoBadSignatureLength)
    HVSIG_RESULT_NAME(CryptoBadSignatureEncoding)
    HVSIG_RESULT_NAME(CryptoSignatureOutOfRange)
    HVSIG_RESULT_NAME(CryptoBadSignature)
    HVSIG_RESULT_NAME(CryptoBadDigestLength)
    HVSIG_RESULT_NAME(CryptoProviderFailure)
#undef HVSIG_RESULT_NAME
  }
  return "UnknownResult";
}

const char* DigestAlgName(DigestAlg alg) {
  switch (alg) {
    case DigestAlg::Sha1: return "sha1";
    case DigestAlg::Sha224: return "sha224";
    case DigestAlg::Sha256: return "sha256";
    case DigestAlg::Sha384: return "sha384";
    case DigestAlg::Sha512: return "sha512";
  }
  return "unknown";
}

Result DigestOnce(const CryptoProvider& provider, DigestAlg alg, Input data, uint8_t* out) {
  Digest digest;
  HVSIG_TRY(digest.Begin(provider, alg));
  digest.Update(data);
  digest.Finish(out);
  return Result::Success;
}

}  // namespace hvsig
