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
  CertKeyTypeMismatch,              // issuer key type cannot verify the signature algorithm

  // Crypto providers (src/crypto)
  CryptoUnsupportedAlgorithm,   // digest/curve/padding the provider does not implement
  CryptoBadKey,                 // public key fails validation (even/zero modulus, bad exponent, ...)
  CryptoBadPointEncoding,       // EC point not 0x04 || X || Y of the curve's length (compressed, hybrid, infinity)
  CryptoPointCoordinateOutOfRange,  // EC point X or Y >= p
  CryptoPointNotOnCurve,        // EC point does not satisfy the curve equation
  CryptoKeyTooSmall,
  CryptoKeyTooLarge,
  CryptoBadSignatureLength,     // signature length differs from the modulus length
  CryptoBadSignatureEncoding,   // ECDSA (r,s) not strict DER
  CryptoSignatureOutOfRange,    // RSA s >= n, ECDSA r or s not in [1, n-1]
  CryptoBadSignature,           // the signature does not verify
  CryptoBadDigestLength,        // digest length does not match the digest algorithm
  CryptoProviderFailure,        // the backing library failed for a reason other than a bad signature

  // Image access (include/hvsig/image.h)
  ImageReadFailed,              // the embedder's ImageSource could not supply bytes
  Preempted,                    // not a failure: a preemption hook asked to yield; call again

  // PE/COFF (src/core/pe), references §3 list A and B
  PeTooLarge,                   // image over 4 GiB: PE offsets are 32-bit
  PeTruncated,                  // a header runs past the end of the file
  PeBadDosMagic,
  PeBadLfanew,                  // e_lfanew inside the DOS header or PE header past end of file
  PeBadSignature,               // no "PE\0\0"
  PeBadOptionalMagic,
  PeOptionalHeaderTooSmall,     // SizeOfOptionalHeader cannot hold the fields or data directories
  PeTooFewDataDirectories,      // NumberOfRvaAndSizes < 5: no security directory
  PeTooManySections,
  PeBadSizeOfHeaders,           // headers + section table exceed SizeOfHeaders, or it exceeds the file
  PeSectionOutsideFile,         // PointerToRawData + SizeOfRawData > file size
  PeSectionOverlapsHeaders,
  PeSectionOverlapsSection,
  PeSectionOverlapsCertTable,
  PeUnhashedGap,                // strict profile: bytes between headers/sections nobody hashes
  PeExtraDataOverlapsCertTable, // hashed-byte count runs past the certificate table
  PeCertTableBeforeHeaders,     // security directory offset inside SizeOfHeaders
  PeCertTableOutsideFile,
  PeDataAfterCertTable,         // bytes after the certificate table (MS12-024 class)
  PeCertEntryTooShort,          // WIN_CERTIFICATE dwLength < 8 or header past the table
  PeCertEntryOverrun,           // dwLength runs past the table
  PeCertEntryBadRevision,
  PeCertEntryBadType,
  PeCertEntryNotDer,            // payload is not one DER SEQUENCE inside dwLength
  PeCertEntryBadPadding,        // non-zero or >= 8 bytes after the DER (CVE-2013-3900 class)
  PeTooManySignatures,
  PeSignatureTooLarge,          // a PKCS#7 blob over the caller's buffer

  // PKCS#7 / Authenticode structure (src/core/pkcs7), references §3 lists C and E
  Pkcs7NotSignedData,           // outer contentType is not signedData
  Pkcs7BadVersion,              // SignedData/SignerInfo version, or version vs signer-id form
  Pkcs7NotIndirectData,         // inner contentType is not SpcIndirectDataContent
  Pkcs7NotPeImageData,          // SpcIndirectDataContent.data.type is not SPC_PE_IMAGE_DATA
  Pkcs7DigestLengthMismatch,    // a digest's length differs from its algorithm's
  Pkcs7TooManyCertificates,
  Pkcs7NotOneSigner,            // Authenticode requires exactly one SignerInfo
  Pkcs7MissingSignedAttributes,
  Pkcs7DuplicateAttribute,
  Pkcs7BadAttribute,            // an attribute that must have one value has several or none
  Pkcs7ContentTypeMismatch,     // contentType attribute differs from the content's type
  Pkcs7MissingContentType,
  Pkcs7MissingMessageDigest,
  Pkcs7SignatureDigestMismatch, // signature algorithm's hash differs from digestAlgorithm
  Pkcs7TooManyNested,

  // Authenticode verification (src/core/authenticode), references §3 list D
  ImageNotSigned,
  DigestAlgorithmNotAllowed,    // SHA-1 for an image or signer digest
  ImageDigestMismatch,          // the signed image digest differs from the recomputed one
  MessageDigestMismatch,        // messageDigest attribute differs from the content's digest
  SignerNotFound,               // no embedded certificate matches the SignerInfo
  SignerKeyMismatch,            // signer's key type does not fit the signature algorithm
  SigningTimeOutsideValidity,   // signingTime outside the signer certificate's validity
  ChainTooDeep,
  ChainLoop,
  CertificateNotYetValid,       // only with time checks on
  CertificateExpired,           // only with time checks on
  NotTrusted,                   // nothing in the chain is or is signed by a trust anchor

  // EFI signature lists and variable containers (src/core/efi)
  EslTruncated,                 // fewer than 28 bytes left for an EFI_SIGNATURE_LIST header
  EslListSizeTooSmall,          // SignatureListSize 0 or smaller than the list header
  EslListOverrun,               // SignatureListSize runs past the end of the input
  EslHeaderSizeOverrun,         // SignatureHeaderSize runs past SignatureListSize
  EslBadHeaderSize,             // SignatureHeaderSize not 0 for a standard signature type
  EslSignatureSizeTooSmall,     // SignatureSize <= 16: no room after SignatureOwner
  EslSizeNotMultiple,           // signature bytes not a multiple of SignatureSize
  EslNoEntries,                 // a list without any EFI_SIGNATURE_DATA
  EslBadSignatureSize,          // a fixed-size signature type with another SignatureSize
  EslBadCertificate,            // an EFI_CERT_X509 entry that does not parse
  EfiVarTruncated,              // efivarfs file shorter than its 4-byte attribute word
  EfiVarBadAttributes,          // undefined EFI_VARIABLE_* attribute bits
  Auth2Truncated,               // shorter than EFI_VARIABLE_AUTHENTICATION_2's fixed header
  Auth2BadTimestamp,            // Pad1/Nanosecond/TimeZone/Daylight/Pad2 not zero
  Auth2CertTooShort,            // dwLength smaller than WIN_CERTIFICATE_UEFI_GUID's header
  Auth2CertOverrun,             // dwLength runs past the end of the file
  Auth2BadRevision,             // wRevision not 0x0200
  Auth2BadCertType,             // wCertificateType not WIN_CERT_TYPE_EFI_GUID
  Auth2NotPkcs7,                // CertType not EFI_CERT_TYPE_PKCS7_GUID
  Auth2BadPkcs7,                // CertData not exactly one DER SEQUENCE
  VarStoreTruncated,            // smaller than a firmware volume header
  VarStoreBadFvSignature,       // no "_FVH"
  VarStoreNotNvData,            // FileSystemGuid not EFI_SYSTEM_NV_DATA_FV_GUID
  VarStoreBadFvLength,          // FvLength past the end of the file
  VarStoreBadFvHeaderLength,    // HeaderLength odd, too small, or no room for the store header
  VarStoreBadFvChecksum,        // firmware volume header checksum not zero
  VarStoreNotAuthenticated,     // variable store signature not the authenticated one
  VarStoreBadFormat,            // variable store Format not 0x5a
  VarStoreNotHealthy,           // variable store State not 0xfe
  VarStoreBadSize,              // variable store Size smaller than its header or past FvLength
  VarStoreVariableOverrun,      // a variable's header, name or data runs past the store
  VarStoreBadVariableName,      // a live variable's name empty, odd-sized or not NUL-terminated
  VarStoreDuplicateVariable,    // two live copies of one variable
  VarStoreVariableNotFound,     // no live variable of that name and vendor

  // Keyrings and the verification policy (src/core/keyring, src/core/policy)
  KeyringFull,                  // a keyring's fixed capacity (certificates or hashes) is exhausted
  KeyringUnsupportedEntry,      // a signature-database entry type this keyring cannot hold
  KeyringLinkNotPermitted,      // secondary: the certificate is not signed by a builtin or secondary key
  KeyringBlacklisted,           // a key offered to a trusted keyring is itself blacklisted
  RevokedImageHash,             // the image's Authenticode digest is in dbx/MokListX
  RevokedCertificate,           // a signature's certificate is, or is issued by, a dbx/MokListX certificate
  RevokedTbsHash,               // a signature's certificate's TBS hash is in dbx/MokListX
  SignerModuleSigningEku,       // the signer is a module-signing key (EKU 1.3.6.1.4.1.2312.16.1.2)
  PurposeKeyringNotAllowed,     // trusted only through a keyring the purpose does not accept
  SbatMissing,                  // SBAT required but the image has no .sbat section
  SbatTooLarge,                 // the .sbat section exceeds the fixed buffer
  SbatMalformed,                // the .sbat CSV breaks the strict grammar
  SbatTooManyEntries,           // more SBAT records than the fixed capacity
  SbatLevelMalformed,           // the SbatLevel text breaks its grammar
  SbatRevoked,                  // a component's generation is below the SbatLevel
};

// Stable, greppable name of a result ("DerNonMinimalLength", ...). Never null.
const char* ResultName(Result r);

constexpr bool IsSuccess(Result r) { return r == Result::Success; }

// Where a check failed: the Result names the check, offset locates it, counted from the first
// byte of the input the failing parser was given (the image file, the DER blob, ...).
struct Error {
  Result result = Result::Success;
  uint64_t offset = 0;
};

}  // namespace hvsig

// Propagates a failure to the caller: one visible line per check.
#define HVSIG_TRY(expr)                                   \
  do {                                                    \
    ::hvsig::Result hvsig_try_result_ = (expr);           \
    if (hvsig_try_result_ != ::hvsig::Result::Success) {  \
      return hvsig_try_result_;                           \
    }                                                     \
  } while (0)
