// X.509 parser against real certificates: the Debian Secure Boot CA (from Debian's
// shim-unsigned package, fetched by the debian_packages ctest fixture) and chains made at test
// time with the openssl CLI. Every expected value is derived by running openssl on the same
// file; both the builtin and the OpenSSL provider validate keys and verify signatures.
#include <gtest/gtest.h>
#include <openssl/objects.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <csignal>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "hvsig/crypto_builtin.h"
#include "hvsig/crypto_openssl.h"
#include "hvsig/x509.h"
#include "test_support.h"

namespace hvsig {
namespace {

using namespace test;

// "key=value\n" from `openssl x509 -noout -KEY`: the value without the newline.
std::string AfterEquals(const std::string& line) {
  std::string value = line.substr(line.find('=') + 1);
  while (!value.empty() && value.back() == '\n') value.pop_back();
  return value;
}

// The word after the first occurrence of prefix (empty if absent). std::regex is avoided: GCC 12
// warns inside it under the sanitizer build.
std::string Field(const std::string& text, const std::string& prefix) {
  const size_t at = text.find(prefix);
  if (at == std::string::npos) return {};
  const size_t start = at + prefix.size();
  return text.substr(start, text.find_first_of(" ,\n", start) - start);
}

// OID contents for a name OpenSSL knows ("Code Signing") or a dotted OID.
Bytes OidFromOpensslName(const std::string& name) {
  ASN1_OBJECT* object = OBJ_txt2obj(name.c_str(), 0);
  EXPECT_NE(object, nullptr) << name;
  if (object == nullptr) return {};
  Bytes out(OBJ_get0_data(object), OBJ_get0_data(object) + OBJ_length(object));
  ASN1_OBJECT_free(object);
  return out;
}

std::vector<std::string> Split(const std::string& text, const std::string& separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t at = text.find(separator, start);
    parts.push_back(Trim(text.substr(start, at - start)));
    if (at == std::string::npos) break;
    start = at + separator.size();
  }
  return parts;
}

int64_t IsoTimeToEpoch(const std::string& text) {  // "2026-11-25 22:10:08Z"
  struct tm tm {};
  EXPECT_NE(strptime(text.c_str(), "%Y-%m-%d %H:%M:%SZ", &tm), nullptr) << text;
  return static_cast<int64_t>(timegm(&tm));
}

const CryptoProvider* const kProviders[] = {&BuiltinProvider(), &OpenSslProvider()};

// ---- Comparing a parse with openssl's view of the same file ------------------------------------

struct Asn1Line {
  size_t offset, header_length, length;
  int depth;
  std::string type;
};

std::vector<Asn1Line> Asn1Parse(const std::string& path) {
  std::vector<Asn1Line> lines;
  std::istringstream text(Shell("openssl asn1parse -inform DER -in '" + path + "'"));
  std::string line;
  while (std::getline(text, line)) {  // "  4:d=1  hl=4 l= 886 cons: SEQUENCE"
    Asn1Line parsed{};
    int type_at = 0;
    if (sscanf(line.c_str(), " %zu:d=%d hl=%zu l=%zu %*s %n", &parsed.offset, &parsed.depth,
               &parsed.header_length, &parsed.length, &type_at) != 4 || type_at == 0) {
      continue;
    }
    parsed.type = Trim(line.substr(type_at, line.find(':', type_at) - type_at));
    lines.push_back(parsed);
  }
  return lines;
}

void ExpectSignatureAlgorithmMatches(const std::string& text, const SignatureAlgorithm& alg) {
  const std::string name = Field(text, "Signature Algorithm: ");
  const std::map<std::string, std::pair<SignatureKind, DigestAlg>> known = {
      {"sha1WithRSAEncryption", {SignatureKind::RsaPkcs1, DigestAlg::Sha1}},
      {"sha256WithRSAEncryption", {SignatureKind::RsaPkcs1, DigestAlg::Sha256}},
      {"sha384WithRSAEncryption", {SignatureKind::RsaPkcs1, DigestAlg::Sha384}},
      {"sha512WithRSAEncryption", {SignatureKind::RsaPkcs1, DigestAlg::Sha512}},
      {"ecdsa-with-SHA256", {SignatureKind::Ecdsa, DigestAlg::Sha256}},
      {"ecdsa-with-SHA384", {SignatureKind::Ecdsa, DigestAlg::Sha384}},
      {"ecdsa-with-SHA512", {SignatureKind::Ecdsa, DigestAlg::Sha512}},
  };
  if (name == "rsassaPss") {
    EXPECT_EQ(alg.kind, SignatureKind::RsaPss);
    EXPECT_STREQ(DigestAlgName(alg.digest), Field(text, "Hash Algorithm: ").c_str());
    EXPECT_STREQ(DigestAlgName(alg.mgf1_digest),
                 Field(text, "Mask Algorithm: mgf1 with ").c_str());
    EXPECT_EQ(alg.salt_length, std::stoi(Field(text, "Salt Length: 0x"), nullptr, 16));
    return;
  }
  ASSERT_EQ(known.count(name), 1u) << name;
  EXPECT_EQ(alg.kind, known.at(name).first) << name;
  EXPECT_EQ(alg.digest, known.at(name).second) << name;
}

void ExpectKeyMatches(const std::string& path, const std::string& text, const SubjectPublicKeyInfo& key) {
  const std::string spki_path = ::testing::TempDir() + "hvsig_x509_spki_" + std::to_string(getpid());
  Shell("openssl x509 -inform DER -in '" + path + "' -noout -pubkey | openssl pkey -pubin -outform DER -out '" +
      spki_path + "'");
  EXPECT_EQ(key.der, In(ReadFile(spki_path)));
  unlink(spki_path.c_str());
  if (Field(text, "Public Key Algorithm: ") == "rsaEncryption") {
    ASSERT_EQ(key.type, KeyType::Rsa);
    const std::string modulus =
        AfterEquals(Shell("openssl x509 -inform DER -in '" + path + "' -noout -modulus"));
    EXPECT_EQ(Hex(key.rsa.modulus, HexCase::Upper), modulus);
    uint64_t exponent = 0;
    for (uint8_t b : key.rsa.exponent) exponent = exponent << 8 | b;
    EXPECT_EQ(std::to_string(exponent), Field(text, "Exponent: "));
    return;
  }
  ASSERT_EQ(key.type, KeyType::Ec);
  const std::string curve = Field(text, "NIST CURVE: ");
  EXPECT_EQ(key.ec.curve == EcCurve::P256 ? "P-256" : "P-384", curve);
  std::istringstream lines(text.substr(text.find("pub:")));
  std::string line, point_hex;
  std::getline(lines, line);
  while (std::getline(lines, line) && line.find_first_not_of(" 0123456789abcdef:") == std::string::npos) {
    point_hex += line;
  }
  EXPECT_EQ(Hex(key.ec.point), Hex(In(FromHex(point_hex))));
}

// `openssl x509 -ext ...` output as "header" -> "value lines" (critical marker kept in header).
std::map<std::string, std::string> OpensslExtensions(const std::string& path) {
  std::istringstream text(Shell("openssl x509 -inform DER -in '" + path +
                              "' -noout -ext basicConstraints,keyUsage,extendedKeyUsage,"
                              "subjectKeyIdentifier,authorityKeyIdentifier 2>/dev/null"));
  std::map<std::string, std::string> out;
  std::string line, header;
  while (std::getline(text, line)) {
    if (!line.empty() && line[0] != ' ') {
      header = Trim(line.substr(0, line.find(':')));
    } else {
      out[header] += (out[header].empty() ? "" : "\n") + Trim(line);
    }
  }
  return out;
}

// The first critical extension openssl lists that the parser does not interpret.
void ExpectUnknownCriticalMatches(const std::string& text, const Certificate& cert) {
  static const char* const kInterpreted[] = {
      "X509v3 Basic Constraints", "X509v3 Key Usage", "X509v3 Extended Key Usage",
      "X509v3 Subject Key Identifier", "X509v3 Authority Key Identifier"};
  std::istringstream lines(text.substr(text.find("X509v3 extensions:")));
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line) && line.rfind("    Signature Algorithm", 0) != 0) {
    const size_t critical = line.find(": critical");
    if (critical == std::string::npos) continue;
    const std::string name = Trim(line.substr(0, critical));
    if (std::find(std::begin(kInterpreted), std::end(kInterpreted), name) != std::end(kInterpreted)) {
      continue;
    }
    EXPECT_TRUE(cert.has_unknown_critical_extension) << name;
    EXPECT_EQ(cert.unknown_critical_extension_oid, In(OidFromOpensslName(name))) << name;
    return;
  }
  EXPECT_FALSE(cert.has_unknown_critical_extension);
}

void ExpectExtensionsMatch(const std::string& path, const Certificate& cert) {
  const std::map<std::string, std::string> ext = OpensslExtensions(path);
  auto value = [&](const char* name) { return ext.count(name) ? ext.at(name) : std::string(); };

  EXPECT_EQ(cert.has_basic_constraints, ext.count("X509v3 Basic Constraints") == 1);
  if (cert.has_basic_constraints) {
    const std::string text = value("X509v3 Basic Constraints");
    EXPECT_EQ(cert.is_ca, text.find("CA:TRUE") != std::string::npos) << text;
    const std::string path_length = Field(text, "pathlen:");
    EXPECT_EQ(cert.has_path_length, !path_length.empty()) << text;
    if (cert.has_path_length) {
      EXPECT_EQ(std::to_string(cert.path_length), path_length);
    }
  }

  EXPECT_EQ(cert.has_key_usage, ext.count("X509v3 Key Usage") == 1);
  if (cert.has_key_usage) {
    const std::map<std::string, KeyUsageBit> names = {
        {"Digital Signature", KeyUsageBit::DigitalSignature},
        {"Non Repudiation", KeyUsageBit::NonRepudiation},
        {"Key Encipherment", KeyUsageBit::KeyEncipherment},
        {"Data Encipherment", KeyUsageBit::DataEncipherment},
        {"Key Agreement", KeyUsageBit::KeyAgreement},
        {"Certificate Sign", KeyUsageBit::KeyCertSign},
        {"CRL Sign", KeyUsageBit::CrlSign},
        {"Encipher Only", KeyUsageBit::EncipherOnly},
        {"Decipher Only", KeyUsageBit::DecipherOnly},
    };
    uint16_t expected = 0;
    for (const std::string& name : Split(value("X509v3 Key Usage"), ",")) {
      ASSERT_EQ(names.count(name), 1u) << name;
      expected |= static_cast<uint16_t>(1u << static_cast<int>(names.at(name)));
      EXPECT_TRUE(HasKeyUsage(cert, names.at(name))) << name;
    }
    EXPECT_EQ(cert.key_usage, expected);
  }

  EXPECT_EQ(cert.has_ext_key_usage, ext.count("X509v3 Extended Key Usage") == 1);
  if (cert.has_ext_key_usage) {
    const std::vector<std::string> purposes = Split(value("X509v3 Extended Key Usage"), ",");
    ASSERT_EQ(cert.ext_key_usage_count, purposes.size());
    for (size_t i = 0; i < purposes.size(); ++i) {
      const Bytes oid = OidFromOpensslName(purposes[i]);
      EXPECT_EQ(cert.ext_key_usages[i], In(oid)) << purposes[i];
      EXPECT_TRUE(HasExtKeyUsage(cert, In(oid))) << purposes[i];
    }
  }

  EXPECT_EQ(Hex(cert.subject_key_id), Hex(In(FromHex(value("X509v3 Subject Key Identifier")))));
  std::string akid = value("X509v3 Authority Key Identifier");
  if (akid.rfind("keyid:", 0) == 0) akid = akid.substr(6);
  // Only the keyid line; DirName/serial lines may follow.
  EXPECT_EQ(Hex(cert.authority_key_id), Hex(In(FromHex(akid.substr(0, akid.find('\n'))))));
}

void ExpectMatchesOpenssl(const std::string& path, const Bytes& der, const Certificate& cert) {
  const std::string base = "openssl x509 -inform DER -in '" + path + "' -noout ";
  const std::string text = Shell(base + "-text");
  EXPECT_EQ(std::to_string(cert.version), Field(text, "Version: "));
  EXPECT_EQ(Hex(cert.serial, HexCase::Upper), AfterEquals(Shell(base + "-serial")));
  EXPECT_EQ(FormatNameString(cert.subject), AfterEquals(Shell(base + "-subject -nameopt RFC2253")));
  EXPECT_EQ(FormatNameString(cert.issuer), AfterEquals(Shell(base + "-issuer -nameopt RFC2253")));
  std::istringstream dates(Shell(base + "-dates -dateopt iso_8601"));
  std::string not_before, not_after;
  std::getline(dates, not_before);
  std::getline(dates, not_after);
  EXPECT_EQ(cert.not_before, IsoTimeToEpoch(AfterEquals(not_before)));
  EXPECT_EQ(cert.not_after, IsoTimeToEpoch(AfterEquals(not_after)));
  ExpectSignatureAlgorithmMatches(text, cert.signature_algorithm);
  ExpectKeyMatches(path, text, cert.key);
  ExpectExtensionsMatch(path, cert);
  if (text.find("X509v3 extensions:") != std::string::npos) ExpectUnknownCriticalMatches(text, cert);

  // The TBS view and the signature bytes sit where asn1parse finds them.
  const std::vector<Asn1Line> lines = Asn1Parse(path);
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(cert.der, In(der));
  EXPECT_EQ(static_cast<size_t>(cert.tbs.data() - der.data()), lines[1].offset);
  EXPECT_EQ(cert.tbs.size(), lines[1].header_length + lines[1].length);
  const Asn1Line& signature = lines.back();
  ASSERT_EQ(signature.depth, 1);
  ASSERT_EQ(signature.type, "BIT STRING");
  EXPECT_EQ(static_cast<size_t>(cert.signature.data() - der.data()),
            signature.offset + signature.header_length + 1);
  EXPECT_EQ(cert.signature.size(), signature.length - 1);
}

// ---- Certificates made with the openssl CLI --------------------------------------------------

constexpr const char* kGenerateScript = R"SCRIPT(
set -eu
cat > ca.ext <<'EOF'
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
EOF
cat > inter.ext <<'EOF'
basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,digitalSignature,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
EOF
cat > leaf.ext <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=codeSigning,1.3.6.1.4.1.2312.16.1.2
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
EOF
cp leaf.ext unknown.ext
echo '1.2.3.4.5.6=critical,ASN1:NULL' >> unknown.ext
cat > names.cnf <<'EOF'
oid_section = new_oids
[new_oids]
hvsigTestAttribute = 1.2.3.4.5
[req]
distinguished_name = dn
prompt = no
utf8 = yes
string_mask = default
[dn]
C = DE
O = M\xC3\xBCller
hvsigTestAttribute = custom value
CN = \xCE\xA9mega \xE2\x82\xAC=x
EOF
printf "$(cat names.cnf)\n" > names.cnf

rsa() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:$2 -out $1.key 2>/dev/null; }
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:$2 -out $1.key; }
# sign NAME ISSUER|self SUBJECT EXTFILE DIGEST SERIAL [x509 options...]
sign() {
  name=$1; issuer=$2; subject=$3; ext=$4; digest=$5; serial=$6; shift 6
  openssl req -new -key $name.key -utf8 -subj "$subject" -out $name.csr
  if [ "$issuer" = self ]; then set -- -key $name.key "$@"; else set -- -CA $issuer.pem -CAkey $issuer.key "$@"; fi
  openssl x509 -req -in $name.csr "$@" -extfile $ext -days 3650 -$digest -set_serial $serial -out $name.pem 2>/dev/null
  openssl x509 -in $name.pem -outform DER -out $name.der
}

rsa rsa_root 4096; rsa rsa_inter 2048; rsa rsa_leaf 2048; rsa pss_leaf 2048; rsa pss384_leaf 2048
ec ec_root P-384; ec ec_inter P-256; ec ec_leaf P-256; ec mixed_leaf P-384; ec unknown_critical P-256
ec serial21 P-256; ec p521 P-521; ec names P-256
sign rsa_root self '/C=DE/O=hvsig test, "quoted" <x>;/OU=#hash+OU= lead space /CN=Grüße Root\/CA ' ca.ext sha256 1
sign rsa_inter rsa_root '/C=DE/O=hvsig/CN=hvsig RSA intermediate' inter.ext sha384 0x0102030405
sign rsa_leaf rsa_inter '/O=hvsig/CN=hvsig RSA leaf/emailAddress=leaf@example.org' leaf.ext sha512 \
  0x8123456789abcdef0123456789abcdef01234567
sign pss_leaf rsa_root '/CN=hvsig PSS leaf' leaf.ext sha256 0x2a \
  -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -sigopt rsa_mgf1_md:sha256
sign pss384_leaf rsa_inter '/CN=hvsig PSS-384 leaf' leaf.ext sha384 0x2b \
  -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:20 -sigopt rsa_mgf1_md:sha384
sign ec_root self '/C=US/O=hvsig/CN=hvsig EC root' ca.ext sha384 0x7f
sign ec_inter ec_root '/C=US/O=hvsig/CN=hvsig EC intermediate' inter.ext sha384 0x80
sign ec_leaf ec_inter '/C=US/O=hvsig/CN=hvsig EC leaf' leaf.ext sha256 0x00ff
sign mixed_leaf rsa_inter '/CN=hvsig P-384 leaf under RSA' leaf.ext sha256 1000
sign unknown_critical ec_inter '/CN=hvsig unknown critical' unknown.ext sha256 77
sign serial21 ec_inter '/CN=hvsig 21-octet serial' leaf.ext sha256 0x0123456789abcdef0123456789abcdef0123456789
sign p521 self '/CN=hvsig P-521' ca.ext sha512 5
openssl req -new -key names.key -config names.cnf -out names.csr
openssl x509 -req -in names.csr -key names.key -extfile leaf.ext -days 30 -sha256 -set_serial 9 -out names.pem 2>/dev/null
openssl x509 -in names.pem -outform DER -out names.der
)SCRIPT";

// name, issuer name (itself if self-signed)
const std::pair<const char*, const char*> kChain[] = {
    {"rsa_root", "rsa_root"},   {"rsa_inter", "rsa_root"},  {"rsa_leaf", "rsa_inter"},
    {"pss_leaf", "rsa_root"},   {"pss384_leaf", "rsa_inter"}, {"ec_root", "ec_root"},
    {"ec_inter", "ec_root"},    {"ec_leaf", "ec_inter"},    {"mixed_leaf", "rsa_inter"},
    {"unknown_critical", "ec_inter"}, {"names", "names"},
};

class GeneratedCertificates : public ::testing::Test {
 protected:
  // Generated once per build tree and shared by the test processes ctest starts (one per
  // test): keyed by the script's hash, built under a lock, published by rename.
  static void SetUpTestSuite() {
    const std::string cache = HVSIG_TEST_CACHE;
    char key[32];
    snprintf(key, sizeof(key), "%016zx", std::hash<std::string>{}(kGenerateScript));
    dir_ = new std::string(cache + "/x509-certs-" + key);
    const std::string script = *dir_ + ".sh";
    const std::string command =
        "mkdir -p '" + cache + "' && cd '" + cache + "' && flock x509-certs.lock sh -c '"
        "test -e " + *dir_ + "/done || { rm -rf " + *dir_ + ".tmp && mkdir " + *dir_ + ".tmp && "
        "cat > " + script + " && cd " + *dir_ + ".tmp && bash " + script + " && touch done && "
        "mv " + *dir_ + ".tmp " + *dir_ + "; }' >/dev/null 2>&1";
    // When another test process already generated the certificates the shell exits without
    // reading the script: the write then fails with EPIPE instead of killing this process.
    signal(SIGPIPE, SIG_IGN);
    FILE* shell = popen(command.c_str(), "w");
    ASSERT_NE(shell, nullptr);
    fputs(kGenerateScript, shell);
    ASSERT_EQ(pclose(shell), 0) << command;
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string Path(const std::string& name) { return *dir_ + "/" + name + ".der"; }

  // Loads and parses a generated certificate; the bytes must outlive the Certificate.
  static void Load(const std::string& name, Bytes& der, Certificate& cert,
                   const CryptoProvider& provider = BuiltinProvider()) {
    der = ReadFile(Path(name));
    ASSERT_FALSE(der.empty()) << name;
    der::Error error;
    ASSERT_EQ(ParseCertificate(provider, In(der), cert, &error), Result::Success)
        << name << ": " << ResultName(error.result) << " at " << error.offset;
  }

  static std::string* dir_;
};

std::string* GeneratedCertificates::dir_ = nullptr;

TEST_F(GeneratedCertificates, FieldsMatchOpenssl) {
  for (const auto& [name, issuer] : kChain) {
    SCOPED_TRACE(name);
    Bytes der;
    Certificate cert;
    Load(name, der, cert, BuiltinProvider());
    ExpectMatchesOpenssl(Path(name), der, cert);
    Bytes same_der;
    Certificate with_openssl_provider;
    Load(name, same_der, with_openssl_provider, OpenSslProvider());
    EXPECT_EQ(with_openssl_provider.key.der, cert.key.der);
  }
}

TEST_F(GeneratedCertificates, SignaturesVerifyWithTheIssuerKey) {
  for (const auto& [name, issuer] : kChain) {
    SCOPED_TRACE(name);
    for (const CryptoProvider* provider : kProviders) {
      SCOPED_TRACE(provider->name);
      Bytes der, issuer_der;
      Certificate cert, issuer_cert;
      Load(name, der, cert, *provider);
      Load(issuer, issuer_der, issuer_cert, *provider);
      EXPECT_EQ(VerifyCertificateSignature(*provider, cert, issuer_cert.key), Result::Success);
    }
  }
}

TEST_F(GeneratedCertificates, ExpectedProfiles) {
  Bytes der;
  Certificate cert;
  Load("rsa_leaf", der, cert);
  EXPECT_EQ(cert.serial.size(), kMaxSerialLength);  // 20 octets, encoded in 21
  EXPECT_TRUE(HasExtKeyUsage(cert, kOidEkuCodeSigning));
  EXPECT_TRUE(HasExtKeyUsage(cert, kOidEkuModuleSigning));
  EXPECT_FALSE(cert.is_ca);
  EXPECT_FALSE(cert.has_unknown_critical_extension);
  EXPECT_EQ(cert.key.rsa.modulus.size(), 256u);
  Load("rsa_root", der, cert);
  EXPECT_EQ(cert.key.rsa.modulus.size(), 512u);
  EXPECT_TRUE(cert.is_ca);
  EXPECT_FALSE(HasExtKeyUsage(cert, kOidEkuCodeSigning));
  EXPECT_EQ(cert.subject, cert.issuer);
  Load("ec_inter", der, cert);
  EXPECT_EQ(cert.key.ec.curve, EcCurve::P256);
  EXPECT_TRUE(cert.has_path_length);
  EXPECT_EQ(cert.path_length, 0u);
  Load("ec_root", der, cert);
  EXPECT_EQ(cert.key.ec.curve, EcCurve::P384);
  Load("names", der, cert);
  // openssl picked T61String / BMPString for these; the formatter converts them to UTF-8.
  EXPECT_NE(FormatNameString(cert.subject).find("1.2.3.4.5=#"), std::string::npos);
}

TEST_F(GeneratedCertificates, UnknownCriticalExtensionIsFlagged) {
  Bytes der;
  Certificate cert;
  Load("unknown_critical", der, cert);
  EXPECT_TRUE(cert.has_unknown_critical_extension);
  EXPECT_EQ(cert.unknown_critical_extension_oid, In(OidFromOpensslName("1.2.3.4.5.6")));
  EXPECT_TRUE(HasExtKeyUsage(cert, kOidEkuModuleSigning));
}

TEST_F(GeneratedCertificates, WrongIssuerKeyFails) {
  for (const CryptoProvider* provider : kProviders) {
    SCOPED_TRACE(provider->name);
    Bytes der, wrong_der;
    Certificate cert, wrong;
    Load("rsa_leaf", der, cert, *provider);
    Load("pss_leaf", wrong_der, wrong, *provider);  // RSA-2048 like the real issuer, not it
    // Whether the signature is below the other modulus is chance.
    const Result other_key = VerifyCertificateSignature(*provider, cert, wrong.key);
    EXPECT_TRUE(other_key == Result::CryptoBadSignature || other_key == Result::CryptoSignatureOutOfRange)
        << ResultName(other_key);
    Load("rsa_root", wrong_der, wrong, *provider);  // RSA-4096: the signature has the wrong size
    EXPECT_EQ(VerifyCertificateSignature(*provider, cert, wrong.key),
              Result::CryptoBadSignatureLength);
    Load("ec_leaf", wrong_der, wrong, *provider);
    EXPECT_EQ(VerifyCertificateSignature(*provider, cert, wrong.key), Result::CertKeyTypeMismatch);

    Load("ec_leaf", der, cert, *provider);
    Load("unknown_critical", wrong_der, wrong, *provider);  // P-256 like ec_inter, not it
    EXPECT_EQ(VerifyCertificateSignature(*provider, cert, wrong.key), Result::CryptoBadSignature);
    Load("ec_root", wrong_der, wrong, *provider);  // the issuer's issuer, on another curve
    const Result other_curve = VerifyCertificateSignature(*provider, cert, wrong.key);
    EXPECT_NE(other_curve, Result::Success) << ResultName(other_curve);
    Load("rsa_inter", wrong_der, wrong, *provider);
    EXPECT_EQ(VerifyCertificateSignature(*provider, cert, wrong.key), Result::CertKeyTypeMismatch);
  }
}

TEST_F(GeneratedCertificates, TamperedTbsFails) {
  for (const char* name : {"rsa_leaf", "ec_leaf", "pss_leaf"}) {
    SCOPED_TRACE(name);
    for (const CryptoProvider* provider : kProviders) {
      Bytes der, issuer_der;
      Certificate cert, issuer;
      Load(name, der, cert, *provider);
      Load(name == std::string("ec_leaf") ? "ec_inter"
           : name == std::string("pss_leaf") ? "rsa_root" : "rsa_inter",
           issuer_der, issuer, *provider);
      // Flip a bit inside the subject's last attribute value: still well-formed, no longer signed.
      der[static_cast<size_t>(cert.subject.end() - der.data()) - 1] ^= 0x01;
      ASSERT_EQ(ParseCertificate(*provider, In(der), cert), Result::Success);
      EXPECT_EQ(VerifyCertificateSignature(*provider, cert, issuer.key), Result::CryptoBadSignature);
    }
  }
}

TEST_F(GeneratedCertificates, SerialOfTwentyOneOctetsIsRejected) {
  const Bytes der = ReadFile(Path("serial21"));
  ASSERT_FALSE(der.empty());
  Certificate cert;
  der::Error error;
  EXPECT_EQ(ParseCertificate(BuiltinProvider(), In(der), cert, &error), Result::CertBadSerial);
  EXPECT_EQ(error.result, Result::CertBadSerial);
  const std::vector<Asn1Line> lines = Asn1Parse(Path("serial21"));
  EXPECT_EQ(error.offset, lines[4].offset);  // Certificate, TBS, [0], version, serial
  EXPECT_EQ(lines[4].type, "INTEGER");
}

TEST_F(GeneratedCertificates, UnsupportedCurveIsRejected) {
  const Bytes der = ReadFile(Path("p521"));
  ASSERT_FALSE(der.empty());
  Certificate cert;
  EXPECT_EQ(ParseCertificate(BuiltinProvider(), In(der), cert), Result::CertUnsupportedCurve);
}

TEST_F(GeneratedCertificates, MismatchedInnerAndOuterSignatureAlgorithmIsRejected) {
  Bytes der;
  Certificate cert;
  Load("rsa_leaf", der, cert);
  // sha512WithRSAEncryption (...01 0d) -> sha384WithRSAEncryption (...01 0c) in the outer copy.
  const size_t outer = static_cast<size_t>(cert.signature_algorithm.der.data() - der.data());
  ASSERT_EQ(der[outer + 12], 0x0d);
  der[outer + 12] = 0x0c;
  der::Error error;
  EXPECT_EQ(ParseCertificate(BuiltinProvider(), In(der), cert, &error),
            Result::CertSignatureAlgorithmMismatch);
  EXPECT_EQ(error.offset, outer);
}

TEST_F(GeneratedCertificates, EcPointOffTheCurveIsRejected) {
  for (const CryptoProvider* provider : kProviders) {
    SCOPED_TRACE(provider->name);
    for (const char* name : {"ec_leaf", "ec_root"}) {
      Bytes der;
      Certificate cert;
      Load(name, der, cert, *provider);
      const size_t last = static_cast<size_t>(cert.key.ec.point.end() - der.data()) - 1;
      const Bytes spki(cert.key.der.begin(), cert.key.der.end());
      der[last] ^= 0x01;  // y changes, x stays: the point leaves the curve
      der::Error error;
      EXPECT_EQ(ParseCertificate(*provider, In(der), cert, &error), Result::CertBadEcPoint);
      EXPECT_EQ(error.offset, last - cert.key.ec.point.size() + 1);

      SubjectPublicKeyInfo key;
      ASSERT_EQ(ParseSubjectPublicKeyInfo(*provider, In(spki), key), Result::Success);
      EXPECT_EQ(key.der, In(spki));
      Bytes bad_spki = spki;
      bad_spki.back() ^= 0x01;
      EXPECT_EQ(ParseSubjectPublicKeyInfo(*provider, In(bad_spki), key), Result::CertBadEcPoint);
      bad_spki = spki;
      bad_spki[bad_spki.size() - key.ec.point.size()] = 0x02;  // compressed form
      EXPECT_EQ(ParseSubjectPublicKeyInfo(*provider, In(bad_spki), key), Result::CertBadEcPoint);
    }
  }
}

// DER re-encoding helpers for hand-made variants of a generated certificate.
size_t HeaderLength(size_t contents_length) { return Tlv(0, Bytes(contents_length)).size() - contents_length; }

// Header length of an encoded element (already known to be valid DER).
size_t HeaderLengthOf(const uint8_t* element) {
  return element[1] < 0x80 ? 2 : 2 + (element[1] & 0x7f);
}

// Rebuilds cert with its extensions list replaced (the signature no longer matches: these
// variants are for parse-time checks).
Bytes WithExtensions(const Certificate& cert, const Bytes& extensions) {
  // The [3] element is last in the TBS; everything between the TBS header and it is kept.
  const size_t sequence_header = HeaderLength(cert.extensions.size());
  const size_t explicit_header = HeaderLength(cert.extensions.size() + sequence_header);
  const uint8_t* explicit_start = cert.extensions.data() - sequence_header - explicit_header;
  Bytes tbs(cert.tbs.data() + HeaderLengthOf(cert.tbs.data()), explicit_start);
  const Bytes explicit_tag = Tlv(0xa3, Tlv(0x30, extensions));
  tbs.insert(tbs.end(), explicit_tag.begin(), explicit_tag.end());
  Bytes certificate = Tlv(0x30, tbs);
  certificate.insert(certificate.end(), cert.signature_algorithm.der.begin(), cert.signature_algorithm.der.end());
  Bytes signature{0x00};
  signature.insert(signature.end(), cert.signature.begin(), cert.signature.end());
  const Bytes bit_string = Tlv(0x03, signature);
  certificate.insert(certificate.end(), bit_string.begin(), bit_string.end());
  return Tlv(0x30, certificate);
}

TEST_F(GeneratedCertificates, RebuiltCertificateParsesLikeTheOriginal) {
  Bytes der;
  Certificate cert;
  Load("ec_leaf", der, cert);
  const Bytes rebuilt = WithExtensions(cert, Bytes(cert.extensions.begin(), cert.extensions.end()));
  EXPECT_EQ(rebuilt, der);
}

TEST_F(GeneratedCertificates, DuplicateExtensionIsRejected) {
  Bytes der;
  Certificate cert;
  Load("ec_leaf", der, cert);
  // Append a second copy of the first extension.
  der::Reader reader(cert.extensions);
  Input first;
  ASSERT_EQ(reader.ReadRawAny(first), Result::Success);
  Bytes extensions(cert.extensions.begin(), cert.extensions.end());
  extensions.insert(extensions.end(), first.begin(), first.end());
  const Bytes duplicate = WithExtensions(cert, extensions);
  Certificate parsed;
  der::Error error;
  EXPECT_EQ(ParseCertificate(BuiltinProvider(), In(duplicate), parsed, &error),
            Result::CertDuplicateExtension);
  EXPECT_EQ(error.offset, duplicate.size() - (cert.der.end() - cert.extensions.end()) - first.size());

  // An unknown extension twice is a duplicate too.
  const Bytes unknown = Tlv(0x30, {0x06, 0x03, 0x2a, 0x03, 0x04, 0x04, 0x02, 0x05, 0x00});
  Bytes twice(cert.extensions.begin(), cert.extensions.end());
  twice.insert(twice.end(), unknown.begin(), unknown.end());
  twice.insert(twice.end(), unknown.begin(), unknown.end());
  EXPECT_EQ(ParseCertificate(BuiltinProvider(), In(WithExtensions(cert, twice)), parsed),
            Result::CertDuplicateExtension);
}

TEST_F(GeneratedCertificates, MalformedExtensionsAreRejected) {
  Bytes der;
  Certificate cert;
  Load("ec_leaf", der, cert);
  const Bytes key_usage_oid = {0x06, 0x03, 0x55, 0x1d, 0x0f};
  const Bytes critical_false = {0x01, 0x01, 0x00};
  struct Case {
    Bytes extension;
    Result expected;
  };
  auto extension = [](const Bytes& oid, const Bytes& middle, const Bytes& value) {
    Bytes contents = oid;
    contents.insert(contents.end(), middle.begin(), middle.end());
    const Bytes octets = Tlv(0x04, value);
    contents.insert(contents.end(), octets.begin(), octets.end());
    return Tlv(0x30, contents);
  };
  const Bytes basic_constraints_oid = {0x06, 0x03, 0x55, 0x1d, 0x13};
  const Case cases[] = {
      // critical FALSE is the DEFAULT and must not be encoded
      {extension(key_usage_oid, critical_false, {0x03, 0x02, 0x07, 0x80}), Result::DerBadBoolean},
      // keyUsage with trailing zero bits, with no bits, with more than 9 bits
      {extension(key_usage_oid, {}, {0x03, 0x02, 0x06, 0x80}), Result::CertBadKeyUsage},
      {extension(key_usage_oid, {}, {0x03, 0x01, 0x00}), Result::CertBadKeyUsage},
      {extension(key_usage_oid, {}, {0x03, 0x04, 0x07, 0x80, 0x00, 0x80}), Result::CertBadKeyUsage},
      // pathLenConstraint without cA
      {extension(basic_constraints_oid, {}, {0x30, 0x03, 0x02, 0x01, 0x00}), Result::CertBadBasicConstraints},
      // trailing bytes inside an extension value
      {extension(basic_constraints_oid, {}, {0x30, 0x00, 0x05, 0x00}), Result::DerTrailingData},
      // empty extKeyUsage, empty subjectKeyIdentifier
      {extension({0x06, 0x03, 0x55, 0x1d, 0x25}, {}, {0x30, 0x00}), Result::CertBadExtKeyUsage},
      {extension({0x06, 0x03, 0x55, 0x1d, 0x0e}, {}, {0x04, 0x00}), Result::CertBadKeyIdentifier},
  };
  // The generated leaf already has these extensions: replace the list with just the case.
  for (const Case& c : cases) {
    Certificate parsed;
    EXPECT_EQ(ParseCertificate(BuiltinProvider(), In(WithExtensions(cert, c.extension)), parsed),
              c.expected)
        << Hex(In(c.extension));
  }
  Bytes too_many;
  for (int i = 0; i <= static_cast<int>(kMaxExtKeyUsages); ++i) {
    const Bytes oid = {0x06, 0x02, 0x2a, static_cast<uint8_t>(i)};
    too_many.insert(too_many.end(), oid.begin(), oid.end());
  }
  Certificate parsed;
  EXPECT_EQ(ParseCertificate(BuiltinProvider(),
                             In(WithExtensions(cert, extension({0x06, 0x03, 0x55, 0x1d, 0x25}, {}, Tlv(0x30, too_many)))),
                             parsed),
            Result::CertTooManyExtKeyUsages);
  EXPECT_EQ(ParseCertificate(BuiltinProvider(), In(WithExtensions(cert, {})), parsed),
            Result::CertBadExtensions);
}

TEST_F(GeneratedCertificates, FormatNameReportsSmallBuffers) {
  Bytes der;
  Certificate cert;
  Load("rsa_root", der, cert);
  const std::string full = FormatNameString(cert.subject);
  std::vector<char> buffer(full.size() + 1);
  size_t length = 0;
  ASSERT_EQ(FormatName(cert.subject, buffer.data(), buffer.size(), length), Result::Success);
  EXPECT_EQ(std::string(buffer.data()), full);
  EXPECT_EQ(FormatName(cert.subject, buffer.data(), full.size(), length), Result::BufferTooSmall);
  EXPECT_EQ(buffer[0], '\0');
}

// Every prefix fails; so does every prefix whose outer length is rewritten to fit it (then the
// cut shows up inside, as a length past its parent or a missing field).
void ExpectEveryTruncationFails(const Bytes& der) {
  for (size_t length = 0; length < der.size(); ++length) {
    Certificate cert;
    der::Error error;
    ASSERT_EQ(ParseCertificate(BuiltinProvider(), Input(der.data(), length), cert, &error),
              Result::DerTruncated)
        << length;
    ASSERT_EQ(error.result, Result::DerTruncated);
    const size_t outer_header = HeaderLengthOf(der.data());
    if (length <= outer_header) continue;
    const Bytes refit = Tlv(0x30, Bytes(der.begin() + outer_header, der.begin() + length));
    const Result result = ParseCertificate(BuiltinProvider(), In(refit), cert, &error);
    ASSERT_NE(result, Result::Success) << length;
    ASSERT_EQ(error.result, result) << length;
    ASSERT_LE(error.offset, refit.size()) << length;
  }
}

TEST_F(GeneratedCertificates, EveryTruncationFails) {
  for (const char* name : {"rsa_leaf", "ec_leaf", "pss_leaf"}) {
    SCOPED_TRACE(name);
    ExpectEveryTruncationFails(ReadFile(Path(name)));
  }
}

TEST_F(GeneratedCertificates, TrailingDataIsRejected) {
  Bytes der = ReadFile(Path("ec_leaf"));
  der.push_back(0);
  Certificate cert;
  der::Error error;
  EXPECT_EQ(ParseCertificate(BuiltinProvider(), In(der), cert, &error), Result::DerTrailingData);
  EXPECT_EQ(error.offset, der.size() - 1);
}

// ---- The Debian Secure Boot CA ----------------------------------------------------------------

std::string DebianCaPath() {
  return std::string(HVSIG_TEST_CACHE) + "/root/usr/share/shim/debian-uefi-ca.der";
}

TEST(DebianSecureBootCa, FieldsMatchOpensslAndItIsSelfSigned) {
  const Bytes der = ReadFile(DebianCaPath());
  ASSERT_FALSE(der.empty()) << DebianCaPath() << " missing: run the fetch.debian_packages test";
  for (const CryptoProvider* provider : kProviders) {
    SCOPED_TRACE(provider->name);
    Certificate cert;
    der::Error error;
    ASSERT_EQ(ParseCertificate(*provider, In(der), cert, &error), Result::Success)
        << ResultName(error.result) << " at " << error.offset;
    ExpectMatchesOpenssl(DebianCaPath(), der, cert);
    EXPECT_EQ(cert.subject, cert.issuer);
    EXPECT_EQ(cert.key.type, KeyType::Rsa);
    EXPECT_TRUE(cert.is_ca);
    EXPECT_EQ(VerifyCertificateSignature(*provider, cert, cert.key), Result::Success);
  }
}

TEST(DebianSecureBootCa, EveryTruncationFails) {
  const Bytes der = ReadFile(DebianCaPath());
  ASSERT_FALSE(der.empty()) << DebianCaPath();
  ExpectEveryTruncationFails(der);
}

}  // namespace
}  // namespace hvsig
