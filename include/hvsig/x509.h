// X.509 v3 certificate parser (RFC 5280) in the style of mozilla::pkix: strict DER, every
// field a view into the caller's buffer (no copies, no heap), fixed bounds everywhere.
//
// Parsing checks encoding and the profile rules that need no trust decision; it does not
// build chains, check validity periods against a clock, or enforce key usages: callers decide
// with the parsed fields. Public keys are validated while parsing (RSA modulus/exponent policy,
// EC point on its curve) through the embedder's CryptoProvider, so a Certificate that parsed
// holds a key that the provider will accept.
//
// Failures: each function returns a Result and, if error is non-null, records the Result and
// the offset (from the first byte of the parsed input) of the element at fault.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hvsig/crypto.h"
#include "hvsig/der.h"
#include "hvsig/input.h"
#include "hvsig/result.h"

namespace hvsig {

// Extended key usages callers commonly ask for (OID contents, compare with ==).
HVSIG_OID(kOidEkuCodeSigning, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03);  // 1.3.6.1.5.5.7.3.3
// 1.3.6.1.4.1.2312.16.1.2: Red Hat / Linux kernel module signing, also used by Xen livepatch.
HVSIG_OID(kOidEkuModuleSigning, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x92, 0x08, 0x10, 0x01, 0x02);

enum class SignatureKind : uint8_t {
  RsaPkcs1,
  RsaPss,
  Ecdsa,
};

struct SignatureAlgorithm {
  Input der;  // the whole AlgorithmIdentifier element
  SignatureKind kind;
  DigestAlg digest;
  DigestAlg mgf1_digest;  // RsaPss only
  int32_t salt_length;    // RsaPss only
};

enum class KeyType : uint8_t {
  Rsa,
  Ec,
};

struct SubjectPublicKeyInfo {
  Input der;  // the whole SubjectPublicKeyInfo element
  KeyType type;
  RsaPublicKey rsa;  // type == Rsa: modulus and exponent magnitudes
  EcPublicKey ec;    // type == Ec: uncompressed point on ec.curve
};

// KeyUsage named bits (RFC 5280 4.2.1.3) as bit positions in Certificate::key_usage.
enum class KeyUsageBit : uint8_t {
  DigitalSignature = 0,
  NonRepudiation = 1,
  KeyEncipherment = 2,
  DataEncipherment = 3,
  KeyAgreement = 4,
  KeyCertSign = 5,
  CrlSign = 6,
  EncipherOnly = 7,
  DecipherOnly = 8,
};

constexpr size_t kMaxExtKeyUsages = 8;      // more is CertTooManyExtKeyUsages
constexpr size_t kMaxNameAttributes = 64;   // per Name; more is CertBadName
constexpr size_t kMaxSerialLength = 20;     // octets of magnitude (RFC 5280 4.1.2.2)

struct Certificate {
  Input der;        // the whole Certificate element
  Input tbs;        // the whole TBSCertificate element: the bytes the signature covers
  uint8_t version;  // 1, 2 or 3
  Input serial;     // big-endian magnitude, 1..20 octets, no sign octet
  SignatureAlgorithm signature_algorithm;  // the outer one, byte-identical to the TBS one
  Input issuer;   // the whole Name element
  Input subject;  // the whole Name element
  der::Time not_before;
  der::Time not_after;
  SubjectPublicKeyInfo key;
  Input signature;  // the signatureValue BIT STRING's bytes

  Input extensions;  // contents of the Extensions SEQUENCE (empty if absent)
  bool has_basic_constraints;
  bool is_ca;
  bool has_path_length;
  uint64_t path_length;
  bool has_key_usage;
  uint16_t key_usage;  // bit n set = KeyUsageBit n asserted
  bool has_ext_key_usage;
  uint8_t ext_key_usage_count;
  Input ext_key_usages[kMaxExtKeyUsages];  // OID contents
  Input subject_key_id;    // empty if absent
  Input authority_key_id;  // keyIdentifier, empty if absent or not given
  // A critical extension this parser does not understand: the caller must reject the
  // certificate for any use that depends on it (RFC 5280 4.2).
  bool has_unknown_critical_extension;
  Input unknown_critical_extension_oid;  // the first one
};

// Parses a DER Certificate occupying all of `der` (trailing bytes: DerTrailingData).
Result ParseCertificate(const CryptoProvider& provider, Input der, Certificate& out,
                        der::Error* error = nullptr);

// Parses a DER SubjectPublicKeyInfo occupying all of `spki`: rsaEncryption (NULL parameters)
// or id-ecPublicKey with namedCurve P-256 / P-384 (another curve: CertUnsupportedCurve), and
// validates the key with the provider (CertBadRsaKey / CertBadEcPoint).
Result ParseSubjectPublicKeyInfo(const CryptoProvider& provider, Input spki,
                                 SubjectPublicKeyInfo& out, der::Error* error = nullptr);
// The same, reading the element from an enclosing reader (certificates, PKCS#7).
Result ReadSubjectPublicKeyInfo(const CryptoProvider& provider, der::Reader& reader,
                                SubjectPublicKeyInfo& out);

// Reads a digest AlgorithmIdentifier (sha1, sha224, sha256, sha384, sha512; parameters NULL
// or absent). Anything else is CertUnsupportedSignatureAlgorithm.
Result ReadDigestAlgorithm(der::Reader& reader, DigestAlg& out);

// Reads a signature AlgorithmIdentifier: sha1/224/256/384/512WithRSAEncryption (parameters
// NULL or absent), RSASSA-PSS (RFC 4055 parameters, trailerField 1) and ecdsa-with-SHA256/384/512
// (no parameters). Anything else is CertUnsupportedSignatureAlgorithm.
Result ReadSignatureAlgorithm(der::Reader& reader, SignatureAlgorithm& out);

bool HasKeyUsage(const Certificate& cert, KeyUsageBit bit);
// Whether the extKeyUsage extension lists this purpose (false if the extension is absent).
bool HasExtKeyUsage(const Certificate& cert, Input purpose_oid);

// Verifies cert's signature over its TBS bytes with issuer_key: the key type must match the
// signature algorithm (CertKeyTypeMismatch otherwise), then the provider decides.
Result VerifyCertificateSignature(const CryptoProvider& provider, const Certificate& cert,
                                  const SubjectPublicKeyInfo& issuer_key);

// Renders a Name element (Certificate::issuer/subject) as RFC 4514 text, matching
// `openssl x509 -nameopt RFC2253`: RDNs and their attributes in reverse order, "," between
// RDNs and "+" inside one, short attribute names (CN, O, emailAddress, ...), RFC 4514
// escaping with \XX for control and non-ASCII bytes (after conversion to UTF-8), unknown
// attribute types as dotted-OID=#hex of the value's DER. Writes a NUL-terminated string into
// out[0..capacity) and its length (without the NUL) to length; BufferTooSmall if it does not fit.
Result FormatName(Input name, char* out, size_t capacity, size_t& length);

}  // namespace hvsig
