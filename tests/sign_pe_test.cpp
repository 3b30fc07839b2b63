// `hvsig sign pe` against the peers: every image it signs must pass sbverify --cert,
// osslsigncode verify -CAfile (which also recomputes the PE CheckSum; both the installed one and
// Debian bookworm's 2.5, fixture osslsigncode_bookworm) and hvsig verify, carry the digest
// sbsign's output carries for the same input, and fail all of them once tampered with.
// Inputs are Debian's unsigned shim (an EFI binary whose length is not a multiple of 8) and
// Debian's kernel with its signature removed by sbattach (fixture authenticode_binaries); keys
// and certificates are made by the openssl CLI (tests/signing_support.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "authenticode_support.h"
#include "signing_support.h"

namespace hvsig::test {
namespace {

namespace fs = std::filesystem;

const std::string kTool = HVSIG_TOOL;
// tests/fetch-osslsigncode-bookworm.sh extracts it here.
const std::string kOsslsigncodeBookworm =
    std::string(HVSIG_TEST_CACHE) + "/osslsigncode-bookworm/usr/bin/osslsigncode";

// Per-test scratch directories under kWork/sign-pe.
class Scratch : public ScratchDir {
 public:
  Scratch() : ScratchDir("sign-pe") {}
};

CommandResult Hvsig(const std::string& args) { return RunCommand(kTool + " " + args + " 2>&1"); }

CommandResult SignPe(const std::string& in, const std::string& out, const Credential& signer,
                     const std::string& flags = "") {
  return Hvsig("sign pe --key " + ShellQuote(signer.key) + " --cert " + ShellQuote(signer.cert) +
               (flags.empty() ? "" : " " + flags) + " " + ShellQuote(in) + " -o " + ShellQuote(out));
}

std::string Signed(const std::string& in, const std::string& out, const Credential& signer,
                   const std::string& flags = "") {
  const CommandResult r = SignPe(in, out, signer, flags);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  return out;
}

// ---- The three verifiers ------------------------------------------------------------------

::testing::AssertionResult Outcome(bool ok, const std::string& what, const CommandResult& r) {
  if (ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": exit " << r.exit_code << "\n" << r.out;
}

::testing::AssertionResult SbVerify(const std::string& image, const std::string& cert) {
  const CommandResult r =
      RunCommand("sbverify --cert " + ShellQuote(cert) + " " + ShellQuote(image) + " 2>&1");
  return Outcome(r.exit_code == 0 && r.out.find("Signature verification OK") != std::string::npos,
                 "sbverify " + image, r);
}

// Both osslsigncodes must accept. On a wrong CheckSum (exit status unchanged) 2.9 warns
// "invalid PE checksum" and 2.5 prints "MISMATCH".
::testing::AssertionResult OsslVerify(const std::string& image, const std::string& ca) {
  for (const std::string& tool : {std::string("osslsigncode"), kOsslsigncodeBookworm}) {
    const CommandResult r = RunCommand(ShellQuote(tool) + " verify -CAfile " + ShellQuote(ca) +
                                       " -in " + ShellQuote(image) + " 2>&1");
    const bool ok = r.exit_code == 0 && r.out.find("Succeeded") != std::string::npos &&
                    r.out.find("invalid PE checksum") == std::string::npos &&
                    r.out.find("MISMATCH") == std::string::npos;
    if (!ok) return Outcome(false, tool + " verify " + image, r);
  }
  return ::testing::AssertionSuccess();
}

// Neither osslsigncode accepts.
::testing::AssertionResult OsslRefuses(const std::string& image, const std::string& ca) {
  for (const std::string& tool : {std::string("osslsigncode"), kOsslsigncodeBookworm}) {
    const CommandResult r = RunCommand(ShellQuote(tool) + " verify -CAfile " + ShellQuote(ca) +
                                       " -in " + ShellQuote(image) + " 2>&1");
    if (r.exit_code == 0) return Outcome(false, tool + " verify accepted " + image, r);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult HvsigTrusts(const std::string& image, const std::string& ca) {
  const CommandResult r = Hvsig("verify --cert " + ShellQuote(ca) + " " + ShellQuote(image));
  return Outcome(r.exit_code == 0 && r.out.rfind("trusted: ", 0) == 0, "hvsig verify " + image, r);
}

// All three refuse (against the CA that would otherwise vouch).
void ExpectRefusedEverywhere(const std::string& image, const Credential& signer,
                             const std::string& ca) {
  EXPECT_FALSE(SbVerify(image, signer.cert));
  EXPECT_TRUE(OsslRefuses(image, ca));
  const CommandResult r = Hvsig("verify --cert " + ShellQuote(ca) + " " + ShellQuote(image));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(r.out.rfind("rejected: ", 0), 0u) << r.out;
}

std::string Digest(const std::string& image) {
  const CommandResult r = RunCommand(kTool + " digest " + ShellQuote(image));
  EXPECT_EQ(r.exit_code, 0) << image;
  return Trim(r.out);
}

// The PKCS#7 of the (only) signature, as sbattach extracts it.
std::string DetachedSignature(const std::string& image, const std::string& out) {
  Sh("sbattach --detach " + ShellQuote(out) + " " + ShellQuote(image) + " >/dev/null 2>&1");
  return out;
}

// ---- Images and keys ----------------------------------------------------------------------

enum class ImageKind { Shim, Kernel };

std::string UnsignedImage(ImageKind input) {
  return input == ImageKind::Shim ? Fetched("shimx64.efi") : UnsignedKernel();
}

SigningIdentity IdentityFor(KeyType type) {
  return type == KeyType::P256 ? Identity("sign-pe-p256", KeyType::P256)
                               : Identity("sign-pe-rsa", KeyType::Rsa2048);
}

struct Case {
  ImageKind input;
  KeyType key;
};

std::string Describe(const Case& c) {
  return std::string(c.input == ImageKind::Shim ? "Shim" : "Kernel") +
         (c.key == KeyType::P256 ? "EcdsaP256" : "Rsa2048");
}
std::string CaseName(const ::testing::TestParamInfo<Case>& info) { return Describe(info.param); }
// For gtest's and ctest's listing.
void PrintTo(const Case& c, std::ostream* os) { *os << Describe(c); }

class SignPeAccepted : public ::testing::TestWithParam<Case> {
 protected:
  Scratch scratch_;
};

TEST_P(SignPeAccepted, BySbverifyOsslsigncodeAndHvsig) {
  const SigningIdentity id = IdentityFor(GetParam().key);
  const std::string image = Signed(UnsignedImage(GetParam().input), scratch_ / "signed.efi", id.signer);
  EXPECT_TRUE(SbVerify(image, id.signer.cert));
  EXPECT_TRUE(OsslVerify(image, id.ca.cert));
  EXPECT_TRUE(HvsigTrusts(image, id.ca.cert));
  EXPECT_FALSE(HvsigTrusts(image, UnrelatedCa().cert));
}

// sbsign pads the image the same way before hashing, so both signatures vouch for one digest.
TEST_P(SignPeAccepted, DigestEqualsSbsignOutputDigest) {
  const SigningIdentity id = IdentityFor(GetParam().key);
  const std::string in = UnsignedImage(GetParam().input);
  const std::string ours = Signed(in, scratch_ / "hvsig.efi", id.signer);
  const std::string theirs = scratch_ / "sbsign.efi";
  SbSign(in, theirs, IdentityFor(KeyType::Rsa2048).signer);
  EXPECT_EQ(Digest(ours).size(), 64u);
  EXPECT_EQ(Digest(ours), Digest(theirs));
}

TEST_P(SignPeAccepted, TamperingFailsInAllVerifiers) {
  const SigningIdentity id = IdentityFor(GetParam().key);
  const std::string image = Signed(UnsignedImage(GetParam().input), scratch_ / "signed.efi", id.signer);
  const Bytes bytes = ReadFile(image);
  const PeFields f = LocateFields(bytes);
  ASSERT_GT(f.section_count, 0);
  const uint64_t body = GetLe32(bytes, f.section_header(0) + 20) +
                        GetLe32(bytes, f.section_header(0) + 16) / 2;
  Bytes flipped = bytes;
  flipped.at(body) ^= 1;
  WriteFile(scratch_ / "body.efi", flipped);
  ExpectRefusedEverywhere(scratch_ / "body.efi", id.signer, id.ca.cert);

  // The signature value is the last element of the SignedData.
  const uint64_t der = f.cert_table_offset + 8;
  Bytes forged = bytes;
  forged.at(der + DerElementLength(bytes, der) - 1) ^= 1;
  WriteFile(scratch_ / "signature.efi", forged);
  ExpectRefusedEverywhere(scratch_ / "signature.efi", id.signer, id.ca.cert);
}

INSTANTIATE_TEST_SUITE_P(All, SignPeAccepted,
                         ::testing::Values(Case{ImageKind::Shim, KeyType::Rsa2048},
                                           Case{ImageKind::Shim, KeyType::P256},
                                           Case{ImageKind::Kernel, KeyType::Rsa2048},
                                           Case{ImageKind::Kernel, KeyType::P256}),
                         CaseName);

// ---- Layout -------------------------------------------------------------------------------

// The input survives byte for byte except CheckSum and the security directory; zero padding to
// 8 bytes follows; then one WIN_CERTIFICATE (revision 0x0200, PKCS_SIGNED_DATA): header, DER
// and fewer than 8 zero bytes, dwLength the whole entry (a multiple of 8).
TEST(SignPeLayout, InputPaddingAndOneCertificateEntry) {
  Scratch scratch;
  const std::string in = Fetched("shimx64.efi");
  const Bytes original = ReadFile(in);
  ASSERT_NE(original.size() % 8, 0u) << "the shim is expected to need padding";
  const Bytes out = ReadFile(Signed(in, scratch / "signed.efi", IdentityFor(KeyType::Rsa2048).signer));
  const PeFields f = LocateFields(out);
  const uint64_t padded = (original.size() + 7) / 8 * 8;
  ASSERT_EQ(f.cert_table_offset, padded);
  ASSERT_EQ(out.size(), f.cert_table_end());
  EXPECT_EQ(f.cert_table_size % 8, 0u);
  for (uint64_t i = 0; i < original.size(); ++i) {
    const bool rewritten = (i >= f.checksum_at && i < f.checksum_at + 4) ||
                           (i >= f.security_dir_at && i < f.security_dir_at + 8);
    if (!rewritten && out[i] != original[i]) FAIL() << "byte " << i << " changed";
  }
  for (uint64_t i = original.size(); i < padded; ++i) EXPECT_EQ(out[i], 0) << i;
  const uint64_t der = f.cert_table_offset + 8;
  EXPECT_EQ(GetLe32(out, f.cert_table_offset), f.cert_table_size);
  EXPECT_EQ(GetLe16(out, f.cert_table_offset + 4), 0x0200);
  EXPECT_EQ(GetLe16(out, f.cert_table_offset + 6), 2);
  EXPECT_EQ(f.cert_table_size, (8 + DerElementLength(out, der) + 7) / 8 * 8);
  for (uint64_t i = der + DerElementLength(out, der); i < out.size(); ++i) EXPECT_EQ(out[i], 0) << i;
}

// The SignedData as OpenSSL reads it: content type SPC_INDIRECT_DATA_OBJID, and the signed
// attributes the Authenticode spec asks for.
TEST(SignPeLayout, SignedDataAsOpenSslParsesIt) {
  Scratch scratch;
  const std::string image =
      Signed(UnsignedKernel(), scratch / "signed.efi", IdentityFor(KeyType::Rsa2048).signer);
  const std::string p7 = DetachedSignature(image, scratch / "signature.p7");
  const std::string dump = Shell("openssl asn1parse -inform DER -in " + ShellQuote(p7));
  for (const char* expected :
       {":pkcs7-signedData", ":1.3.6.1.4.1.311.2.1.4", ":1.3.6.1.4.1.311.2.1.15", ":sha256",
        ":contentType", ":messageDigest", ":1.3.6.1.4.1.311.2.1.12", ":1.3.6.1.4.1.311.2.1.11",
        ":Microsoft Individual Code Signing", ":rsaEncryption"}) {
    EXPECT_NE(dump.find(expected), std::string::npos) << expected << "\n" << dump;
  }
  // The image digest inside SpcIndirectDataContent is the one hvsig digest computes.
  EXPECT_NE(Lower(dump).find(Digest(image)), std::string::npos) << dump;
}

// ---- Chains, key formats, re-signing ------------------------------------------------------

TEST(SignPeChain, AddcertIntermediateVerifiesAgainstTheRoot) {
  Scratch scratch;
  const Chain chain = MakeChain();
  const std::string in = UnsignedKernel();
  const std::string image =
      Signed(in, scratch / "chain.efi", chain.leaf, "--addcert " + ShellQuote(chain.intermediate.cert));
  EXPECT_TRUE(HvsigTrusts(image, chain.root.cert));
  EXPECT_TRUE(OsslVerify(image, chain.root.cert));
  EXPECT_TRUE(SbVerify(image, chain.root.cert));
  const std::string certs = Shell("openssl pkcs7 -inform DER -print_certs -noout -in " +
                                  ShellQuote(DetachedSignature(image, scratch / "chain.p7")));
  EXPECT_NE(certs.find("subject=CN = hvsig test chain-leaf"), std::string::npos) << certs;
  EXPECT_NE(certs.find("subject=CN = hvsig test chain-intermediate"), std::string::npos) << certs;

  // Without the intermediate the root cannot vouch.
  const std::string leaf_only = Signed(in, scratch / "leaf-only.efi", chain.leaf);
  EXPECT_FALSE(HvsigTrusts(leaf_only, chain.root.cert));
  EXPECT_TRUE(OsslRefuses(leaf_only, chain.root.cert));
  EXPECT_TRUE(HvsigTrusts(leaf_only, chain.intermediate.cert));
}

// DER key and certificate give the same file as PEM: with no signingTime, an RSA PKCS#1 v1.5
// signature depends only on the image and the key.
TEST(SignPeKeys, DerKeyAndCertificateGiveTheSameFileAsPem) {
  Scratch scratch;
  const Credential pem = IdentityFor(KeyType::Rsa2048).signer;
  const Credential der{scratch / "key.der", scratch / "cert.der"};
  Sh("openssl pkey -in " + ShellQuote(pem.key) + " -outform DER -out " + ShellQuote(der.key));
  Sh("openssl x509 -in " + ShellQuote(pem.cert) + " -outform DER -out " + ShellQuote(der.cert));
  const std::string in = Fetched("shimx64.efi");
  const Bytes from_pem = ReadFile(Signed(in, scratch / "pem.efi", pem));
  const Bytes from_der = ReadFile(Signed(in, scratch / "der.efi", der));
  EXPECT_TRUE(from_pem == from_der);
}

TEST(SignPeResign, SignedImageRefusedWithoutReplace) {
  Scratch scratch;
  const SigningIdentity id = IdentityFor(KeyType::Rsa2048);
  const std::string out = scratch / "resigned.efi";
  const CommandResult r = SignPe(DebianKernel(), out, id.signer);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("already signed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--replace"), std::string::npos) << r.out;
  EXPECT_FALSE(FileExists(out));

  // Our own output too.
  const std::string ours = Signed(UnsignedKernel(), scratch / "ours.efi", id.signer);
  EXPECT_EQ(SignPe(ours, out, id.signer).exit_code, 1);
  EXPECT_FALSE(FileExists(out));
}

// --replace drops Debian's signature: the image keeps its digest and only the new signer vouches.
TEST(SignPeResign, ReplaceSwapsTheSignature) {
  Scratch scratch;
  const SigningIdentity id = IdentityFor(KeyType::P256);
  const std::string image = Signed(DebianKernel(), scratch / "replaced.efi", id.signer, "--replace");
  EXPECT_EQ(Digest(image), Digest(DebianKernel()));
  EXPECT_TRUE(HvsigTrusts(image, id.ca.cert));
  EXPECT_FALSE(HvsigTrusts(image, DebianCa()));
  EXPECT_TRUE(SbVerify(image, id.signer.cert));
  EXPECT_TRUE(OsslVerify(image, id.ca.cert));
  const PeFields f = LocateFields(ReadFile(image));
  EXPECT_EQ(f.cert_table_size, GetLe32(ReadFile(image), f.cert_table_offset))
      << "one certificate entry";
}

// ---- Failures -----------------------------------------------------------------------------

TEST(SignPeErrors, ExitCodesAndMessages) {
  Scratch scratch;
  const Credential rsa = IdentityFor(KeyType::Rsa2048).signer;
  const Credential ec = IdentityFor(KeyType::P256).signer;
  const std::string in = Fetched("shimx64.efi");
  const std::string out = scratch / "out.efi";
  struct Expectation {
    std::string args;
    int exit_code;
    std::string message;
  };
  const std::string ed25519 = scratch / "ed25519.key";
  Sh("openssl genpkey -algorithm ED25519 -out " + ShellQuote(ed25519));
  const std::string encrypted = scratch / "encrypted.key";
  Sh("openssl pkey -in " + ShellQuote(rsa.key) + " -aes128 -passout pass:x -out " + ShellQuote(encrypted));
  const std::string not_pe = scratch / "not-pe.efi";
  WriteFile(not_pe, BytesOf("this is not a PE image"));
  const std::string o = " -o " + ShellQuote(out);
  const std::vector<Expectation> cases = {
      {"sign pe --cert " + ShellQuote(rsa.cert) + " " + ShellQuote(in) + o, 2, "--key is required"},
      {"sign pe --key " + ShellQuote(rsa.key) + " --cert " + ShellQuote(rsa.cert) + " " +
           ShellQuote(in), 2, "--output is required"},
      {"sign pe --key " + ShellQuote(rsa.key) + " --cert " + ShellQuote(rsa.cert) + " " +
           ShellQuote(scratch / "missing.efi") + o, 2, "missing.efi"},
      {"sign pe --key " + ShellQuote(rsa.key) + " --cert " + ShellQuote(ec.cert) + " " +
           ShellQuote(in) + o, 1, "does not match the public key of"},
      {"sign pe --key " + ShellQuote(ed25519) + " --cert " + ShellQuote(rsa.cert) + " " +
           ShellQuote(in) + o, 1, "only RSA and ECDSA keys"},
      {"sign pe --key " + ShellQuote(encrypted) + " --cert " + ShellQuote(rsa.cert) + " " +
           ShellQuote(in) + o, 1, "not a private key"},
      {"sign pe --key " + ShellQuote(rsa.key) + " --cert " + ShellQuote(rsa.key) + " " +
           ShellQuote(in) + o, 1, "not a certificate"},
      {"sign pe --key " + ShellQuote(rsa.key) + " --cert " + ShellQuote(rsa.cert) + " " +
           ShellQuote(not_pe) + o, 1, "malformed PE: PeTruncated at offset"},
  };
  for (const Expectation& c : cases) {
    const CommandResult r = Hvsig(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_FALSE(FileExists(out)) << c.args;
  }
}

}  // namespace
}  // namespace hvsig::test
