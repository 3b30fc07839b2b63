// Keyrings, revocation, SBAT, purposes and hash authorization (issue 4), at the core level
// (keyring:: and policy:: on images signed at test time) and through `hvsig verify` on Debian's
// and Microsoft's binaries with Debian's OVMF db. Oracles: efitools and pesign's efisiglist
// make the signature lists, pesign -h gives image digests, openssl extracts certificates and
// their TBSCertificate, objcopy extracts .sbat sections.
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "authenticode_support.h"
#include "hvsig/crypto_openssl.h"
#include "hvsig/efi.h"
#include "hvsig/keyring.h"
#include "hvsig/policy.h"
#include "signing_support.h"
#include "tools/common/file_image.h"

namespace hvsig::test {
namespace {

using nlohmann::json;
using keyring::Keyring;
using keyring::KeyringId;

const std::string kTool = HVSIG_TOOL;

const CryptoProvider& Provider() { return OpenSslProvider(); }

std::string Ovmf(const std::string& name) {
  return std::string(HVSIG_TEST_CACHE) + "/root/usr/share/OVMF/" + name;
}
std::string Work(const std::string& name) { return kWork + "/policy-" + name; }

CommandResult Hvsig(const std::string& args) { return RunCommand(kTool + " " + args + " 2>&1"); }

// `hvsig verify --json`: the exit code and the parsed object.
json VerifyJson(const std::string& args, int want_exit) {
  const CommandResult r = RunCommand(kTool + " verify --json " + args);
  EXPECT_EQ(r.exit_code, want_exit) << args << "\n" << r.out;
  return json::parse(r.out);
}

std::string PesignSha256(const std::string& image) {
  const CommandResult r = RunCommand("pesign -h -i " + ShellQuote(image));
  const size_t at = r.out.find("hash: ");
  if (at == std::string::npos) throw std::runtime_error("pesign -h: " + r.out);
  return Lower(Trim(r.out.substr(at + 6)));
}

// DER of a PEM or DER certificate file, through openssl.
Bytes CertificateDer(const std::string& path) {
  const std::string out = path + ".policy.der";
  Sh("openssl x509 -in " + ShellQuote(path) + " -outform DER -out " + ShellQuote(out) +
     " 2>/dev/null || openssl x509 -inform DER -in " + ShellQuote(path) + " -outform DER -out " +
     ShellQuote(out));
  return ReadFile(out);
}

// SHA-256 of the TBSCertificate, by OpenSSL's own encoder.
Bytes TbsSha256(const Bytes& der) {
  const uint8_t* p = der.data();
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (x == nullptr) throw std::runtime_error("d2i_X509");
  uint8_t* tbs = nullptr;
  const int length = i2d_re_X509_tbs(x, &tbs);
  Bytes digest(32);
  SHA256(tbs, static_cast<size_t>(length), digest.data());
  OPENSSL_free(tbs);
  X509_free(x);
  return digest;
}

Bytes SubjectSha256(const Bytes& der) {
  const uint8_t* p = der.data();
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  uint8_t* name = nullptr;
  const int length = i2d_X509_NAME(X509_get_subject_name(x), &name);
  Bytes digest(32);
  SHA256(name, static_cast<size_t>(length), digest.data());
  OPENSSL_free(name);
  X509_free(x);
  return digest;
}

// The certificates an image's signatures carry, as PEM files (osslsigncode + openssl), whose
// subject contains `cn`.
std::string ExtractSignatureCertificate(const std::string& image, const std::string& cn,
                                        const std::string& name) {
  return Cached("policy-" + name + ".pem", [&](const std::string& out) {
    // Every WIN_CERTIFICATE's PKCS#7 (the PE field locator of authenticode_support.h), then
    // openssl prints their certificates.
    const Bytes file = ReadFile(image);
    const PeFields f = LocateFields(file);
    std::string printed;
    for (uint64_t at = f.cert_table_offset; at + 8 < f.cert_table_end();) {
      const uint32_t length = GetLe32(file, at);
      const Bytes der(file.begin() + static_cast<long>(at + 8),
                      file.begin() + static_cast<long>(at + 8 + DerElementLength(file, at + 8)));
      const std::string sig = out + ".p7";
      WriteFile(sig, der);
      printed += RunCommand("openssl pkcs7 -inform DER -print_certs -in " + ShellQuote(sig)).out;
      at += (length + 7u) & ~7u;
    }
    std::istringstream lines(printed);
    std::string block, subject;
    bool found = false;
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("subject=", 0) == 0) {
        subject = line;
        block.clear();
      }
      if (line.rfind("subject=", 0) == 0 || line.rfind("issuer=", 0) == 0) continue;
      block += line + "\n";
      if (line == "-----END CERTIFICATE-----" && subject.find(cn) != std::string::npos) {
        WriteFile(out, Bytes(block.begin(), block.end()));
        found = true;
        break;
      }
      if (line == "-----END CERTIFICATE-----") block.clear();
    }
    if (!found) throw std::runtime_error("no certificate " + cn + " in " + image);
  });
}

// cert-to-efi-sig-list (efitools) for a PEM or DER certificate.
std::string CertEsl(const std::string& cert, const std::string& name) {
  return Cached("policy-" + name + ".esl", [&](const std::string& out) {
    const std::string pem = out + ".pem";
    const Bytes der = CertificateDer(cert);
    WriteFile(out + ".der", der);
    Sh("openssl x509 -inform DER -in " + ShellQuote(out + ".der") + " -out " + ShellQuote(pem));
    Sh("cert-to-efi-sig-list " + ShellQuote(pem) + " " + ShellQuote(out) + " >/dev/null");
  });
}

// efisiglist (pesign) for one SHA-256 image hash.
std::string HashEsl(const std::string& hex, const std::string& name) {
  return Cached("policy-" + name + ".esl", [&](const std::string& out) {
    Sh("efisiglist -a -t sha256 -h " + hex + " -o " + ShellQuote(out));
  });
}

void PutGuid(Bytes& b, const efi::Guid& g) { b.insert(b.end(), g.bytes, g.bytes + 16); }
void PutU32(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// One EFI_SIGNATURE_LIST of `type` holding `entries` (each SignatureData), owner all 0x11.
// No tool writes EFI_CERT_X509_SHA256 lists, so those are built here.
Bytes BuildList(const efi::Guid& type, const std::vector<Bytes>& entries) {
  const uint32_t signature_size = static_cast<uint32_t>(16 + entries.at(0).size());
  Bytes b;
  PutGuid(b, type);
  PutU32(b, static_cast<uint32_t>(28 + signature_size * entries.size()));
  PutU32(b, 0);
  PutU32(b, signature_size);
  for (const Bytes& data : entries) {
    b.insert(b.end(), 16, 0x11);
    b.insert(b.end(), data.begin(), data.end());
  }
  return b;
}

std::string TbsEsl(const Bytes& tbs_sha256, const std::string& name) {
  const std::string path = Work(name + ".esl");
  Bytes data = tbs_sha256;
  data.insert(data.end(), 16, 0);  // EFI_TIME zero: revoked since always
  WriteFile(path, BuildList(efi::kCertX509Sha256Guid, {data}));
  return path;
}

// ---- Core: keyrings ------------------------------------------------------------------------

struct ParsedCert {
  Bytes der;
  Certificate cert{};
};

std::unique_ptr<ParsedCert> Parse(const std::string& path) {
  auto p = std::make_unique<ParsedCert>();
  p->der = CertificateDer(path);
  EXPECT_EQ(ParseCertificate(Provider(), Input(p->der.data(), p->der.size()), p->cert),
            Result::Success);
  return p;
}

std::unique_ptr<Keyring> NewKeyring(KeyringId id) {
  auto k = std::make_unique<Keyring>();
  keyring::Init(*k, id);
  return k;
}

TEST(Keyring, SecondaryAcceptsOnlyKeysSignedByBuiltinOrSecondary) {
  const Credential root = MakeCredential("policy-root", KeyType::Rsa2048, nullptr, true);
  const Credential intermediate =
      MakeCredential("policy-intermediate", KeyType::P256, &root, true);
  const Credential below = MakeCredential("policy-below-intermediate", KeyType::Rsa2048,
                                          &intermediate, false);
  const Credential unknown_root = MakeCredential("policy-unknown-root", KeyType::Rsa2048, nullptr, true);
  const Credential unknown = MakeCredential("policy-unknown-signed", KeyType::Rsa2048, &unknown_root, false);
  auto root_cert = Parse(root.cert);
  auto intermediate_cert = Parse(intermediate.cert);
  auto below_cert = Parse(below.cert);
  auto unknown_cert = Parse(unknown.cert);
  auto unknown_root_cert = Parse(unknown_root.cert);

  auto builtin = NewKeyring(KeyringId::Builtin);
  auto secondary = NewKeyring(KeyringId::Secondary);
  ASSERT_EQ(keyring::AddCertificate(*builtin, root_cert->cert, keyring::Origin::Runtime), Result::Success);

  EXPECT_EQ(keyring::AddToSecondary(Provider(), *secondary, *builtin, nullptr, unknown_cert->cert),
            Result::KeyringLinkNotPermitted);
  // Self-signed and unknown to both keyrings: refused too.
  EXPECT_EQ(keyring::AddToSecondary(Provider(), *secondary, *builtin, nullptr,
                                    unknown_root_cert->cert),
            Result::KeyringLinkNotPermitted);
  // Signed by a secondary key, before that key is in: refused.
  EXPECT_EQ(keyring::AddToSecondary(Provider(), *secondary, *builtin, nullptr, below_cert->cert),
            Result::KeyringLinkNotPermitted);
  EXPECT_EQ(secondary->certificate_count, 0u);
  EXPECT_EQ(keyring::AddToSecondary(Provider(), *secondary, *builtin, nullptr,
                                    intermediate_cert->cert),
            Result::Success);
  EXPECT_EQ(keyring::AddToSecondary(Provider(), *secondary, *builtin, nullptr, below_cert->cert),
            Result::Success);
  EXPECT_EQ(secondary->certificate_count, 2u);

  // A blacklisted key is refused even when properly signed.
  auto secondary2 = NewKeyring(KeyringId::Secondary);
  auto blacklist = NewKeyring(KeyringId::Blacklist);
  const Bytes tbs = TbsSha256(intermediate_cert->der);
  ASSERT_EQ(keyring::AddHash(*blacklist, keyring::HashKind::Tbs, DigestAlg::Sha256,
                             Input(tbs.data(), tbs.size()), keyring::Origin::Dbx),
            Result::Success);
  EXPECT_EQ(keyring::AddToSecondary(Provider(), *secondary2, *builtin, blacklist.get(),
                                    intermediate_cert->cert),
            Result::KeyringBlacklisted);
}

TEST(Keyring, LookupsBySubjectKeySkidAndIssuerSerial) {
  const Credential root = MakeCredential("policy-root", KeyType::Rsa2048, nullptr, true);
  const Credential intermediate = MakeCredential("policy-intermediate", KeyType::P256, &root, true);
  auto root_cert = Parse(root.cert);
  auto intermediate_cert = Parse(intermediate.cert);
  auto ring = NewKeyring(KeyringId::Platform);
  ASSERT_EQ(keyring::AddCertificate(*ring, root_cert->cert, keyring::Origin::Db), Result::Success);
  ASSERT_EQ(keyring::AddCertificate(*ring, intermediate_cert->cert, keyring::Origin::Db), Result::Success);
  // The same certificate again is not a second entry.
  ASSERT_EQ(keyring::AddCertificate(*ring, root_cert->cert, keyring::Origin::Db), Result::Success);
  EXPECT_EQ(ring->certificate_count, 2u);
  const Certificate& c = intermediate_cert->cert;
  EXPECT_EQ(keyring::FindBySubjectKey(*ring, c.subject, c.key.der), 1);
  EXPECT_EQ(keyring::FindBySubjectKey(*ring, c.subject, root_cert->cert.key.der), -1);
  EXPECT_EQ(keyring::FindBySkid(*ring, c.subject_key_id), 1);
  EXPECT_EQ(keyring::FindBySkid(*ring, c.authority_key_id), 0);
  EXPECT_EQ(keyring::FindByIssuerSerial(*ring, c.issuer, c.serial), 1);
  EXPECT_EQ(keyring::FindByIssuerSerial(*ring, c.issuer, root_cert->cert.serial), 0);
  EXPECT_EQ(keyring::FindIssuer(Provider(), *ring, c), 0);
}

TEST(Keyring, OverflowingACapacityIsKeyringFullAndChangesNothing) {
  std::vector<Bytes> hashes;
  for (size_t i = 0; i <= keyring::kMaxHashes; ++i) {
    Bytes h(32, 0);
    h[0] = static_cast<uint8_t>(i);
    h[1] = static_cast<uint8_t>(i >> 8);
    hashes.push_back(h);
  }
  auto blacklist = NewKeyring(KeyringId::Blacklist);
  const Bytes full(BuildList(efi::kCertSha256Guid,
                             std::vector<Bytes>(hashes.begin(), hashes.end() - 1)));
  Error error;
  ASSERT_EQ(keyring::AddSignatureLists(Provider(), *blacklist, Input(full.data(), full.size()), 0,
                                       keyring::Origin::Dbx, error),
            Result::Success);
  EXPECT_EQ(blacklist->hash_count, keyring::kMaxHashes);

  auto other = NewKeyring(KeyringId::Blacklist);
  const Bytes over = BuildList(efi::kCertSha256Guid, hashes);
  EXPECT_EQ(keyring::AddSignatureLists(Provider(), *other, Input(over.data(), over.size()), 0,
                                       keyring::Origin::Dbx, error),
            Result::KeyringFull);
  EXPECT_EQ(error.result, Result::KeyringFull);
  EXPECT_EQ(error.offset, 28u + 48u * keyring::kMaxHashes);  // the entry that did not fit
  EXPECT_EQ(other->hash_count, 0u);

  // Certificates: kMaxCertificates distinct ones fit, one more is KeyringFull.
  const Credential root = MakeCredential("policy-root", KeyType::Rsa2048, nullptr, true);
  const Bytes der = CertificateDer(root.cert);
  std::vector<Bytes> copies;
  for (size_t i = 0; i <= keyring::kMaxCertificates; ++i) {
    Bytes copy = der;
    copy.back() = static_cast<uint8_t>(i);  // the signature's last byte: still parses
    copies.push_back(copy);
  }
  auto ring = NewKeyring(KeyringId::Platform);
  for (size_t i = 0; i <= keyring::kMaxCertificates; ++i) {
    Certificate cert{};
    ASSERT_EQ(ParseCertificate(Provider(), Input(copies[i].data(), copies[i].size()), cert),
              Result::Success);
    EXPECT_EQ(keyring::AddCertificate(*ring, cert, keyring::Origin::Db),
              i < keyring::kMaxCertificates ? Result::Success : Result::KeyringFull);
  }
  EXPECT_EQ(ring->certificate_count, keyring::kMaxCertificates);
}

TEST(Keyring, DatabaseEntriesGoWhereTheirTypeBelongs) {
  const Credential root = MakeCredential("policy-root", KeyType::Rsa2048, nullptr, true);
  const Bytes cert = ReadFile(CertEsl(root.cert, "root"));
  const Bytes hash = ReadFile(HashEsl(std::string(64, 'a'), "aaaa"));
  Bytes tbs_data(48, 0x22);
  const Bytes tbs = BuildList(efi::kCertX509Sha256Guid, {tbs_data});
  Bytes all = cert;
  all.insert(all.end(), hash.begin(), hash.end());
  all.insert(all.end(), tbs.begin(), tbs.end());
  Error error;
  auto db = NewKeyring(KeyringId::Platform);
  ASSERT_EQ(keyring::AddSignatureLists(Provider(), *db, Input(all.data(), all.size()), 0,
                                       keyring::Origin::Db, error),
            Result::Success);
  EXPECT_EQ(db->certificate_count, 1u);
  EXPECT_EQ(db->hash_count, 1u);
  EXPECT_EQ(db->ignored_entries, 1u);  // a TBS hash means nothing in db
  EXPECT_EQ(db->hashes[0].value, Input(Bytes(32, 0xaa).data(), 32));
  auto dbx = NewKeyring(KeyringId::Blacklist);
  ASSERT_EQ(keyring::AddSignatureLists(Provider(), *dbx, Input(all.data(), all.size()), 0,
                                       keyring::Origin::Dbx, error),
            Result::Success);
  EXPECT_EQ(dbx->hash_count, 2u);
  EXPECT_EQ(dbx->hashes[1].kind, keyring::HashKind::Tbs);
  // A malformed database changes nothing and names its check.
  Bytes bad = all;
  bad.pop_back();
  EXPECT_EQ(keyring::AddSignatureLists(Provider(), *dbx, Input(bad.data(), bad.size()), 0,
                                       keyring::Origin::Dbx, error),
            Result::EslListOverrun);
  EXPECT_EQ(dbx->hash_count, 2u);
  auto builtin = NewKeyring(KeyringId::Builtin);
  EXPECT_EQ(keyring::AddSignatureLists(Provider(), *builtin, Input(all.data(), all.size()), 0,
                                       keyring::Origin::Db, error),
            Result::InvalidArgument);
}

// The test build's generated key list (tests/CMakeLists.txt: two certificates in one PEM file
// and one DER file, made at build time by openssl).
TEST(Builtin, GeneratedSourceHoldsTheConfiguredCertificates) {
  const std::string dir = HVSIG_BUILTIN_TEST_KEYS;
  std::vector<Bytes> expected;
  for (const char* name : {"one.der", "two.der", "three.der"}) {
    expected.push_back(ReadFile(dir + "/" + name));
  }
  ASSERT_EQ(keyring::kBuiltinKeys.count, expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(keyring::kBuiltinKeys.keys[i],
              Input(expected[i].data(), expected[i].size())) << i;
  }
  auto builtin = std::make_unique<Keyring>();
  size_t index = 0;
  der::Error error;
  ASSERT_EQ(keyring::LoadBuiltin(Provider(), keyring::kBuiltinKeys, *builtin, index, error),
            Result::Success);
  EXPECT_EQ(builtin->certificate_count, expected.size());
}

// ---- Core: SBAT ----------------------------------------------------------------------------

Input Text(const std::string& s) { return Input(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

TEST(Sbat, LevelTextParsesLikeShims) {
  const std::string text = "sbat,1,2021030218\ngrub,3\ngrub.debian,4\n";
  policy::SbatList level{};
  Error error;
  ASSERT_EQ(policy::ParseSbatLevel(Text(text), level, error), Result::Success);
  ASSERT_EQ(level.count, 3);
  EXPECT_EQ(level.entries[1].component, Text("grub"));
  EXPECT_EQ(level.entries[1].generation, 3u);
  EXPECT_EQ(level.entries[2].generation, 4u);
  EXPECT_EQ(policy::ParseSbatLevel(Text("sbat,1\ngrub,3"), level, error), Result::Success);
  const std::pair<std::string, uint64_t> bad[] = {
      {"", 0}, {"grub,3\n", 0}, {"sbat,1\ngrub\n", 7}, {"sbat,1\ngrub,03\n", 12},
      {"sbat,1\ngrub,3,x\n", 14}, {"sbat,1\ngrub,3\ngrub,4\n", 14}, {"sbat,1\n\n", 7},
      {"sbat,1\ngr ub,3\n", 7}, {"sbat,1\ngrub,3,1,2\n", 7}, {"sbat,1\ngrub,0\n", 12}};
  for (const auto& [text_bad, offset] : bad) {
    EXPECT_EQ(policy::ParseSbatLevel(Text(text_bad), level, error), Result::SbatLevelMalformed)
        << text_bad;
    EXPECT_EQ(error.offset, offset) << text_bad;
  }
}

const char* kSbatHeader = "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n";

TEST(Sbat, SectionGrammarIsStrictAndFailsClosed) {
  policy::SbatList list{};
  Error error;
  const std::string good = std::string(kSbatHeader) + "grub,3,FSF,grub,2.06,https://x\n";
  std::string padded = good;
  padded.append(100, '\0');
  ASSERT_EQ(policy::ParseSbatSection(Text(padded), list, error), Result::Success);
  EXPECT_EQ(list.count, 2);
  EXPECT_EQ(list.entries[1].generation, 3u);
  const size_t line2 = std::string(kSbatHeader).size();
  const std::pair<std::string, uint64_t> bad[] = {
      {std::string("\0\0", 2), 0},
      {good.substr(0, good.size() - 1), good.size() - 2},               // no final newline
      {good + std::string("\0x", 2), good.size() + 1},                 // garbage after the NUL
      {"grub,3,FSF,grub,2.06,https://x\n", 0},                         // sbat not first
      {std::string(kSbatHeader) + "grub,3,FSF,grub,2.06\n", line2},    // five fields
      {std::string(kSbatHeader) + "grub,3,FSF,grub,2.06,u,v\n", line2},  // seven
      {std::string(kSbatHeader) + "grub,x3,FSF,grub,2.06,u\n", line2 + 5},
      {std::string(kSbatHeader) + "grub,3,,grub,2.06,u\n", line2 + 7},
      {std::string(kSbatHeader) + "grub,3,\"F\",grub,2.06,u\n", line2 + 7},
      {std::string(kSbatHeader) + "gr*b,3,F,grub,2.06,u\n", line2},
      {good + "grub,4,F,grub,2.06,u\n", good.size()},                  // grub twice
      {std::string(kSbatHeader) + "grub,3,F,grub,2.06,u\r\n", line2 + 19},  // CR in the url
  };
  for (const auto& [text, offset] : bad) {
    EXPECT_EQ(policy::ParseSbatSection(Text(text), list, error), Result::SbatMalformed) << text;
    SCOPED_TRACE(text);
    EXPECT_EQ(error.offset, offset) << text;
  }
  std::string many = kSbatHeader;
  for (size_t i = 1; i <= policy::kMaxSbatEntries; ++i) {
    many += "c" + std::to_string(i) + ",1,V,p,1,u\n";
  }
  EXPECT_EQ(policy::ParseSbatSection(Text(many), list, error), Result::SbatTooManyEntries);
}

// ---- Core: policy on images signed at test time --------------------------------------------

struct CoreRun {
  std::unique_ptr<authenticode::Verification> v = std::make_unique<authenticode::Verification>();
  std::unique_ptr<policy::Decision> d = std::make_unique<policy::Decision>();
  Result result = Result::Success;
};

CoreRun Decide(const std::string& image, const policy::Keyrings& keyrings,
               const policy::Policy& policy) {
  CoreRun run;
  tools::FileImage file;
  std::string io_error;
  EXPECT_TRUE(file.Open(image, io_error)) << io_error;
  authenticode::Options options;
  policy::PrepareOptions(policy, keyrings, options);
  std::vector<uint8_t> storage(1 << 20);
  if (authenticode::Prepare(Provider(), file.Source(), options,
                            MutableBytes{storage.data(), storage.size()}, *run.v) ==
      Result::Success) {
    authenticode::Hash(file.Source(), nullptr, *run.v);
  }
  run.result =
      policy::Decide(Provider(), file.Source(), keyrings, policy, options, *run.v, *run.d);
  return run;
}

std::string SignedKernel(const std::string& name, const Credential& signer) {
  const std::string unsigned_kernel = UnsignedKernel();
  return Cached("policy-" + name + ".efi",
                [&](const std::string& out) { SbSign(unsigned_kernel, out, signer); });
}

TEST(PolicyCoreDebian, PlatformSignerTrustedForKexecRefusedForLivepatchByPurposeRule) {
  const SigningIdentity id = Identity("policy-platform", KeyType::Rsa2048);
  const std::string image = SignedKernel("platform-signed", id.signer);
  auto ca = Parse(id.ca.cert);
  auto platform = NewKeyring(KeyringId::Platform);
  ASSERT_EQ(keyring::AddCertificate(*platform, ca->cert, keyring::Origin::Db), Result::Success);
  policy::Keyrings keyrings{};
  keyrings.rings[static_cast<size_t>(KeyringId::Platform)] = platform.get();

  for (policy::Purpose purpose : {policy::Purpose::Kexec, policy::Purpose::KexecCrash}) {
    CoreRun kexec = Decide(image, keyrings, policy::DefaultPolicy(purpose));
    EXPECT_EQ(kexec.result, Result::Success);
    EXPECT_EQ(kexec.d->verdict, policy::Verdict::Trusted);
    EXPECT_TRUE(kexec.d->has_keyring);
    EXPECT_EQ(kexec.d->keyring, KeyringId::Platform);
    EXPECT_EQ(kexec.d->audit.keyring, KeyringId::Platform);
    EXPECT_TRUE(kexec.d->audit.accepted);
  }

  CoreRun livepatch = Decide(image, keyrings, policy::DefaultPolicy(policy::Purpose::Livepatch));
  EXPECT_EQ(livepatch.result, Result::PurposeKeyringNotAllowed);
  EXPECT_EQ(livepatch.d->verdict, policy::Verdict::Rejected);
  EXPECT_FALSE(livepatch.d->audit.accepted);
  EXPECT_EQ(livepatch.d->audit.reason, Result::PurposeKeyringNotAllowed);

  // Modes change acceptance, never the verdict.
  policy::Policy log = policy::DefaultPolicy(policy::Purpose::Livepatch);
  log.mode = policy::Mode::Log;
  CoreRun logged = Decide(image, keyrings, log);
  EXPECT_EQ(logged.d->verdict, policy::Verdict::Rejected);
  EXPECT_TRUE(logged.d->accepted);

  // Allowing platform for livepatch makes it trusted: the rule, not the image, refused it.
  policy::Policy wide = policy::DefaultPolicy(policy::Purpose::Livepatch);
  wide.fallback_keyrings = keyring::KeyringBit(KeyringId::Platform);
  EXPECT_EQ(Decide(image, keyrings, wide).result, Result::Success);
}

TEST(PolicyCoreDebian, AuditRecordNamesSignerAnchorKeyringAndDigest) {
  const SigningIdentity id = Identity("policy-platform", KeyType::Rsa2048);
  const std::string image = SignedKernel("platform-signed", id.signer);
  auto ca = Parse(id.ca.cert);
  auto signer = Parse(id.signer.cert);
  auto builtin = NewKeyring(KeyringId::Builtin);
  ASSERT_EQ(keyring::AddCertificate(*builtin, ca->cert, keyring::Origin::Runtime), Result::Success);
  policy::Keyrings keyrings{};
  keyrings.rings[static_cast<size_t>(KeyringId::Builtin)] = builtin.get();
  CoreRun run = Decide(image, keyrings, policy::DefaultPolicy(policy::Purpose::Livepatch));
  ASSERT_EQ(run.result, Result::Success);
  const policy::AuditRecord& a = run.d->audit;
  EXPECT_EQ(a.purpose, policy::Purpose::Livepatch);
  EXPECT_EQ(a.verdict, policy::Verdict::Trusted);
  EXPECT_EQ(a.reason, Result::Success);
  EXPECT_EQ(a.keyring, KeyringId::Builtin);
  EXPECT_EQ(a.signature, 0);
  EXPECT_EQ(Bytes(a.image_sha256, a.image_sha256 + 32), FromHex(PesignSha256(image)));
  EXPECT_EQ(Bytes(a.signer.subject_sha256, a.signer.subject_sha256 + 32),
            SubjectSha256(signer->der));
  EXPECT_EQ(Bytes(a.anchor.subject_sha256, a.anchor.subject_sha256 + 32), SubjectSha256(ca->der));
  const std::string serial_text = Trim(RunCommand("openssl x509 -noout -serial -in " +
                                                  ShellQuote(id.signer.cert)).out);
  EXPECT_EQ(Bytes(a.signer.serial, a.signer.serial + a.signer.serial_length),
            FromHex(serial_text.substr(serial_text.find('=') + 1)));
}

TEST(PolicyCoreDebian, ModuleSigningEkuIsRefusedForImages) {
  const Credential ca = MakeCredential("policy-modsign-ca", KeyType::Rsa2048, nullptr, true);
  const Credential signer = MakeCredential(
      "policy-modsign-signer", KeyType::Rsa2048, &ca, false, "",
      "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
      "extendedKeyUsage=codeSigning,1.3.6.1.4.1.2312.16.1.2\nsubjectKeyIdentifier=hash\n");
  const std::string image = SignedKernel("modsign-signed", signer);
  auto ca_cert = Parse(ca.cert);
  auto builtin = NewKeyring(KeyringId::Builtin);
  ASSERT_EQ(keyring::AddCertificate(*builtin, ca_cert->cert, keyring::Origin::Runtime), Result::Success);
  policy::Keyrings keyrings{};
  keyrings.rings[static_cast<size_t>(KeyringId::Builtin)] = builtin.get();
  policy::Policy p = policy::DefaultPolicy(policy::Purpose::Kexec);
  EXPECT_EQ(Decide(image, keyrings, p).result, Result::SignerModuleSigningEku);
  p.refuse_module_signing_eku = false;
  EXPECT_EQ(Decide(image, keyrings, p).result, Result::Success);
}

// ---- CLI on Debian's and Microsoft's binaries ----------------------------------------------

std::string Shim() { return Fetched("shimx64.efi.signed"); }
std::string MsDb() { return Ovmf("OVMF_VARS_4M.ms.fd"); }

TEST(PolicyCliDebian, ShimTrustedByOvmfMicrosoftDb) {
  const json j = VerifyJson("--db " + ShellQuote(MsDb()) + " " + ShellQuote(Shim()), 0);
  EXPECT_EQ(j["verdict"], "trusted");
  EXPECT_EQ(j["keyring"], "platform");
  EXPECT_EQ(j["signatures"][0]["anchor"]["keyring"], "platform");
  EXPECT_EQ(j["signatures"][0]["anchor"]["subject"].get<std::string>().find(
                "CN=Microsoft Corporation UEFI CA 2011"),
            0u);
  EXPECT_TRUE(j["revocations"].empty());
  EXPECT_EQ(j["audit"]["keyring"], "platform");
}

TEST(PolicyCliDebian, ShimRejectedWhenItsAuthenticodeSha256IsInDbx) {
  const std::string digest = PesignSha256(Shim());
  const std::string dbx = HashEsl(digest, "shim-sha256");
  const json j =
      VerifyJson("--db " + ShellQuote(MsDb()) + " --dbx " + ShellQuote(dbx) + " " + ShellQuote(Shim()), 1);
  EXPECT_EQ(j["verdict"], "rejected");
  EXPECT_EQ(j["reason"].get<std::string>().rfind("RevokedImageHash", 0), 0u);
  ASSERT_EQ(j["revocations"].size(), 1u);
  EXPECT_EQ(j["revocations"][0]["kind"], "image-hash");
  EXPECT_EQ(j["revocations"][0]["source"], "dbx");
  EXPECT_EQ(j["revocations"][0]["entry"], digest);
}

TEST(PolicyCliDebian, ShimRejectedWhenItsSignerCertificateOrTbsHashIsInDbx) {
  const std::string signer =
      ExtractSignatureCertificate(Shim(), "Microsoft Windows UEFI Driver Publisher", "shim-signer");
  const std::string by_cert = CertEsl(signer, "shim-signer");
  const std::string by_tbs = TbsEsl(TbsSha256(CertificateDer(signer)), "shim-signer-tbs");
  for (const auto& [dbx, kind] : {std::pair{by_cert, "certificate"}, std::pair{by_tbs, "tbs-hash"}}) {
    const json j = VerifyJson("--db " + ShellQuote(MsDb()) + " --dbx " + ShellQuote(dbx) + " " +
                                  ShellQuote(Shim()),
                              1);
    EXPECT_EQ(j["verdict"], "rejected") << kind;
    ASSERT_FALSE(j["revocations"].empty()) << kind;
    EXPECT_EQ(j["revocations"][0]["kind"], kind);
    EXPECT_EQ(j["revocations"][0]["signature"], 0);
    EXPECT_EQ(j["revocations"][0]["certificate"].get<std::string>().find(
                  "CN=Microsoft Windows UEFI Driver Publisher"),
              0u);
  }
}

TEST(PolicyCliDebian, ShimWithTwoSignaturesOneRevokedIsRejected) {
  // Signature 0 (UEFI CA 2011) is trusted by the OVMF db; signature 1 (UEFI CA 2023) is not,
  // and its signer is revoked: the image is rejected all the same.
  const std::string signer =
      ExtractSignatureCertificate(Shim(), "Microsoft UEFI CA 2023 signer", "shim-signer-2023");
  const std::string dbx = TbsEsl(TbsSha256(CertificateDer(signer)), "shim-signer-2023-tbs");
  const json j = VerifyJson("--db " + ShellQuote(MsDb()) + " --dbx " + ShellQuote(dbx) + " " +
                                ShellQuote(Shim()),
                            1);
  ASSERT_EQ(j["signatures"].size(), 2u);
  EXPECT_EQ(j["signatures"][0]["status"], "trusted");
  EXPECT_EQ(j["reason"].get<std::string>().rfind("RevokedTbsHash", 0), 0u);
  ASSERT_EQ(j["revocations"].size(), 1u);
  EXPECT_EQ(j["revocations"][0]["signature"], 1);
}

TEST(PolicyCliDebian, KernelTrustedThroughDbWithDebianCaRejectedByTbsHashOfItsSigner) {
  const std::string kernel = DebianKernel();
  const std::string db = CertEsl(DebianCa(), "debian-ca");
  const json ok = VerifyJson("--db " + ShellQuote(db) + " " + ShellQuote(kernel), 0);
  EXPECT_EQ(ok["keyring"], "platform");
  const std::string signer =
      ExtractSignatureCertificate(kernel, "Debian Secure Boot Signer", "kernel-signer");
  const std::string dbx = TbsEsl(TbsSha256(CertificateDer(signer)), "kernel-signer-tbs");
  const json j =
      VerifyJson("--db " + ShellQuote(db) + " --dbx " + ShellQuote(dbx) + " " + ShellQuote(kernel), 1);
  EXPECT_EQ(j["reason"].get<std::string>().rfind("RevokedTbsHash", 0), 0u);
  EXPECT_EQ(j["revocations"][0]["kind"], "tbs-hash");
  EXPECT_EQ(j["revocations"][0]["source"], "dbx");
  // Through MokListX the same entry revokes too, named as such.
  const json mokx =
      VerifyJson("--db " + ShellQuote(db) + " --mokx " + ShellQuote(dbx) + " " + ShellQuote(kernel), 1);
  EXPECT_EQ(mokx["revocations"][0]["source"], "MokListX");
}

TEST(PolicyCliDebian, SecondaryKeySignedByBuiltinVouchesUnknownIsRefused) {
  const Credential root = MakeCredential("policy-root", KeyType::Rsa2048, nullptr, true);
  const Credential intermediate = MakeCredential("policy-intermediate", KeyType::P256, &root, true);
  const Credential signer = MakeCredential("policy-below-intermediate", KeyType::Rsa2048,
                                           &intermediate, false);
  const std::string image = SignedKernel("secondary-signed", signer);
  const json j = VerifyJson("--cert " + ShellQuote(root.cert) + " --secondary " +
                                ShellQuote(intermediate.cert) + " " + ShellQuote(image),
                            0);
  EXPECT_EQ(j["keyring"], "secondary");
  EXPECT_EQ(j["signatures"][0]["anchor"]["file"], intermediate.cert);
  // Without the builtin root the secondary key is refused, before any verification.
  const CommandResult refused = Hvsig("verify --secondary " + ShellQuote(intermediate.cert) + " " +
                                      ShellQuote(image));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.out.find("KeyringLinkNotPermitted"), std::string::npos) << refused.out;
}

TEST(PolicyCliDebian, GrubSbatPassesAtItsOwnLevelAndFailsOneAbove) {
  const std::string grub = Fetched("grubx64.efi.signed");
  const std::string section = Work("grub.sbat");
  Sh("objcopy -O binary --only-section=.sbat " + ShellQuote(grub) + " " + ShellQuote(section));
  const Bytes raw = ReadFile(section);
  std::istringstream lines(std::string(raw.begin(), std::find(raw.begin(), raw.end(), 0)));
  std::string level;
  std::vector<std::pair<std::string, int>> components;
  for (std::string line; std::getline(lines, line);) {
    const size_t comma = line.find(',');
    const std::string name = line.substr(0, comma);
    const int generation = std::stoi(line.substr(comma + 1));
    components.emplace_back(name, generation);
    level += name + "," + std::to_string(generation) + "\n";
  }
  ASSERT_GE(components.size(), 2u);
  ASSERT_EQ(components[0].first, "sbat");
  const std::string base = "--cert " + ShellQuote(DebianCa()) + " ";
  const json ok = VerifyJson(base + "--sbat-level " + ShellQuote(level) + " " + ShellQuote(grub), 0);
  ASSERT_EQ(ok["sbat"].size(), components.size());
  for (size_t i = 0; i < components.size(); ++i) {
    EXPECT_EQ(ok["sbat"][i]["component"], components[i].first);
    EXPECT_EQ(ok["sbat"][i]["generation"], components[i].second);
  }
  // One above grub's generation, from a file this time.
  const std::string file = Work("sbat-level-grub");
  const std::string above = "sbat,1,2021030218\n" + components[1].first + "," +
                            std::to_string(components[1].second + 1) + "\n";
  WriteFile(file, Bytes(above.begin(), above.end()));
  const json j = VerifyJson(base + "--sbat-level " + ShellQuote(file) + " " + ShellQuote(grub), 1);
  EXPECT_EQ(j["reason"].get<std::string>().rfind("SbatRevoked", 0), 0u);
  // A malformed level is refused before verification.
  EXPECT_EQ(Hvsig("verify " + base + "--sbat-level 'grub,3' " + ShellQuote(grub)).exit_code, 1);
}

TEST(PolicyCliDebian, PlatformOnlySignerTrustedForKexecNotForLivepatch) {
  const SigningIdentity id = Identity("policy-platform", KeyType::Rsa2048);
  const std::string image = SignedKernel("platform-signed", id.signer);
  const std::string db = CertEsl(id.ca.cert, "platform-ca");
  const json kexec = VerifyJson("--purpose kexec --db " + ShellQuote(db) + " " + ShellQuote(image), 0);
  EXPECT_EQ(kexec["keyring"], "platform");
  const json livepatch =
      VerifyJson("--purpose livepatch --db " + ShellQuote(db) + " " + ShellQuote(image), 1);
  EXPECT_EQ(livepatch["reason"].get<std::string>().rfind("PurposeKeyringNotAllowed", 0), 0u);
  EXPECT_EQ(livepatch["audit"]["purpose"], "livepatch");
}

TEST(PolicyCliDebian, UnsignedImageHashInDbAuthorizedForKexecUnlessInDbx) {
  const std::string image = UnsignedKernel();
  const std::string digest = PesignSha256(image);
  const std::string list = HashEsl(digest, "unsigned-kernel");
  const json ok = VerifyJson("--db " + ShellQuote(list) + " " + ShellQuote(image), 0);
  EXPECT_EQ(ok["verdict"], "hash-authorized");
  EXPECT_EQ(ok["keyring"], "platform");
  EXPECT_EQ(ok["audit"]["image_sha256"], digest);
  // The same hash in MokList authorizes through the machine keyring.
  EXPECT_EQ(VerifyJson("--mok " + ShellQuote(list) + " " + ShellQuote(image), 0)["keyring"],
            "machine");
  const json revoked = VerifyJson(
      "--db " + ShellQuote(list) + " --dbx " + ShellQuote(list) + " " + ShellQuote(image), 1);
  EXPECT_EQ(revoked["reason"].get<std::string>().rfind("RevokedImageHash", 0), 0u);
  // Off for livepatch by default, and configurable.
  const json livepatch =
      VerifyJson("--purpose livepatch --db " + ShellQuote(list) + " " + ShellQuote(image), 1);
  EXPECT_EQ(livepatch["reason"].get<std::string>().rfind("ImageNotSigned", 0), 0u);
  EXPECT_EQ(VerifyJson("--hash-authorization off --db " + ShellQuote(list) + " " +
                           ShellQuote(image), 1)["verdict"],
            "rejected");
}

TEST(PolicyCliDebian, DbxSha1EntryIsComparedWithASha1DigestMadeForIt) {
  // No signature uses SHA-1: the verifier hashes the image with it because dbx lists one.
  const std::string kernel = DebianKernel();
  const CommandResult r = RunCommand("pesign -h -d sha1 -i " + ShellQuote(kernel));
  const size_t at = r.out.find("hash: ");
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::string sha1 = Lower(Trim(r.out.substr(at + 6)));
  const std::string dbx = Cached("policy-kernel-sha1.esl", [&](const std::string& out) {
    Sh("efisiglist -a -t sha1 -h " + sha1 + " -o " + ShellQuote(out));
  });
  const json j = VerifyJson("--cert " + ShellQuote(DebianCa()) + " --dbx " + ShellQuote(dbx) +
                                " " + ShellQuote(kernel), 1);
  EXPECT_EQ(j["digests"]["sha1"], sha1);
  ASSERT_EQ(j["revocations"].size(), 1u);
  EXPECT_EQ(j["revocations"][0]["algorithm"], "sha1");
  EXPECT_EQ(j["revocations"][0]["entry"], sha1);
}

TEST(PolicyCli, KeyringListPrintsTheCompiledInKeyring) {
  const CommandResult r = RunCommand(kTool + " keyring list --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["keyring"], "builtin");
  EXPECT_EQ(j["capacity"], keyring::kMaxCertificates);
  EXPECT_TRUE(j["certificates"].is_array());
}

}  // namespace
}  // namespace hvsig::test
