// References §3 lists B to E, one named test per check, and the §6 bad-input classes that had no
// test elsewhere (docs/threat-model.md maps them all):
// a real Authenticode signature (efitools' HelloWorld.efi signed by sbsign with the fuzz keys,
// fuzz/corpus/verify/hello.signed.efi) is decoded into a DER tree, changed in one place,
// re-encoded, re-signed where the change is under the signature (with fuzz/keys/signer.key, so
// that only the check under test can fail), put back into the image and verified in process
// against the fuzz CA. Certificate chains for the loop and depth checks come from the openssl CLI.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "hvsig/authenticode.h"
#include "hvsig/keyring.h"
#include "hvsig/pe.h"
#include "hvsig/policy.h"
#include "hvsig/crypto_builtin.h"
#include "signing_support.h"

namespace hvsig {
// gtest prints a Result by its name.
inline void PrintTo(Result r, std::ostream* os) { *os << ResultName(r); }
}  // namespace hvsig

namespace hvsig::test {
namespace {

const std::string kKeys = std::string(HVSIG_SOURCE_DIR) + "/fuzz/keys/";

// ---- A DER tree: decode, change, encode (every length minimal, so untouched parts re-encode
// byte for byte) -------------------------------------------------------------------------------

struct Node {
  uint8_t tag = 0;
  Bytes value;                // primitive contents
  std::vector<Node> children; // constructed contents
  bool constructed() const { return (tag & 0x20) != 0; }
};

Node Decode(const uint8_t*& p, const uint8_t* end) {
  Node n;
  if (end - p < 2) throw std::runtime_error("DER: truncated header");
  n.tag = *p++;
  size_t length = *p++;
  if (length & 0x80) {
    const size_t octets = length & 0x7f;
    length = 0;
    for (size_t i = 0; i < octets; ++i) length = (length << 8) | *p++;
  }
  if (static_cast<size_t>(end - p) < length) throw std::runtime_error("DER: truncated contents");
  const uint8_t* contents_end = p + length;
  if (n.constructed()) {
    while (p < contents_end) n.children.push_back(Decode(p, contents_end));
  } else {
    n.value.assign(p, contents_end);
    p = contents_end;
  }
  return n;
}

Node Decode(const Bytes& der) {
  const uint8_t* p = der.data();
  Node n = Decode(p, der.data() + der.size());
  if (p != der.data() + der.size()) throw std::runtime_error("DER: trailing data");
  return n;
}

Bytes Encode(const Node& n) {
  Bytes contents = n.value;
  for (const Node& c : n.children) {
    const Bytes e = Encode(c);
    contents.insert(contents.end(), e.begin(), e.end());
  }
  return Tlv(n.tag, contents);
}

Node Primitive(uint8_t tag, Bytes value) {
  Node n;
  n.tag = tag;
  n.value = std::move(value);
  return n;
}

Node Constructed(uint8_t tag, std::vector<Node> children) {
  Node n;
  n.tag = tag;
  n.children = std::move(children);
  return n;
}

// OID contents.
const Bytes kOidData = FromHex("2a864886f70d010701");
const Bytes kOidContentType = FromHex("2a864886f70d010903");
const Bytes kOidMessageDigest = FromHex("2a864886f70d010904");
const Bytes kOidSigningTime = FromHex("2a864886f70d010905");
const Bytes kOidSha1 = FromHex("2b0e03021a");
const Bytes kOidSha384WithRsa = FromHex("2a864886f70d01010c");
const Bytes kOidEcdsaWithSha256 = FromHex("2a8648ce3d040302");
const Bytes kOidNestedSignature = FromHex("2b060104018237020401");

// ---- The signed image and its signature ------------------------------------------------------

struct Signed {
  Bytes image;   // the signed PE
  Node content;  // its ContentInfo

  Node& signed_data() { return content.children.at(1).children.at(0); }
  Node& version() { return signed_data().children.at(0); }
  Node& encap() { return signed_data().children.at(2); }
  Node& indirect() { return encap().children.at(1).children.at(0); }
  Node& data_type() { return indirect().children.at(0).children.at(0); }
  Node& digest_info() { return indirect().children.at(1); }
  Node& certificates() { return signed_data().children.at(3); }
  Node& signer_infos() { return signed_data().children.back(); }
  Node& signer() { return signer_infos().children.at(0); }
  Node& signer_version() { return signer().children.at(0); }
  Node& issuer_and_serial() { return signer().children.at(1); }
  Node& signed_attributes() { return signer().children.at(3); }
  Node& signature_algorithm() { return signer().children.at(4); }
  Node& signature() { return signer().children.at(5); }
  Node& attribute(const Bytes& oid) {
    for (Node& a : signed_attributes().children) {
      if (a.children.at(0).value == oid) return a;
    }
    throw std::runtime_error("no such attribute");
  }
  void RemoveAttribute(const Bytes& oid) {
    auto& attrs = signed_attributes().children;
    for (auto it = attrs.begin(); it != attrs.end(); ++it) {
      if (it->children.at(0).value == oid) {
        attrs.erase(it);
        return;
      }
    }
    throw std::runtime_error("no such attribute");
  }
};

Signed Load() {
  Signed s;
  s.image = ReadFile(std::string(HVSIG_SOURCE_DIR) + "/fuzz/corpus/verify/hello.signed.efi");
  const PeFields f = LocateFields(s.image);
  const uint64_t der = f.cert_table_offset + 8;
  s.content = Decode(Bytes(s.image.begin() + der, s.image.begin() + der + DerElementLength(s.image, der)));
  return s;
}

// The signature over the signed attributes (re-tagged as SET) with key_pem's key, SHA-256.
void Resign(Signed& s, const std::string& key_pem = kKeys + "signer.key") {
  Node attrs = s.signed_attributes();
  attrs.tag = 0x31;
  const Bytes tbs = Encode(attrs);
  FILE* file = fopen(key_pem.c_str(), "r");
  ASSERT_NE(file, nullptr);
  EVP_PKEY* key = PEM_read_PrivateKey(file, nullptr, nullptr, nullptr);
  fclose(file);
  ASSERT_NE(key, nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t length = 0;
  ASSERT_EQ(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key), 1);
  ASSERT_EQ(EVP_DigestSign(ctx, nullptr, &length, tbs.data(), tbs.size()), 1);
  Bytes sig(length);
  ASSERT_EQ(EVP_DigestSign(ctx, sig.data(), &length, tbs.data(), tbs.size()), 1);
  sig.resize(length);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  s.signature().value = sig;
}

// The image with the certificate table replaced by one entry holding the re-encoded signature.
Bytes Embed(Signed& s) {
  Bytes image = s.image;
  const PeFields f = LocateFields(image);
  Bytes payload = Encode(s.content);
  payload.resize((payload.size() + 7) / 8 * 8, 0);
  image.resize(f.cert_table_offset);
  const Bytes header{0, 0, 0, 0, 0x00, 0x02, 0x02, 0x00};
  image.insert(image.end(), header.begin(), header.end());
  PutLe32(image, f.cert_table_offset, static_cast<uint32_t>(8 + payload.size()));
  image.insert(image.end(), payload.begin(), payload.end());
  PutLe32(image, f.security_dir_at + 4, static_cast<uint32_t>(8 + payload.size()));
  return image;
}

Result VerifyImage(const Bytes& image) {
  static const Bytes ca_der = ReadFile(kKeys + "ca.der");
  static const Certificate ca = [] {
    Certificate c{};
    EXPECT_EQ(ParseCertificate(BuiltinProvider(), In(ca_der), c), Result::Success);
    return c;
  }();
  MemoryImage memory(In(image));
  auto v = std::make_unique<authenticode::Verification>();
  Bytes storage(64 << 10);
  return authenticode::VerifyImage(BuiltinProvider(), memory.Source(),
                                   authenticode::AnchorSet{&ca, 1}, authenticode::Options{},
                                   MutableBytes{storage.data(), storage.size()}, *v);
}

Result Verify(Signed& s) { return VerifyImage(Embed(s)); }

// ---- Baselines -------------------------------------------------------------------------------

TEST(Pkcs7Checklist, ReencodedAndResignedSignaturesStillVerify) {
  Signed s = Load();
  EXPECT_EQ(Verify(s), Result::Success);
  Resign(s);
  EXPECT_EQ(Verify(s), Result::Success);
}

// ---- List B: the WIN_CERTIFICATE around it -----------------------------------------------------

// Found by tests/adversarial_test.cpp (dwLength 1028 -> 1029 over a zero byte still verified):
// zero bytes after the DER inside dwLength only to align it to 8.
TEST(Pkcs7Checklist, B_PaddingInsideDwLengthOnlyAlignsIt) {
  Signed s = Load();
  const PeFields f = LocateFields(s.image);
  const size_t der = Encode(s.content).size();
  for (size_t padding = 0; padding < 8; ++padding) {
    Bytes image = Embed(s);
    const uint32_t dw_length = static_cast<uint32_t>(8 + der + padding);
    PutLe32(image, f.cert_table_offset, dw_length);
    image.resize(f.cert_table_offset + (dw_length + 7) / 8 * 8, 0);
    PutLe32(image, f.security_dir_at + 4, (dw_length + 7) / 8 * 8);
    const bool aligned = padding == 0 || dw_length % 8 == 0;
    EXPECT_EQ(VerifyImage(image), aligned ? Result::Success : Result::PeCertEntryBadPadding)
        << padding << " zero bytes in dwLength";
  }
}

// ---- List C: SignedData structure ------------------------------------------------------------

TEST(Pkcs7Checklist, C_ContentTypeNotSignedData) {
  Signed s = Load();
  s.content.children.at(0).value = kOidData;
  EXPECT_EQ(Verify(s), Result::Pkcs7NotSignedData);
}

TEST(Pkcs7Checklist, C_SignedDataVersionNotOneOrThree) {
  Signed s = Load();
  s.version().value = {2};
  EXPECT_EQ(Verify(s), Result::Pkcs7BadVersion);
}

TEST(Pkcs7Checklist, C_SignerVersionDoesNotMatchItsIdentifierForm) {
  Signed s = Load();
  s.signer_version().value = {3};  // version 3 names the signer by subjectKeyIdentifier
  EXPECT_EQ(Verify(s), Result::Pkcs7BadVersion);
}

// Found by tests/adversarial_test.cpp (a flipped byte turned the listed SHA-256 into SHA-384
// and the image still verified): no signature covers digestAlgorithms.
TEST(Pkcs7Checklist, C_DigestAlgorithmsListsExactlyTheSignersAlgorithm) {
  Signed s = Load();
  Node& algorithms = s.signed_data().children.at(1);
  const Node sha256 = algorithms.children.at(0);
  algorithms.children.at(0).children.at(0).value.back() = 0x02;  // sha384
  EXPECT_EQ(Verify(s), Result::Pkcs7DigestAlgorithmsMismatch);
  algorithms.children.at(0) = sha256;
  algorithms.children.push_back(sha256);
  EXPECT_EQ(Verify(s), Result::Pkcs7DigestAlgorithmsMismatch);
  algorithms.children.clear();
  EXPECT_EQ(Verify(s), Result::Pkcs7DigestAlgorithmsMismatch);
}

TEST(Pkcs7Checklist, C_InnerContentTypeNotIndirectData) {
  Signed s = Load();
  s.encap().children.at(0).value = kOidData;
  EXPECT_EQ(Verify(s), Result::Pkcs7NotIndirectData);
}

TEST(Pkcs7Checklist, C_SignedAttributesRequired) {
  Signed s = Load();
  s.signer().children.erase(s.signer().children.begin() + 3);
  EXPECT_EQ(Verify(s), Result::Pkcs7MissingSignedAttributes);
}

TEST(Pkcs7Checklist, C_EachAttributeAtMostOnce) {
  Signed s = Load();
  s.signed_attributes().children.push_back(s.attribute(kOidMessageDigest));
  EXPECT_EQ(Verify(s), Result::Pkcs7DuplicateAttribute);
}

TEST(Pkcs7Checklist, C_AttributeWithTwoValues) {
  Signed s = Load();
  Node& values = s.attribute(kOidMessageDigest).children.at(1);
  values.children.push_back(values.children.at(0));
  EXPECT_EQ(Verify(s), Result::Pkcs7BadAttribute);
}

TEST(Pkcs7Checklist, C_ContentTypeAttributeMustEqualTheInnerType) {
  Signed s = Load();
  s.attribute(kOidContentType).children.at(1).children.at(0).value = kOidData;
  EXPECT_EQ(Verify(s), Result::Pkcs7ContentTypeMismatch);
}

TEST(Pkcs7Checklist, C_ContentTypeAttributeRequired) {
  Signed s = Load();
  s.RemoveAttribute(kOidContentType);
  EXPECT_EQ(Verify(s), Result::Pkcs7MissingContentType);
}

TEST(Pkcs7Checklist, C_MessageDigestAttributeRequired) {
  Signed s = Load();
  s.RemoveAttribute(kOidMessageDigest);
  EXPECT_EQ(Verify(s), Result::Pkcs7MissingMessageDigest);
}

TEST(Pkcs7Checklist, C_MessageDigestOfTheDigestSize) {
  Signed s = Load();
  s.attribute(kOidMessageDigest).children.at(1).children.at(0).value.pop_back();
  EXPECT_EQ(Verify(s), Result::Pkcs7DigestLengthMismatch);
}

TEST(Pkcs7Checklist, C_ExactlyOneSigner) {
  Signed s = Load();
  s.signer_infos().children.push_back(s.signer());
  EXPECT_EQ(Verify(s), Result::Pkcs7NotOneSigner);
  s.signer_infos().children.clear();
  EXPECT_EQ(Verify(s), Result::Pkcs7NotOneSigner);
}

TEST(Pkcs7Checklist, C_SignatureAlgorithmHashMustBeTheDigestAlgorithm) {
  Signed s = Load();
  s.signature_algorithm().children.at(0).value = kOidSha384WithRsa;
  EXPECT_EQ(Verify(s), Result::Pkcs7SignatureDigestMismatch);
}

TEST(Pkcs7Checklist, C_CertificateCountIsBounded) {
  Signed s = Load();
  const Node cert = s.certificates().children.at(0);
  while (s.certificates().children.size() <= pkcs7::kMaxCertificates) {
    s.certificates().children.push_back(cert);
  }
  EXPECT_EQ(Verify(s), Result::Pkcs7TooManyCertificates);
}

TEST(Pkcs7Checklist, C_NestedSignatureCountIsBounded) {
  Signed s = Load();
  Node values = Constructed(0x31, {});
  for (size_t i = 0; i <= pkcs7::kMaxNested; ++i) values.children.push_back(s.content);
  Node nested = Constructed(0x30, {Primitive(0x06, kOidNestedSignature), values});
  s.signer().children.push_back(Constructed(0xa1, {nested}));
  EXPECT_EQ(Verify(s), Result::Pkcs7TooManyNested);
}

TEST(Pkcs7Checklist, C_DetachedSignatureMustEncapsulateData) {
  Signed s = Load();
  const Bytes der = Encode(s.content);
  auto sd = std::make_unique<pkcs7::SignedData>();
  EXPECT_EQ(pkcs7::ParseSignedData(In(der), pkcs7::ContentKind::DetachedData, *sd),
            Result::Pkcs7NotData);
}

// ---- List E: SpcIndirectDataContent ----------------------------------------------------------

TEST(Pkcs7Checklist, E_DataTypeMustBePeImageData) {
  Signed s = Load();
  s.data_type().value.back() ^= 1;
  EXPECT_EQ(Verify(s), Result::Pkcs7NotPeImageData);
}

TEST(Pkcs7Checklist, E_DigestLengthMustBeTheAlgorithms) {
  Signed s = Load();
  s.digest_info().children.at(1).value.push_back(0);
  EXPECT_EQ(Verify(s), Result::Pkcs7DigestLengthMismatch);
}

TEST(Pkcs7Checklist, E_Sha1ImageDigestIsRefused) {
  Signed s = Load();
  s.digest_info().children.at(0).children.at(0).value = kOidSha1;
  s.digest_info().children.at(1).value.resize(20);
  EXPECT_EQ(Verify(s), Result::DigestAlgorithmNotAllowed);
}

TEST(Pkcs7Checklist, E_SignedDigestIsAlwaysComparedWithTheImage) {
  Signed s = Load();
  s.digest_info().children.at(1).value.at(0) ^= 1;
  EXPECT_EQ(Verify(s), Result::ImageDigestMismatch);
}

// ---- List D: verification (re-signed, so the signature itself is good) ------------------------

TEST(Pkcs7Checklist, D_MessageDigestMustBeTheIndirectDataDigest) {
  Signed s = Load();
  s.attribute(kOidMessageDigest).children.at(1).children.at(0).value.at(0) ^= 1;
  Resign(s);
  EXPECT_EQ(Verify(s), Result::MessageDigestMismatch);
}

TEST(Pkcs7Checklist, D_SignatureCoversTheSignedAttributes) {
  Signed s = Load();
  s.signature().value.at(10) ^= 1;
  EXPECT_EQ(Verify(s), Result::CryptoBadSignature);
}

TEST(Pkcs7Checklist, D_SignerFoundByIssuerAndSerial) {
  Signed s = Load();
  s.issuer_and_serial().children.at(1).value.back() ^= 1;
  EXPECT_EQ(Verify(s), Result::SignerNotFound);
}

TEST(Pkcs7Checklist, D_SignerKeyTypeMustFitTheSignatureAlgorithm) {
  Signed s = Load();
  s.signature_algorithm() = Constructed(0x30, {Primitive(0x06, kOidEcdsaWithSha256)});
  EXPECT_EQ(Verify(s), Result::SignerKeyMismatch);
}

TEST(Pkcs7Checklist, D_SigningTimeMustLieWithinTheSignersValidity) {
  Signed s = Load();
  // sbsign's signingTime, moved to before the fuzz signer existed.
  s.attribute(kOidSigningTime).children.at(1).children.at(0) = Primitive(0x17, BytesOf("000101000000Z"));
  Resign(s);
  EXPECT_EQ(Verify(s), Result::SigningTimeOutsideValidity);
}

// Certificates made by the openssl CLI (cached): `issuer_cert`/`issuer_key` issue `subject`
// for `key`.
std::string Issue(const std::string& name, const std::string& subject, const std::string& key,
                  const std::string& issuer_cert, const std::string& issuer_key) {
  return Cached(name + ".der", [&](const std::string& out) {
    Sh("openssl req -new -key " + ShellQuote(key) + " -subj " + ShellQuote(subject) +
       " | openssl x509 -req -CA " + ShellQuote(issuer_cert) + " -CAkey " + ShellQuote(issuer_key) +
       " -set_serial 7 -days 3650 -outform DER -out " + ShellQuote(out) + " 2>/dev/null");
  });
}
std::string EcKey(const std::string& name) {
  return Cached(name + ".key", [](const std::string& out) {
    Sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + ShellQuote(out));
  });
}
std::string SelfSigned(const std::string& name, const std::string& subject, const std::string& key) {
  return Cached(name + ".pem", [&](const std::string& out) {
    Sh("openssl req -x509 -new -key " + ShellQuote(key) + " -subj " + ShellQuote(subject) +
       " -days 3650 -out " + ShellQuote(out));
  });
}
std::string Pem(const std::string& der) {
  return Cached(der.substr(der.rfind('/') + 1) + ".pem", [&](const std::string& out) {
    Sh("openssl x509 -inform DER -in " + ShellQuote(der) + " -out " + ShellQuote(out));
  });
}

// The signature's certificates replaced: the first is the signer's (the fuzz signer's key,
// re-issued), the SignerInfo names it, and the attributes are re-signed without sbsign's
// signingTime (which predates the re-issued certificate).
void ReplaceCertificates(Signed& s, const std::vector<std::string>& der_files) {
  s.certificates().children.clear();
  for (const std::string& file : der_files) s.certificates().children.push_back(Decode(ReadFile(file)));
  Node& tbs = s.certificates().children.at(0).children.at(0);
  const size_t serial = tbs.children.at(0).tag == 0xa0 ? 1 : 0;
  s.issuer_and_serial().children.at(0) = tbs.children.at(serial + 2);
  s.issuer_and_serial().children.at(1) = tbs.children.at(serial);
  s.RemoveAttribute(kOidSigningTime);
  Resign(s);
}

// A issued by B and B by A: the walk must notice it came back.
TEST(Pkcs7Checklist, D_ChainLoopIsDetected) {
  const std::string key_a = EcKey("loop-a"), key_b = EcKey("loop-b");
  const std::string b0 = SelfSigned("loop-b0", "/CN=hvsig loop B", key_b);
  const std::string a = Issue("loop-a", "/CN=hvsig loop A", key_a, b0, key_b);
  const std::string b = Issue("loop-b", "/CN=hvsig loop B", key_b, Pem(a), key_a);
  const std::string signer =
      Issue("loop-signer", "/CN=hvsig fuzz signer", kKeys + "signer.key", Pem(a), key_a);
  Signed s = Load();
  ReplaceCertificates(s, {signer, a, b});
  EXPECT_EQ(Verify(s), Result::ChainLoop);
}

// Nine intermediates below a root nobody trusts: the walk stops at kMaxChainDepth.
TEST(Pkcs7Checklist, D_ChainDepthIsBounded) {
  std::string key = EcKey("deep-0");
  std::string cert = SelfSigned("deep-0", "/CN=hvsig deep 0", key);
  std::vector<std::string> chain;
  for (int i = 1; i <= 9; ++i) {
    const std::string next_key = EcKey("deep-" + std::to_string(i));
    const std::string next = Issue("deep-" + std::to_string(i), "/CN=hvsig deep " + std::to_string(i),
                                   next_key, cert, key);
    chain.insert(chain.begin(), next);
    key = next_key;
    cert = Pem(next);
  }
  chain.insert(chain.begin(), Issue("deep-signer", "/CN=hvsig fuzz signer", kKeys + "signer.key", cert, key));
  ASSERT_LE(chain.size(), pkcs7::kMaxCertificates);
  Signed s = Load();
  ReplaceCertificates(s, chain);
  EXPECT_EQ(Verify(s), Result::ChainTooDeep);
}

// ---- References §6 classes without a test elsewhere ------------------------------------------

// The fuzz CA's certificate as a tree, and its TBSCertificate's fields (a v3 certificate).
Node FuzzCaTree() { return Decode(ReadFile(kKeys + "ca.der")); }
Node& Tbs(Node& cert) { return cert.children.at(0); }
Result Parse(const Node& cert) {
  const Bytes der = Encode(cert);
  Certificate parsed{};
  return ParseCertificate(BuiltinProvider(), In(der), parsed);
}

// CVE-2016-8650: a zero RSA modulus reached the big-number code.
TEST(BadInputClasses, ZeroRsaModulusInACertificateIsRejected) {
  Node cert = FuzzCaTree();
  ASSERT_EQ(Parse(cert), Result::Success);
  Node& key_bits = Tbs(cert).children.at(6).children.at(1);  // subjectPublicKey BIT STRING
  Node rsa = Decode(Bytes(key_bits.value.begin() + 1, key_bits.value.end()));
  rsa.children.at(0).value = {0x00};
  Bytes encoded = Encode(rsa);
  encoded.insert(encoded.begin(), 0x00);  // no unused bits
  key_bits.value = encoded;
  EXPECT_EQ(Parse(cert), Result::CertBadRsaKey);
}

// CVE-2025-68724: an oversized issuer Name. One attribute past kMaxNameAttributes is refused.
TEST(BadInputClasses, OversizedIssuerNameIsRejected) {
  Node cert = FuzzCaTree();
  Node& issuer = Tbs(cert).children.at(3);
  const Node rdn = issuer.children.at(0);
  while (issuer.children.size() < kMaxNameAttributes) issuer.children.push_back(rdn);
  EXPECT_NE(Parse(cert), Result::CertBadName);  // at the bound: only the signature is now wrong
  issuer.children.push_back(rdn);
  EXPECT_EQ(Parse(cert), Result::CertBadName);
}

// EDK2 CVE-2019-14562: dwLength near 4 GiB wrapped the 8-byte rounding into an endless loop.
TEST(BadInputClasses, DwLengthNearFourGiBIsAnOverrunNotAWrap) {
  Signed s = Load();
  const PeFields f = LocateFields(s.image);
  for (uint32_t dw_length : {0xfffffff9u, 0xfffffff8u, 0xffffffffu}) {
    Bytes image = Embed(s);
    PutLe32(image, f.cert_table_offset, dw_length);
    EXPECT_EQ(VerifyImage(image), Result::PeCertEntryOverrun) << dw_length;
  }
}

// CVE-2022-28737: shim copied SizeOfRawData bytes into a VirtualSize buffer. hvsig copies no
// section; the digest reads the raw data the file holds, whatever VirtualSize says.
TEST(BadInputClasses, RawDataLargerThanVirtualSizeIsHashedFromTheFile) {
  Bytes image = ReadFile(std::string(HVSIG_SOURCE_DIR) + "/fuzz/corpus/pe/hello.efi");
  const PeFields f = LocateFields(image);
  PutLe32(image, f.section_header(0) + 8, 1);  // VirtualSize
  MemoryImage memory(In(image));
  auto pe = std::make_unique<pe::PeImage>();
  Error error;
  ASSERT_EQ(pe::ParsePe(memory.Source(), pe::Profile::Strict, *pe, error), Result::Success);
  const uint64_t raw_offset = GetLe32(image, f.section_header(0) + 20);
  const uint64_t raw_size = GetLe32(image, f.section_header(0) + 16);
  bool hashed = false;
  for (uint16_t i = 0; i < pe->hash_range_count; ++i) {
    hashed |= pe->hash_ranges[i].offset == raw_offset && pe->hash_ranges[i].length == raw_size;
  }
  EXPECT_TRUE(hashed);
  uint8_t digest[kMaxDigestLength];
  EXPECT_EQ(pe::ComputeImageDigest(BuiltinProvider(), memory.Source(), *pe, DigestAlg::Sha256,
                                   digest, error), Result::Success);
}

// shim CVE-2023-40548: a .sbat size of 0xffffffff made size + 1 wrap to a zero-byte buffer.
// hvsig reads .sbat into a fixed buffer: a larger section is refused before any copy.
TEST(BadInputClasses, SbatSectionLargerThanItsBufferIsRefused) {
  const std::string signed_image = Cached("bad-input-big-sbat.efi", [](const std::string& out) {
    Bytes image = ReadFile(std::string(HVSIG_SOURCE_DIR) + "/fuzz/corpus/pe/hello.efi");
    const PeFields f = LocateFields(image);
    const char name[8] = {'.', 's', 'b', 'a', 't', 0, 0, 0};
    ASSERT_GT(GetLe32(image, f.section_header(2) + 16), policy::kMaxSbatSize);
    std::copy(name, name + 8, image.begin() + static_cast<ptrdiff_t>(f.section_header(2)));
    WriteFile(out + ".unsigned", image);
    Sh("sbsign --key " + ShellQuote(kKeys + "signer.key") + " --cert " +
       ShellQuote(kKeys + "signer.pem") + " --output " + ShellQuote(out) + " " +
       ShellQuote(out + ".unsigned") + " >/dev/null 2>&1");
  });
  const Bytes image = ReadFile(signed_image);
  const Bytes ca_der = ReadFile(kKeys + "ca.der");
  auto builtin = std::make_unique<keyring::Keyring>();
  keyring::Init(*builtin, keyring::KeyringId::Builtin);
  Certificate ca{};
  ASSERT_EQ(ParseCertificate(BuiltinProvider(), In(ca_der), ca), Result::Success);
  ASSERT_EQ(keyring::AddCertificate(*builtin, ca, keyring::Origin::Builtin), Result::Success);
  policy::Keyrings keyrings{};
  keyrings.rings[static_cast<size_t>(keyring::KeyringId::Builtin)] = builtin.get();
  policy::SbatList level{};
  Error error;
  ASSERT_EQ(policy::ParseSbatLevel(In(BytesOf("sbat,1,2021030218\n")), level, error), Result::Success);

  for (bool with_level : {false, true}) {
    policy::Policy kexec = policy::DefaultPolicy(policy::Purpose::Kexec);
    kexec.sbat_level = with_level ? &level : nullptr;
    authenticode::Options options;
    policy::PrepareOptions(kexec, keyrings, options);
    MemoryImage memory(In(image));
    auto v = std::make_unique<authenticode::Verification>();
    auto decision = std::make_unique<policy::Decision>();
    Bytes storage(64 << 10);
    ASSERT_EQ(authenticode::Prepare(BuiltinProvider(), memory.Source(), options,
                                    MutableBytes{storage.data(), storage.size()}, *v),
              Result::Success);
    ASSERT_EQ(authenticode::Hash(memory.Source(), nullptr, *v), Result::Success);
    const Result r = policy::Decide(BuiltinProvider(), memory.Source(), keyrings, kexec, options,
                                    *v, *decision);
    EXPECT_EQ(r, with_level ? Result::SbatTooLarge : Result::Success);
  }
}

}  // namespace
}  // namespace hvsig::test
