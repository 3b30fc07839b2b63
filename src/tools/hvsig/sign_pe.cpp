// hvsig sign pe: Authenticode signing with OpenSSL's libcrypto, in the tool (the core stays
// verify-only). The image digest comes from the core's PE reader (pe::ParsePe and
// pe::ComputeImageDigest, what `hvsig verify` and `hvsig digest` run), so the signer and the
// verifier cannot disagree on which bytes a signature covers.
//
// The output is laid out as sbsign and pesign write it: the image padded with zeros to a
// multiple of 8 (the padding is hashed, being extra data before the table), then one
// WIN_CERTIFICATE {revision 0x0200, PKCS_SIGNED_DATA} padded with zeros to 8, the security
// directory naming that table, and CheckSum recomputed over the result. dwLength includes the
// padding, as signtool and osslsigncode write it: sbsign's unpadded dwLength makes Debian
// bookworm's osslsigncode 2.5 report "Invalid signature".
//
// The PKCS#7 SignedData is encoded here rather than through OpenSSL's PKCS7 API, which only
// signs id-data and has to be patched afterwards to carry SpcIndirectDataContent. libcrypto
// parses the key and certificates, encodes object identifiers, names and serials, and signs.
// Without a signingTime attribute an RSA signature (PKCS#1 v1.5) is a function of the image
// and the key: signing the same input twice gives the same file.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "hvsig/image.h"
#include "hvsig/pe.h"
#include "tools/common/der_writer.h"
#include "tools/common/file_image.h"
#include "tools/hvsig/signing.h"

namespace hvsig::tools {
namespace {

using Bytes = std::vector<uint8_t>;

using openssl::MdCtxPtr;
using openssl::PkeyPtr;
using openssl::X509Ptr;

// ---- DER encoding --------------------------------------------------------------------------

constexpr uint8_t kTagInteger = 0x02;
constexpr uint8_t kTagBitString = 0x03;
constexpr uint8_t kTagOctetString = 0x04;
constexpr uint8_t kTagSequence = 0x30;
constexpr uint8_t kTagSet = 0x31;
constexpr uint8_t ContextConstructed(uint8_t n) { return 0xa0 | n; }
constexpr uint8_t ContextPrimitive(uint8_t n) { return 0x80 | n; }

Bytes Sequence(std::initializer_list<Bytes> parts) { return Tlv(kTagSequence, Concat(parts)); }

// The encoding of a libcrypto object (i2d_* function), empty if it fails.
template <typename T, typename Encode>
Bytes Encoded(const T* object, Encode encode) {
  const int length = encode(object, nullptr);
  if (length <= 0) return {};
  Bytes out(static_cast<size_t>(length));
  uint8_t* p = out.data();
  encode(object, &p);
  return out;
}

// An OBJECT IDENTIFIER element from its dotted form (libcrypto encodes it).
Bytes Oid(const char* dotted) {
  openssl::Owned<ASN1_OBJECT, ASN1_OBJECT_free> object(OBJ_txt2obj(dotted, 1));
  return object ? Encoded(object.get(), i2d_ASN1_OBJECT) : Bytes{};
}

const char* const kOidSha256 = "2.16.840.1.101.3.4.2.1";
const char* const kOidRsaEncryption = "1.2.840.113549.1.1.1";
const char* const kOidEcdsaWithSha256 = "1.2.840.10045.4.3.2";
const char* const kOidSignedData = "1.2.840.113549.1.7.2";
const char* const kOidContentType = "1.2.840.113549.1.9.3";
const char* const kOidMessageDigest = "1.2.840.113549.1.9.4";
const char* const kOidSpcIndirectData = "1.3.6.1.4.1.311.2.1.4";
const char* const kOidSpcStatementType = "1.3.6.1.4.1.311.2.1.11";
const char* const kOidSpcSpOpusInfo = "1.3.6.1.4.1.311.2.1.12";
const char* const kOidSpcPeImageData = "1.3.6.1.4.1.311.2.1.15";
const char* const kOidSpcIndividualCodeSigning = "1.3.6.1.4.1.311.2.1.21";

constexpr DigestAlg kImageDigest = DigestAlg::Sha256;

// AlgorithmIdentifier for SHA-256 with NULL parameters (as sbsign, osslsigncode and signtool).
Bytes Sha256Algorithm() { return Sequence({Oid(kOidSha256), Bytes{0x05, 0x00}}); }

// SpcPeImageData ::= SEQUENCE { flags BIT STRING, file [0] EXPLICIT SpcLink }: no flags, and
// the file link every signer writes, SpcLink.file [2] = SpcString.unicode [0] "<<<Obsolete>>>".
Bytes PeImageData() {
  Bytes obsolete;
  for (char c : std::string("<<<Obsolete>>>")) obsolete.insert(obsolete.end(), {0, static_cast<uint8_t>(c)});
  const Bytes link = Tlv(ContextConstructed(2), Tlv(ContextPrimitive(0), obsolete));
  return Sequence({Tlv(kTagBitString, {0x00}), Tlv(ContextConstructed(0), link)});
}

// SpcIndirectDataContent ::= SEQUENCE { data SpcAttributeTypeAndOptionalValue, DigestInfo }:
// the value octets, which messageDigest covers (not the SEQUENCE's tag and length).
Bytes IndirectDataValue(const uint8_t* image_digest) {
  const Bytes data = Sequence({Oid(kOidSpcPeImageData), PeImageData()});
  const Bytes digest_info =
      Sequence({Sha256Algorithm(),
                Tlv(kTagOctetString, Bytes(image_digest, image_digest + DigestLength(kImageDigest)))});
  return Concat({data, digest_info});
}

Bytes Attribute(const char* type, const Bytes& value) {
  return Sequence({Oid(type), Tlv(kTagSet, value)});
}

// The signed attributes' contents (without the SET tag and length). DER orders a SET OF by
// the elements' encodings; verifiers that re-encode what they parsed (OpenSSL, hence sbverify
// and osslsigncode) would otherwise hash different bytes than were signed.
Bytes SignedAttributes(const uint8_t* content_digest) {
  std::vector<Bytes> attributes = {
      Attribute(kOidContentType, Oid(kOidSpcIndirectData)),
      // SpcSpOpusInfo without programName or moreInfo.
      Attribute(kOidSpcSpOpusInfo, Sequence({})),
      Attribute(kOidSpcStatementType, Sequence({Oid(kOidSpcIndividualCodeSigning)})),
      Attribute(kOidMessageDigest,
                Tlv(kTagOctetString,
                    Bytes(content_digest, content_digest + DigestLength(kImageDigest)))),
  };
  std::sort(attributes.begin(), attributes.end());
  Bytes out;
  for (const Bytes& attribute : attributes) out.insert(out.end(), attribute.begin(), attribute.end());
  return out;
}

// ---- Keys and certificates -----------------------------------------------------------------

struct Signer {
  PkeyPtr key;
  std::vector<X509Ptr> certificates;  // the signer's first, then the --addcert ones
};

bool LoadSigner(const SignPeOptions& options, Signer& signer, Failure& failure) {
  if (!LoadPrivateKey(options.key, signer.key, failure)) return false;
  const int type = EVP_PKEY_get_base_id(signer.key.get());
  if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC) {
    failure = {options.key + ": " + OBJ_nid2sn(type) + " key: only RSA and ECDSA keys sign Authenticode"};
    return false;
  }
  X509Ptr signer_cert;
  if (!LoadSignerCertificate(options.cert, signer.key.get(), options.key, signer_cert, failure)) return false;
  signer.certificates.push_back(std::move(signer_cert));
  for (const std::string& path : options.addcerts) {
    std::vector<X509Ptr> loaded;
    if (!LoadCertificates(path, loaded, failure)) return false;
    for (X509Ptr& cert : loaded) {
      const bool duplicate =
          std::any_of(signer.certificates.begin(), signer.certificates.end(),
                      [&](const X509Ptr& have) { return X509_cmp(have.get(), cert.get()) == 0; });
      if (!duplicate) signer.certificates.push_back(std::move(cert));
    }
  }
  return true;
}

// ---- The signature -------------------------------------------------------------------------

bool Sign(EVP_PKEY* key, const Bytes& message, Bytes& signature, Failure& failure) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t length = 0;
  // RSA keys default to PKCS#1 v1.5, the padding Authenticode's rsaEncryption signers use;
  // ECDSA gives the DER ECDSA-Sig-Value the signer info carries.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, message.data(), message.size()) != 1) {
    failure = {"cannot sign" + OpenSslReason()};
    return false;
  }
  signature.resize(length);
  if (EVP_DigestSign(ctx.get(), signature.data(), &length, message.data(), message.size()) != 1) {
    failure = {"cannot sign" + OpenSslReason()};
    return false;
  }
  signature.resize(length);
  return true;
}

bool Sha256(const Bytes& data, uint8_t* out) {
  unsigned int length = 0;
  return EVP_Digest(data.data(), data.size(), out, &length, EVP_sha256(), nullptr) == 1;
}

// ContentInfo { signedData, [0] SignedData } over an image digest.
bool BuildSignedData(const Signer& signer, const uint8_t* image_digest, Bytes& out,
                     Failure& failure) {
  const Bytes indirect_value = IndirectDataValue(image_digest);
  uint8_t content_digest[kMaxDigestLength];
  if (!Sha256(indirect_value, content_digest)) {
    failure = {"SHA-256 unavailable" + OpenSslReason()};
    return false;
  }
  const Bytes attributes = SignedAttributes(content_digest);
  Bytes signature;
  // The signature covers the attributes encoded as a SET, not as the [0] they are stored in.
  if (!Sign(signer.key.get(), Tlv(kTagSet, attributes), signature, failure)) return false;

  X509* cert = signer.certificates[0].get();
  const Bytes issuer = Encoded(X509_get_issuer_name(cert), i2d_X509_NAME);
  const Bytes serial = Encoded(X509_get0_serialNumber(cert), i2d_ASN1_INTEGER);
  Bytes certificates;
  for (const X509Ptr& c : signer.certificates) {
    const Bytes der = Encoded(c.get(), i2d_X509);
    certificates.insert(certificates.end(), der.begin(), der.end());
  }
  if (issuer.empty() || serial.empty() || certificates.empty()) {
    failure = {"cannot encode the signer's certificates" + OpenSslReason()};
    return false;
  }
  // PKCS#7 signers name the bare key algorithm for RSA; ECDSA has no such form, and OpenSSL,
  // sbsign and osslsigncode write ecdsa-with-SHA256 without parameters.
  const Bytes signature_algorithm = EVP_PKEY_get_base_id(signer.key.get()) == EVP_PKEY_RSA
                                        ? Sequence({Oid(kOidRsaEncryption), Bytes{0x05, 0x00}})
                                        : Sequence({Oid(kOidEcdsaWithSha256)});
  const Bytes version1 = Tlv(kTagInteger, {0x01});
  const Bytes signer_info = Sequence({
      version1,
      Sequence({issuer, serial}),  // IssuerAndSerialNumber
      Sha256Algorithm(),
      Tlv(ContextConstructed(0), attributes),
      signature_algorithm,
      Tlv(kTagOctetString, signature),
  });
  const Bytes signed_data = Sequence({
      version1,
      Tlv(kTagSet, Sha256Algorithm()),
      Sequence({Oid(kOidSpcIndirectData),
                Tlv(ContextConstructed(0), Tlv(kTagSequence, indirect_value))}),
      Tlv(ContextConstructed(0), certificates),
      Tlv(kTagSet, signer_info),
  });
  out = Sequence({Oid(kOidSignedData), Tlv(ContextConstructed(0), signed_data)});
  return true;
}

// ---- The image -----------------------------------------------------------------------------

void PutLe32(Bytes& b, uint64_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

// The PE CheckSum (imagehlp's CheckSumMappedFile, as sbsign and osslsigncode compute it): the
// file as 16-bit little-endian words with the CheckSum field taken as zero, summed with the
// carries folded back in, plus the file length.
uint32_t PeChecksum(const Bytes& file, uint64_t checksum_offset) {
  // The field need not be word-aligned: zero it byte by byte; an odd last byte pairs with 0.
  const auto byte_at = [&](uint64_t i) -> uint32_t {
    const bool in_field = i >= checksum_offset && i < checksum_offset + 4;
    return in_field || i >= file.size() ? 0 : file[i];
  };
  uint32_t sum = 0;
  for (uint64_t i = 0; i < file.size(); i += 2) {
    sum += byte_at(i) | (byte_at(i + 1) << 8);
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return sum + static_cast<uint32_t>(file.size());
}

bool Parse(Bytes& file, pe::Profile profile, pe::PeImage& image, Error& error) {
  MemoryImage memory(Input(file.data(), file.size()));
  return pe::ParsePe(memory.Source(), profile, image, error) == Result::Success;
}

std::string Describe(const Error& error) {
  return std::string(ResultName(error.result)) + " at offset " + std::to_string(error.offset);
}

// The unsigned image to sign: the input without its certificate table (only with --replace),
// padded with zeros to a multiple of 8, then parsed again so the digest is the one a verifier
// will compute.
bool PrepareImage(const SignPeOptions& options, Bytes& file, pe::PeImage& image,
                  Failure& failure) {
  Error error;
  if (!Parse(file, pe::Profile::Compat, image, error)) {
    failure = {options.image + ": malformed PE: " + Describe(error)};
    return false;
  }
  if (image.is_signed()) {
    if (!options.replace) {
      failure = {options.image + ": already signed (" + std::to_string(image.certificate_count) +
                 " signature(s) in the certificate table); --replace replaces them"};
      return false;
    }
    // ParsePe guarantees the table is the file's end, so dropping it leaves the image exactly
    // as it was hashed.
    file.resize(image.cert_table.offset);
    PutLe32(file, image.security_dir_offset, 0);
    PutLe32(file, image.security_dir_offset + 4, 0);
  }
  file.resize((file.size() + 7) & ~size_t{7}, 0);
  if (!Parse(file, pe::Profile::Compat, image, error)) {
    failure = {options.image + ": malformed PE once prepared: " + Describe(error)};
    return false;
  }
  pe::PeImage strict;
  if (!Parse(file, pe::Profile::Strict, strict, error)) {
    std::fprintf(stderr,
                 "hvsig sign pe: warning: %s: %s: `hvsig verify` needs --profile compat for this "
                 "image\n",
                 options.image.c_str(), Describe(error).c_str());
  }
  return true;
}

// Appends the certificate table and points the security directory at it, then sets CheckSum.
bool AttachSignature(const Bytes& signed_data, const pe::PeImage& image, Bytes& file,
                     Failure& failure) {
  constexpr uint16_t kRevision2 = 0x0200;
  constexpr uint16_t kPkcsSignedData = 2;
  const uint64_t table_offset = file.size();
  const uint64_t table_size = (8 + signed_data.size() + 7) & ~uint64_t{7};
  if (table_offset + table_size > UINT32_MAX) {
    failure = {"the signed image would exceed 4 GiB, beyond the security directory's reach"};
    return false;
  }
  file.resize(table_offset + 8);
  PutLe32(file, table_offset, static_cast<uint32_t>(table_size));
  file[table_offset + 4] = static_cast<uint8_t>(kRevision2);
  file[table_offset + 5] = static_cast<uint8_t>(kRevision2 >> 8);
  file[table_offset + 6] = static_cast<uint8_t>(kPkcsSignedData);
  file[table_offset + 7] = static_cast<uint8_t>(kPkcsSignedData >> 8);
  file.insert(file.end(), signed_data.begin(), signed_data.end());
  file.resize(table_offset + table_size, 0);
  PutLe32(file, image.security_dir_offset, static_cast<uint32_t>(table_offset));
  PutLe32(file, image.security_dir_offset + 4, static_cast<uint32_t>(table_size));
  PutLe32(file, image.checksum_offset, PeChecksum(file, image.checksum_offset));
  return true;
}

bool SignPe(const GlobalOptions& global, const SignPeOptions& options, Failure& failure) {
  Signer signer;
  if (!LoadSigner(options, signer, failure)) return false;
  Bytes file;
  std::string io_error;
  if (!ReadWholeFile(options.image, file, io_error)) {
    failure = {io_error, kExitUsage};
    return false;
  }
  auto image = std::make_unique<pe::PeImage>();
  if (!PrepareImage(options, file, *image, failure)) return false;
  uint8_t digest[kMaxDigestLength];
  Error error;
  MemoryImage memory(Input(file.data(), file.size()));
  if (pe::ComputeImageDigest(SelectProvider(global.provider), memory.Source(), *image,
                             kImageDigest, digest, error) != Result::Success) {
    failure = {options.image + ": " + Describe(error)};
    return false;
  }
  Bytes signed_data;
  if (!BuildSignedData(signer, digest, signed_data, failure)) return false;
  if (!AttachSignature(signed_data, *image, file, failure)) return false;
  return WriteOutput(options.output, file, failure);
}

}  // namespace

int RunSignPe(const GlobalOptions& global, const SignPeOptions& options) {
  Failure failure;
  if (!SignPe(global, options, failure)) {
    std::fprintf(stderr, "hvsig sign pe: %s\n", failure.message.c_str());
    return failure.exit_code;
  }
  return kExitOk;
}

}  // namespace hvsig::tools
