// PKCS#7 SignedData as Authenticode uses it (references §3 lists C, D, E), and detached CMS
// signatures over id-data as Linux uses them for modules and IMA: the parse produces views into
// the signature blob; nothing is trusted or verified here (see authenticode.h).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hvsig/crypto.h"
#include "hvsig/der.h"
#include "hvsig/input.h"
#include "hvsig/result.h"
#include "hvsig/x509.h"

namespace hvsig::pkcs7 {

// Certificates carried in one SignedData (Debian's and Microsoft's carry 1 to 3).
constexpr size_t kMaxCertificates = 16;
// Nested signatures (unauthenticated attribute 1.3.6.1.4.1.311.2.4.1) kept per signer.
constexpr size_t kMaxNested = 4;

// SpcIndirectDataContent: what the signer says the image digest is.
struct IndirectData {
  Input content;      // the content's value octets: what messageDigest is computed over
  Input data_type;    // SpcAttributeTypeAndOptionalValue.type (SPC_PE_IMAGE_DATA)
  DigestAlg digest_alg;
  Input digest;       // DigestInfo.digest, DigestLength(digest_alg) octets
};

// What a SignedData encapsulates.
enum class ContentKind : uint8_t {
  Authenticode,  // SpcIndirectDataContent; signed attributes required
  DetachedData,  // id-data without eContent (the caller has the content); attributes optional
};

struct SignerInfo {
  uint8_t version;             // 1: issuer+serial, 3: subjectKeyIdentifier
  bool identified_by_key_id;
  Input issuer;                // whole Name element (version 1)
  Input serial;                // magnitude (version 1)
  Input subject_key_id;        // (version 3)
  DigestAlg digest_alg;
  bool has_signed_attributes;  // false: the signature covers the content digest directly
  Input signed_attributes;     // whole [0] IMPLICIT element as encoded
  Input message_digest;        // the messageDigest attribute's OCTET STRING
  bool has_signing_time;
  der::Time signing_time;
  SignatureAlgorithm signature_algorithm;  // digest == digest_alg
  Input signature;
  uint8_t nested_count;        // nested signatures found (more than kMaxNested: an error)
  Input nested[kMaxNested];    // each a whole ContentInfo element
};

struct SignedData {
  Input der;                   // the whole ContentInfo
  ContentKind kind;
  IndirectData indirect;       // Authenticode only
  uint8_t certificate_count;
  Input certificates[kMaxCertificates];  // whole Certificate elements, unparsed
  SignerInfo signer;           // Authenticode requires exactly one
};

// Parses a ContentInfo holding SignedData over content of `kind` that occupies all of `der`.
Result ParseSignedData(Input der, ContentKind kind, SignedData& out, der::Error* error = nullptr);
inline Result ParseAuthenticode(Input der, SignedData& out, der::Error* error = nullptr) {
  return ParseSignedData(der, ContentKind::Authenticode, out, error);
}

// Where the DER of a WIN_CERTIFICATE payload ends: the payload may carry up to 7 zero bytes
// after it, only to align dwLength to 8; anything else is PeCertEntryBadPadding. der_length receives the length
// of the DER element.
Result MeasureSignatureBlob(Input payload, size_t& der_length, der::Error* error = nullptr);

// Digest the signature covers: the signed attributes with their [0] IMPLICIT tag replaced by
// the SET tag they were encoded from (RFC 5652 5.4).
Result DigestSignedAttributes(const CryptoProvider& provider, const SignerInfo& signer,
                              uint8_t* out);

}  // namespace hvsig::pkcs7
