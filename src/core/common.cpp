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
    HVSIG_RESULT_NAME(CertKeyTypeMismatch)
    HVSIG_RESULT_NAME(CryptoUnsupportedAlgorithm)
    HVSIG_RESULT_NAME(CryptoBadKey)
    HVSIG_RESULT_NAME(CryptoBadPointEncoding)
    HVSIG_RESULT_NAME(CryptoPointCoordinateOutOfRange)
    HVSIG_RESULT_NAME(CryptoPointNotOnCurve)
    HVSIG_RESULT_NAME(CryptoKeyTooSmall)
    HVSIG_RESULT_NAME(CryptoKeyTooLarge)
    HVSIG_RESULT_NAME(CryptoBadSignatureLength)
    HVSIG_RESULT_NAME(CryptoBadSignatureEncoding)
    HVSIG_RESULT_NAME(CryptoSignatureOutOfRange)
    HVSIG_RESULT_NAME(CryptoBadSignature)
    HVSIG_RESULT_NAME(CryptoBadDigestLength)
    HVSIG_RESULT_NAME(CryptoProviderFailure)
    HVSIG_RESULT_NAME(ImageReadFailed)
    HVSIG_RESULT_NAME(Preempted)
    HVSIG_RESULT_NAME(PeTooLarge)
    HVSIG_RESULT_NAME(PeTruncated)
    HVSIG_RESULT_NAME(PeBadDosMagic)
    HVSIG_RESULT_NAME(PeBadLfanew)
    HVSIG_RESULT_NAME(PeBadSignature)
    HVSIG_RESULT_NAME(PeBadOptionalMagic)
    HVSIG_RESULT_NAME(PeOptionalHeaderTooSmall)
    HVSIG_RESULT_NAME(PeTooFewDataDirectories)
    HVSIG_RESULT_NAME(PeTooManySections)
    HVSIG_RESULT_NAME(PeBadSizeOfHeaders)
    HVSIG_RESULT_NAME(PeSectionOutsideFile)
    HVSIG_RESULT_NAME(PeSectionOverlapsHeaders)
    HVSIG_RESULT_NAME(PeSectionOverlapsSection)
    HVSIG_RESULT_NAME(PeSectionOverlapsCertTable)
    HVSIG_RESULT_NAME(PeUnhashedGap)
    HVSIG_RESULT_NAME(PeExtraDataOverlapsCertTable)
    HVSIG_RESULT_NAME(PeCertTableBeforeHeaders)
    HVSIG_RESULT_NAME(PeCertTableOutsideFile)
    HVSIG_RESULT_NAME(PeDataAfterCertTable)
    HVSIG_RESULT_NAME(PeCertEntryTooShort)
    HVSIG_RESULT_NAME(PeCertEntryOverrun)
    HVSIG_RESULT_NAME(PeCertEntryBadRevision)
    HVSIG_RESULT_NAME(PeCertEntryBadType)
    HVSIG_RESULT_NAME(PeCertEntryNotDer)
    HVSIG_RESULT_NAME(PeCertEntryBadPadding)
    HVSIG_RESULT_NAME(PeTooManySignatures)
    HVSIG_RESULT_NAME(PeSignatureTooLarge)
    HVSIG_RESULT_NAME(Pkcs7NotSignedData)
    HVSIG_RESULT_NAME(Pkcs7BadVersion)
    HVSIG_RESULT_NAME(Pkcs7NotIndirectData)
    HVSIG_RESULT_NAME(Pkcs7NotPeImageData)
    HVSIG_RESULT_NAME(Pkcs7DigestLengthMismatch)
    HVSIG_RESULT_NAME(Pkcs7TooManyCertificates)
    HVSIG_RESULT_NAME(Pkcs7NotOneSigner)
    HVSIG_RESULT_NAME(Pkcs7MissingSignedAttributes)
    HVSIG_RESULT_NAME(Pkcs7DuplicateAttribute)
    HVSIG_RESULT_NAME(Pkcs7BadAttribute)
    HVSIG_RESULT_NAME(Pkcs7ContentTypeMismatch)
    HVSIG_RESULT_NAME(Pkcs7MissingContentType)
    HVSIG_RESULT_NAME(Pkcs7MissingMessageDigest)
    HVSIG_RESULT_NAME(Pkcs7SignatureDigestMismatch)
    HVSIG_RESULT_NAME(Pkcs7TooManyNested)
    HVSIG_RESULT_NAME(ImageNotSigned)
    HVSIG_RESULT_NAME(DigestAlgorithmNotAllowed)
    HVSIG_RESULT_NAME(ImageDigestMismatch)
    HVSIG_RESULT_NAME(MessageDigestMismatch)
    HVSIG_RESULT_NAME(SignerNotFound)
    HVSIG_RESULT_NAME(SignerKeyMismatch)
    HVSIG_RESULT_NAME(SigningTimeOutsideValidity)
    HVSIG_RESULT_NAME(ChainTooDeep)
    HVSIG_RESULT_NAME(ChainLoop)
    HVSIG_RESULT_NAME(CertificateNotYetValid)
    HVSIG_RESULT_NAME(CertificateExpired)
    HVSIG_RESULT_NAME(NotTrusted)
    HVSIG_RESULT_NAME(EslTruncated)
    HVSIG_RESULT_NAME(EslListSizeTooSmall)
    HVSIG_RESULT_NAME(EslListOverrun)
    HVSIG_RESULT_NAME(EslHeaderSizeOverrun)
    HVSIG_RESULT_NAME(EslBadHeaderSize)
    HVSIG_RESULT_NAME(EslSignatureSizeTooSmall)
    HVSIG_RESULT_NAME(EslSizeNotMultiple)
    HVSIG_RESULT_NAME(EslNoEntries)
    HVSIG_RESULT_NAME(EslBadSignatureSize)
    HVSIG_RESULT_NAME(EslBadCertificate)
    HVSIG_RESULT_NAME(EfiVarTruncated)
    HVSIG_RESULT_NAME(EfiVarBadAttributes)
    HVSIG_RESULT_NAME(Auth2Truncated)
    HVSIG_RESULT_NAME(Auth2BadTimestamp)
    HVSIG_RESULT_NAME(Auth2CertTooShort)
    HVSIG_RESULT_NAME(Auth2CertOverrun)
    HVSIG_RESULT_NAME(Auth2BadRevision)
    HVSIG_RESULT_NAME(Auth2BadCertType)
    HVSIG_RESULT_NAME(Auth2NotPkcs7)
    HVSIG_RESULT_NAME(Auth2BadPkcs7)
    HVSIG_RESULT_NAME(VarStoreTruncated)
    HVSIG_RESULT_NAME(VarStoreBadFvSignature)
    HVSIG_RESULT_NAME(VarStoreNotNvData)
    HVSIG_RESULT_NAME(VarStoreBadFvLength)
    HVSIG_RESULT_NAME(VarStoreBadFvHeaderLength)
    HVSIG_RESULT_NAME(VarStoreBadFvChecksum)
    HVSIG_RESULT_NAME(VarStoreNotAuthenticated)
    HVSIG_RESULT_NAME(VarStoreBadFormat)
    HVSIG_RESULT_NAME(VarStoreNotHealthy)
    HVSIG_RESULT_NAME(VarStoreBadSize)
    HVSIG_RESULT_NAME(VarStoreVariableOverrun)
    HVSIG_RESULT_NAME(VarStoreBadVariableName)
    HVSIG_RESULT_NAME(VarStoreDuplicateVariable)
    HVSIG_RESULT_NAME(VarStoreVariableNotFound)
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
