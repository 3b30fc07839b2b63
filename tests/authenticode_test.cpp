// `hvsig verify|digest|inspect` against real Debian-signed binaries (fetched by the
// authenticode_binaries ctest fixture, tests/fetch-authenticode.sh) and against copies of the
// Debian kernel re-signed or damaged at test time. The oracles are the peers: pesign -h and
// osslsigncode for digests, sbsign/osslsigncode/pesign for signatures, the openssl CLI for
// keys and certificates. Expected offsets are computed by tests/authenticode_support.h's own
// PE field locator, never copied from hvsig's output.
#include <gtest/gtest.h>

#include <filesystem>
#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "authenticode_support.h"
#include "signing_support.h"
#include "hvsig/result.h"

namespace hvsig::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kTool = HVSIG_TOOL;

// Writes `source` changed by `mutate` to `out`.
std::string Mutated(const std::string& source, const std::string& out,
                    const std::function<void(Bytes&)>& mutate) {
  Bytes bytes = ReadFile(source);
  mutate(bytes);
  WriteFile(out, bytes);
  return out;
}

// ---- Running hvsig ------------------------------------------------------------------------

CommandResult Hvsig(const std::string& args) { return RunCommand(kTool + " " + args); }

std::string VerifyArgs(const std::string& image, const std::vector<std::string>& certs,
                       const std::string& flags) {
  std::string args = "verify";
  for (const std::string& c : certs) args += " --cert " + ShellQuote(c);
  if (!flags.empty()) args += " " + flags;
  return args + " " + ShellQuote(image);
}

std::string FirstLine(const std::string& out) { return out.substr(0, out.find('\n')); }

// Splits "rejected: <Result> at offset <N>[ (signature <I>)]"; false for any other line.
// (No std::regex: GCC 12's <regex> trips -Wmaybe-uninitialized under the ASan preset.)
bool ParseRejection(const std::string& line, std::string& name, std::string& offset) {
  const std::string prefix = "rejected: ";
  const std::string middle = " at offset ";
  const size_t at = line.find(middle);
  if (line.rfind(prefix, 0) != 0 || at == std::string::npos) return false;
  name = line.substr(prefix.size(), at - prefix.size());
  size_t end = at + middle.size();
  while (end < line.size() && isdigit(static_cast<unsigned char>(line[end]))) ++end;
  offset = line.substr(at + middle.size(), end - at - middle.size());
  const std::string rest = line.substr(end);
  return !offset.empty() && (rest.empty() || (rest.rfind(" (signature ", 0) == 0 && rest.back() == ')'));
}

// The value after "<label>" on a line that starts with it.
std::optional<std::string> Field(const std::string& line, const std::string& label) {
  if (line.rfind(label, 0) != 0) return std::nullopt;
  return Trim(line.substr(label.size()));
}

::testing::AssertionResult Trusted(const std::string& image, const std::vector<std::string>& certs,
                                   const std::string& flags = "") {
  const CommandResult r = Hvsig(VerifyArgs(image, certs, flags));
  if (r.exit_code == 0 && FirstLine(r.out).rfind("trusted: ", 0) == 0) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << image << ": exit " << r.exit_code << "\n" << r.out;
}

// Exit 1 and a first line "rejected: <expected> at offset N[ (signature I)]" (with the
// given N, if any).
::testing::AssertionResult Rejected(const std::string& image,
                                    const std::vector<std::string>& certs, Result expected,
                                    std::optional<uint64_t> offset = std::nullopt,
                                    const std::string& flags = "") {
  const CommandResult r = Hvsig(VerifyArgs(image, certs, flags));
  std::string name, at;
  const bool reason_ok = ParseRejection(FirstLine(r.out), name, at) &&
                         name == ResultName(expected) && (!offset || at == std::to_string(*offset));
  if (r.exit_code == 1 && reason_ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << image << ": exit " << r.exit_code << ", want 1 and \"rejected: " << ResultName(expected)
         << " at offset " << (offset ? std::to_string(*offset) : "N") << "\"\n" << r.out;
}

json VerifyJson(const std::string& image, const std::vector<std::string>& certs, int want_exit,
                const std::string& flags = "") {
  const CommandResult r = Hvsig(VerifyArgs(image, certs, "--json " + flags));
  EXPECT_EQ(r.exit_code, want_exit) << r.out;
  return json::parse(r.out);
}

std::string HvsigDigest(const std::string& image, const std::string& alg = "sha256",
                        const std::string& provider = "builtin") {
  const CommandResult r =
      Hvsig("--provider " + provider + " digest --alg " + alg + " " + ShellQuote(image));
  EXPECT_EQ(r.exit_code, 0) << image;
  return Trim(r.out);
}

std::string PesignHash(const std::string& image) {
  const CommandResult r = RunCommand("pesign -h -i " + ShellQuote(image));
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (auto hash = Field(line, "hash: ")) return Lower(*hash);
  }
  ADD_FAILURE() << "pesign -h printed no hash for " << image << "\n" << r.out;
  return {};
}

// osslsigncode verify's recomputed digest of every signature, in order: (algorithm, hex).
std::vector<std::pair<std::string, std::string>> OsslsigncodeDigests(const std::string& image) {
  const CommandResult r = RunCommand("osslsigncode verify -in " + ShellQuote(image) + " 2>/dev/null");
  std::vector<std::pair<std::string, std::string>> out;
  std::string alg;  // the latest "Message digest algorithm" line precedes each digest
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("Message digest algorithm", 0) == 0) alg = Lower(Trim(line.substr(line.find(':') + 1)));
    if (auto digest = Field(line, "Calculated message digest : ")) out.emplace_back(alg, Lower(*digest));
  }
  return out;
}

// Where `needle` occurs in the certificate table of `image` (the first time): hvsig names the
// field a signature check judged by its file offset.
uint64_t OffsetInSignatures(const std::string& image, const Bytes& needle) {
  const Bytes bytes = ReadFile(image);
  const PeFields f = LocateFields(bytes);
  const auto begin = bytes.begin() + f.cert_table_offset;
  const auto it = std::search(begin, bytes.end(), needle.begin(), needle.end());
  if (needle.empty() || it == bytes.end()) throw std::runtime_error("not in the signatures of " + image);
  return static_cast<uint64_t>(it - bytes.begin());
}

Bytes CertificateDer(const std::string& pem) {
  return FromHex(RunCommand("openssl x509 -in " + ShellQuote(pem) + " -outform DER | od -An -v -tx1").out);
}

// NotTrusted names the last certificate of the chain it could build.
uint64_t ChainEndOffset(const std::string& image, const Credential& last) {
  return OffsetInSignatures(image, CertificateDer(last.cert));
}

// ImageDigestMismatch names the digest the signer vouched for.
uint64_t SignedDigestOffset(const std::string& image, const std::string& signed_digest_hex) {
  return OffsetInSignatures(image, FromHex(signed_digest_hex));
}

// ---- Debian-signed binaries ---------------------------------------------------------------

const std::vector<std::string> kDebianSigned = {"vmlinuz", "grubx64.efi.signed",
                                                "mmx64.efi.signed", "fbx64.efi.signed",
                                                "fwupdx64.efi.signed"};

std::string ParamName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class DebianSigned : public ::testing::TestWithParam<std::string> {};

TEST_P(DebianSigned, TrustedByDebianCaOnly) {
  const std::string image = Fetched(GetParam());
  EXPECT_TRUE(Trusted(image, {DebianCa()}));
  EXPECT_TRUE(Rejected(image, {UnrelatedCa().cert}, Result::NotTrusted));
  EXPECT_TRUE(Rejected(image, {}, Result::NotTrusted));
}

INSTANTIATE_TEST_SUITE_P(Debian, DebianSigned, ::testing::ValuesIn(kDebianSigned), ParamName);

class DebianDigest : public ::testing::TestWithParam<std::string> {};

TEST_P(DebianDigest, EqualsPesignAndIsProviderIndependent) {
  const std::string image = Fetched(GetParam());
  const std::string sha256 = HvsigDigest(image);
  EXPECT_EQ(sha256.size(), 64u);
  EXPECT_EQ(sha256, PesignHash(image));
  for (const auto& [alg, hex_length] :
       std::vector<std::pair<std::string, size_t>>{{"sha256", 64}, {"sha384", 96}, {"sha512", 128}}) {
    const std::string builtin = HvsigDigest(image, alg, "builtin");
    EXPECT_EQ(builtin.size(), hex_length) << alg;
    EXPECT_EQ(builtin, HvsigDigest(image, alg, "openssl")) << alg;
  }
}

// osslsigncode recomputes the digest of every signature it finds: compare per algorithm.
// (Not on shimx64.efi.signed: osslsigncode 2.9 reads one WIN_CERTIFICATE only and calls the
// two-entry table "Corrupted attribute certificate table".)
TEST_P(DebianSigned, DigestEqualsOsslsigncode) {
  const std::string image = Fetched(GetParam());
  const auto digests = OsslsigncodeDigests(image);
  if (digests.empty()) {
    // osslsigncode 2.5 (bookworm) reports "Invalid signature" for mmx64/fbx64, whose last
    // entry has an odd dwLength; 2.9 (bookworm-backports) reads them.
    GTEST_SKIP() << "osslsigncode found no signature:\n"
                 << RunCommand("osslsigncode verify -in " + ShellQuote(image) + " 2>&1").out;
  }
  for (const auto& [alg, hex] : digests) EXPECT_EQ(HvsigDigest(image, alg), hex) << alg;
}

INSTANTIATE_TEST_SUITE_P(Debian, DebianDigest,
                         ::testing::Values("vmlinuz", "grubx64.efi.signed", "mmx64.efi.signed",
                                           "fbx64.efi.signed", "fwupdx64.efi.signed",
                                           "shimx64.efi.signed"),
                         ParamName);

TEST(DebianShim, TwoMicrosoftSignaturesNotTrustedByDebianCa) {
  const std::string image = Fetched("shimx64.efi.signed");
  EXPECT_TRUE(Rejected(image, {DebianCa()}, Result::NotTrusted));
  const json j = VerifyJson(image, {DebianCa()}, 1);
  ASSERT_EQ(j["signatures"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const json& s = j["signatures"][i];
    EXPECT_EQ(s["index"], i);
    EXPECT_TRUE(s["nested_in"].is_null());
    EXPECT_EQ(s["status"], "NotTrusted");
    EXPECT_EQ(s["digest_match"], true);
    EXPECT_EQ(s["image_digest"], s["signed_digest"]);
    EXPECT_FALSE(s["signer"].is_null());
  }
  EXPECT_EQ(j["digests"]["sha256"], PesignHash(image));
}

TEST(DebianKernel, JsonReport) {
  const std::string image = DebianKernel();
  const json j = VerifyJson(image, {DebianCa()}, 0);
  EXPECT_EQ(j["file"], image);
  EXPECT_EQ(j["verdict"], "trusted");
  EXPECT_TRUE(j["reason"].is_string());
  EXPECT_EQ(j["digests"]["sha256"], PesignHash(image));
  ASSERT_EQ(j["signatures"].size(), 1u);
  const json& s = j["signatures"][0];
  EXPECT_EQ(s["status"], "trusted");
  EXPECT_EQ(s["digest_algorithm"], "sha256");
  EXPECT_EQ(s["image_digest"], j["digests"]["sha256"]);
  EXPECT_EQ(s["signed_digest"], j["digests"]["sha256"]);
  EXPECT_EQ(s["digest_match"], true);
  EXPECT_NE(s["signer"]["subject"].get<std::string>().find("Debian Secure Boot Signer"),
            std::string::npos);
  ASSERT_GE(s["chain"].size(), 1u);
  EXPECT_EQ(s["anchor"]["file"], DebianCa());

  const json rejected = VerifyJson(image, {UnrelatedCa().cert}, 1);
  EXPECT_EQ(rejected["verdict"], "rejected");
  EXPECT_EQ(rejected["reason"].get<std::string>().rfind("NotTrusted at offset ", 0), 0u);
  EXPECT_TRUE(rejected["signatures"][0]["anchor"].is_null());
}

TEST(DebianKernel, CompatProfileAndCheckTimeAlsoTrust) {
  EXPECT_TRUE(Trusted(DebianKernel(), {DebianCa()}, "--profile compat"));
  EXPECT_TRUE(Trusted(DebianKernel(), {DebianCa()}, "--check-time"));
}

TEST(DebianKernel, UsageAndIoErrorsExitTwo) {
  EXPECT_EQ(Hvsig("verify --cert " + ShellQuote(DebianCa()) + " /nonexistent").exit_code, 2);
  EXPECT_EQ(Hvsig("verify --bogus " + ShellQuote(DebianKernel())).exit_code, 2);
  EXPECT_EQ(Hvsig("digest --alg md5 " + ShellQuote(DebianKernel())).exit_code, 2);
  EXPECT_EQ(Hvsig("--provider nope digest " + ShellQuote(DebianKernel())).exit_code, 2);
}

// ---- Peers re-sign the kernel -------------------------------------------------------------

struct Signer {
  std::string name;
  std::function<SigningIdentity()> identity;
  std::function<void(const std::string& in, const std::string& out, const SigningIdentity&)> sign;
  std::vector<std::string> algs;  // digest algorithm of each signature, nested ones last
  bool embeds_ca = false;         // pesign adds the CA from its NSS database to the signature
};

std::ostream& operator<<(std::ostream& os, const Signer& s) { return os << s.name; }

SigningIdentity Rsa2048() { return Identity("rsa2048", KeyType::Rsa2048); }

Signer SbsignWith(const std::string& name, KeyType type) {
  return {"sbsign_" + name, [=] { return Identity(name, type); },
          [](const std::string& in, const std::string& out, const SigningIdentity& id) {
            SbSign(in, out, id.signer);
          },
          {"sha256"}};
}

Signer OsslsigncodeWith(const std::string& alg) {
  return {"osslsigncode_" + alg, Rsa2048,
          [alg](const std::string& in, const std::string& out, const SigningIdentity& id) {
            OsslSign(in, out, id.signer, alg);
          },
          {alg}};
}

const std::vector<Signer>& Signers() {
  static const std::vector<Signer> signers = {
      SbsignWith("rsa2048", KeyType::Rsa2048),
      SbsignWith("rsa4096", KeyType::Rsa4096),
      SbsignWith("p256", KeyType::P256),
      SbsignWith("p384", KeyType::P384),
      OsslsigncodeWith("sha256"),
      OsslsigncodeWith("sha384"),
      OsslsigncodeWith("sha512"),
      {"osslsigncode_nested", Rsa2048,
       [](const std::string& in, const std::string& out, const SigningIdentity& id) {
         OsslSign(in, out + ".outer", id.signer, "sha384");
         OsslSign(out + ".outer", out, id.signer, "sha512", true);
         fs::remove(out + ".outer");
       },
       {"sha384", "sha512"}},
      {"pesign_rsa2048", Rsa2048,
       [](const std::string& in, const std::string& out, const SigningIdentity& id) {
         PeSign(in, out, id);
       },
       {"sha256"},
       true},
  };
  return signers;
}

class Interop : public ::testing::TestWithParam<Signer> {};

TEST_P(Interop, ResignedKernelTrustedByItsOwnCaOnly) {
  ScratchDir scratch;
  const Signer& signer = GetParam();
  const SigningIdentity id = signer.identity();
  const std::string image = scratch / "vmlinuz.signed";
  signer.sign(UnsignedKernel(), image, id);

  EXPECT_TRUE(Trusted(image, {id.ca.cert}));
  EXPECT_TRUE(Rejected(image, {DebianCa()}, Result::NotTrusted,
                       ChainEndOffset(image, signer.embeds_ca ? id.ca : id.signer)));

  const json j = VerifyJson(image, {id.ca.cert}, 0);
  ASSERT_EQ(j["signatures"].size(), signer.algs.size());
  for (size_t i = 0; i < signer.algs.size(); ++i) {
    const json& s = j["signatures"][i];
    const std::string& alg = signer.algs[i];
    EXPECT_EQ(s["status"], "trusted") << i;
    EXPECT_EQ(s["index"], 0) << i;
    EXPECT_EQ(s["digest_algorithm"], alg) << i;
    EXPECT_EQ(s["image_digest"], HvsigDigest(image, alg)) << i;
    EXPECT_EQ(s["signed_digest"], s["image_digest"]) << i;
    EXPECT_EQ(j["digests"][alg], s["image_digest"]) << i;
    if (i == 0) {
      EXPECT_TRUE(s["nested_in"].is_null());
    } else {
      EXPECT_EQ(s["nested_in"], 0);
    }
  }
  // Signing does not change what is hashed.
  EXPECT_EQ(HvsigDigest(image), HvsigDigest(UnsignedKernel()));
  EXPECT_EQ(HvsigDigest(image), PesignHash(image));
  const auto ossl_digests = OsslsigncodeDigests(image);
  EXPECT_EQ(ossl_digests.size(), signer.algs.size());
  for (const auto& [alg, hex] : ossl_digests) {
    EXPECT_EQ(HvsigDigest(image, alg), hex) << alg;
    EXPECT_EQ(HvsigDigest(image, alg, "openssl"), hex) << alg;
  }
}

INSTANTIATE_TEST_SUITE_P(Kernel, Interop, ::testing::ValuesIn(Signers()),
                         [](const ::testing::TestParamInfo<Signer>& info) {
                           return info.param.name;
                         });

// A nested signature vouches only with --trust-nested: outer by one CA, nested by another.
TEST(Nested, TrustedOnlyWhenOptedIn) {
  ScratchDir scratch;
  const SigningIdentity outer = Rsa2048();
  const SigningIdentity inner = Identity("p256", KeyType::P256);
  const std::string image = scratch / "vmlinuz.nested";
  SbSign(UnsignedKernel(), scratch / "vmlinuz.outer", outer.signer);
  OsslSign(scratch / "vmlinuz.outer", image, inner.signer, "sha256", true);

  EXPECT_TRUE(Trusted(image, {outer.ca.cert}));
  EXPECT_TRUE(Rejected(image, {inner.ca.cert}, Result::NotTrusted));
  EXPECT_TRUE(Trusted(image, {inner.ca.cert}, "--trust-nested"));
  const json j = VerifyJson(image, {inner.ca.cert}, 0, "--trust-nested");
  ASSERT_EQ(j["signatures"].size(), 2u);
  EXPECT_EQ(j["signatures"][0]["status"], "NotTrusted");
  EXPECT_EQ(j["signatures"][1]["status"], "trusted");
  EXPECT_EQ(j["signatures"][1]["nested_in"], 0);
}

// ---- Chains -------------------------------------------------------------------------------

class ChainTest : public ::testing::Test {
 protected:
  void SetUp() override { chain_ = MakeChain(); }
  // The kernel signed by the chain leaf, with `embedded` certificates added by sbsign.
  std::string Signed(const std::string& file, const std::vector<Credential>& embedded,
                     const Credential* leaf = nullptr) {
    std::string addcert;
    if (!embedded.empty()) {
      addcert = scratch_ / (file + ".addcert.pem");
      std::ofstream pem(addcert);
      for (const Credential& c : embedded) pem << std::ifstream(c.cert).rdbuf();
    }
    const std::string image = scratch_ / file;
    SbSign(UnsignedKernel(), image, leaf ? *leaf : chain_.leaf, addcert);
    return image;
  }
  ScratchDir scratch_;
  Chain chain_;
};

TEST_F(ChainTest, IntermediateEmbedded) {
  const std::string image = Signed("with-intermediate", {chain_.intermediate});
  EXPECT_TRUE(Rejected(image, {UnrelatedCa().cert}, Result::NotTrusted,
                       ChainEndOffset(image, chain_.intermediate)));
  EXPECT_TRUE(Rejected(image, {DebianCa()}, Result::NotTrusted));
  EXPECT_TRUE(Trusted(image, {chain_.root.cert}));
  EXPECT_TRUE(Trusted(image, {chain_.intermediate.cert}));
  // A chain certificate that IS an anchor vouches (Linux's pkcs7_validate_trust).
  EXPECT_TRUE(Trusted(image, {chain_.leaf.cert}));

  const json j = VerifyJson(image, {UnrelatedCa().cert, chain_.root.cert}, 0);
  const json& s = j["signatures"][0];
  ASSERT_EQ(s["chain"].size(), 2u);
  EXPECT_EQ(s["chain"][0]["subject"], "CN=hvsig test chain-leaf");
  EXPECT_EQ(s["chain"][1]["subject"], "CN=hvsig test chain-intermediate");
  EXPECT_EQ(s["anchor"]["file"], chain_.root.cert);
}

TEST_F(ChainTest, MissingIntermediateBreaksTheChain) {
  const std::string image = Signed("leaf-only", {});
  EXPECT_TRUE(Rejected(image, {chain_.root.cert}, Result::NotTrusted, ChainEndOffset(image, chain_.leaf)));
  EXPECT_TRUE(Trusted(image, {chain_.intermediate.cert}));
}

// The self-signed root arriving inside the signature is not trusted by itself.
TEST_F(ChainTest, EmbeddedRootIsNotAnAnchor) {
  const std::string image = Signed("with-root", {chain_.intermediate, chain_.root});
  EXPECT_TRUE(Rejected(image, {UnrelatedCa().cert}, Result::NotTrusted, ChainEndOffset(image, chain_.root)));
  EXPECT_TRUE(Rejected(image, {}, Result::NotTrusted));
  EXPECT_TRUE(Trusted(image, {chain_.root.cert}));
}

// Certificates with the right names but other keys: every link's signature is checked.
TEST_F(ChainTest, LookAlikeNamesDoNotChain) {
  const std::string image = Signed("impostor", {chain_.impostor_intermediate}, &chain_.impostor_leaf);
  EXPECT_TRUE(Rejected(image, {chain_.root.cert}, Result::NotTrusted));
  EXPECT_TRUE(Rejected(image, {chain_.intermediate.cert}, Result::NotTrusted));
  EXPECT_TRUE(Trusted(image, {chain_.impostor_root.cert}));
  // The genuine intermediate embedded next to the impostor leaf does not help either.
  const std::string mixed = Signed("mixed", {chain_.intermediate}, &chain_.impostor_leaf);
  EXPECT_TRUE(Rejected(mixed, {chain_.root.cert}, Result::NotTrusted));
}

// ---- Damaged and unusual images -----------------------------------------------------------

class Tampered : public ::testing::Test {
 protected:
  // A copy of the Debian kernel changed by `mutate`.
  std::string Kernel(const std::string& file, const std::function<void(Bytes&)>& mutate) {
    return Mutated(DebianKernel(), scratch_ / file, mutate);
  }
  ::testing::AssertionResult KernelRejected(const std::function<void(Bytes&)>& mutate,
                                            Result expected, std::optional<uint64_t> offset) {
    return Rejected(Kernel("vmlinuz", mutate), {DebianCa()}, expected, offset);
  }
  ScratchDir scratch_;
  const Bytes original_ = ReadFile(DebianKernel());
  const PeFields pe_ = LocateFields(original_);
};

TEST_F(Tampered, BodyByteFlipped) {
  uint16_t largest = 0;
  for (uint16_t i = 0; i < pe_.section_count; ++i) {
    if (GetLe32(original_, pe_.section_header(i) + 16) >
        GetLe32(original_, pe_.section_header(largest) + 16)) {
      largest = i;
    }
  }
  const uint64_t middle = GetLe32(original_, pe_.section_header(largest) + 20) +
                          GetLe32(original_, pe_.section_header(largest) + 16) / 2;
  EXPECT_TRUE(KernelRejected([&](Bytes& b) { b.at(middle) ^= 1; }, Result::ImageDigestMismatch,
                             SignedDigestOffset(DebianKernel(), PesignHash(DebianKernel()))));
}

TEST_F(Tampered, SignatureValueByteFlipped) {
  const uint64_t der = pe_.cert_table_offset + 8;
  const uint64_t der_end = der + DerElementLength(original_, der);
  // The SignerInfo's signature value (RSA-2048: OCTET STRING 04 82 01 00) is the last element
  // of Debian's SignedData.
  const uint64_t value = der_end - 256;
  ASSERT_EQ(Bytes(original_.begin() + static_cast<ptrdiff_t>(value - 4),
                  original_.begin() + static_cast<ptrdiff_t>(value)),
            Bytes({0x04, 0x82, 0x01, 0x00}));
  EXPECT_TRUE(KernelRejected([&](Bytes& b) { b.at(der_end - 16) ^= 0x40; },
                             Result::CryptoBadSignature, value));
}

TEST_F(Tampered, SignatureNotDer) {
  const uint64_t der = pe_.cert_table_offset + 8;
  EXPECT_TRUE(KernelRejected([&](Bytes& b) { b.at(der) = 0x31; }, Result::PeCertEntryNotDer, der));
}

TEST_F(Tampered, DataAppendedAfterTable) {
  EXPECT_TRUE(KernelRejected([](Bytes& b) { b.insert(b.end(), 8, 0); },
                             Result::PeDataAfterCertTable, original_.size()));
}

TEST_F(Tampered, CertTableSizeOverruns) {
  EXPECT_TRUE(KernelRejected(
      [&](Bytes& b) { PutLe32(b, pe_.security_dir_at + 4, pe_.cert_table_size + 8); },
      Result::PeCertTableOutsideFile, pe_.security_dir_at));
}

TEST_F(Tampered, SectionPastEndOfFile) {
  const uint16_t last = static_cast<uint16_t>(pe_.section_count - 1);
  const uint64_t size_at = pe_.section_header(last) + 16;
  EXPECT_TRUE(KernelRejected(
      [&](Bytes& b) { PutLe32(b, size_at, static_cast<uint32_t>(b.size())); },
      Result::PeSectionOutsideFile, size_at));
}

TEST_F(Tampered, LfanewOutOfRange) {
  EXPECT_TRUE(KernelRejected([&](Bytes& b) { PutLe32(b, 0x3c, static_cast<uint32_t>(b.size() - 8)); },
                             Result::PeBadLfanew, 0x3c));
  EXPECT_TRUE(KernelRejected([&](Bytes& b) { PutLe32(b, 0x3c, 0x10); }, Result::PeBadLfanew, 0x3c));
}

TEST_F(Tampered, FewerThanFiveDataDirectories) {
  EXPECT_TRUE(KernelRejected([&](Bytes& b) { PutLe32(b, pe_.rva_count_at, 4); },
                             Result::PeTooFewDataDirectories, pe_.rva_count_at));
}

TEST_F(Tampered, ChangedCheckSumIsAccepted) {
  const std::string image =
      Kernel("vmlinuz", [&](Bytes& b) { PutLe32(b, pe_.checksum_at, GetLe32(b, pe_.checksum_at) ^ 0x5a5a); });
  EXPECT_TRUE(Trusted(image, {DebianCa()}));
  EXPECT_EQ(HvsigDigest(image), HvsigDigest(DebianKernel()));
}

// Another image's valid, Debian-trusted signature does not carry over.
TEST_F(Tampered, TransplantedSignature) {
  const std::string signature = scratch_ / "mmx64.p7";
  const std::string image = scratch_ / "vmlinuz.transplant";
  Sh("sbattach --detach " + ShellQuote(signature) + " " + ShellQuote(Fetched("mmx64.efi.signed")));
  fs::copy_file(UnsignedKernel(), image);
  Sh("sbattach --attach " + ShellQuote(signature) + " " + ShellQuote(image) + " >/dev/null");
  const std::string mmx_digest = HvsigDigest(Fetched("mmx64.efi.signed"));
  EXPECT_TRUE(Rejected(image, {DebianCa()}, Result::ImageDigestMismatch,
                       SignedDigestOffset(image, mmx_digest)));
  const json j = VerifyJson(image, {DebianCa()}, 1);
  EXPECT_EQ(j["signatures"][0]["digest_match"], false);
  EXPECT_EQ(j["signatures"][0]["signed_digest"], mmx_digest);
}

TEST_F(Tampered, UnsignedImages) {
  const std::string kernel = UnsignedKernel();
  EXPECT_TRUE(Rejected(kernel, {DebianCa()}, Result::ImageNotSigned,
                       LocateFields(ReadFile(kernel)).security_dir_at));
  const std::string shim = Fetched("shimx64.efi");
  EXPECT_TRUE(Rejected(shim, {DebianCa()}, Result::ImageNotSigned));
  // Unsigned images still have a digest, and sbattach --remove does not change it.
  EXPECT_EQ(HvsigDigest(kernel), PesignHash(DebianKernel()));
  EXPECT_EQ(HvsigDigest(shim), PesignHash(shim));
}

// Alignment bytes after dwLength (sbsign leaves them outside the entry) and inside it
// (osslsigncode counts them in dwLength) must be zero. Whether a signature needs alignment
// bytes depends on its length; P-256 signatures vary (70 to 72 octets), so sign until one does.
TEST_F(Tampered, NonZeroPaddingInCertificateEntry) {
  const SigningIdentity id = Identity("p256", KeyType::P256);
  const std::function<void(const std::string&)> signers[] = {
      [&](const std::string& out) { SbSign(UnsignedKernel(), out, id.signer); },
      [&](const std::string& out) { OsslSign(UnsignedKernel(), out, id.signer, "sha256"); }};
  for (const auto& sign : signers) {
    const std::string image = scratch_ / "signed";
    uint64_t padding = 0;
    for (int attempt = 0; attempt < 24 && padding == 0; ++attempt) {
      fs::remove(image);  // osslsigncode refuses to overwrite
      sign(image);
      const Bytes bytes = ReadFile(image);
      const PeFields pe = LocateFields(bytes);
      const uint64_t der = pe.cert_table_offset + 8;
      const uint64_t der_end = der + DerElementLength(bytes, der);
      if (der_end < pe.cert_table_end()) padding = der_end;
    }
    ASSERT_NE(padding, 0u) << "no signature with alignment bytes";
    ASSERT_TRUE(Trusted(image, {id.ca.cert}));
    const std::string damaged = Mutated(image, image + ".pad", [&](Bytes& b) { b.at(padding) = 1; });
    EXPECT_TRUE(Rejected(damaged, {id.ca.cert}, Result::PeCertEntryBadPadding, padding)) << image;
  }
}

}  // namespace
}  // namespace hvsig::test
