// Livepatch payloads (include/hvsig/livepatch.h, policy::DecideLivepatch, `hvsig sign
// livepatch`, `hvsig verify --purpose livepatch`). Fixtures are made at test time: a small C
// file compiled by `gcc -c` with a 104-byte struct livepatch_func in .livepatch.funcs; keys and
// certificates by the openssl CLI. Oracles: `openssl dgst -verify` on the zeroed file for the
// note format, Linux's own scripts/sign-file (Debian linux-kbuild-6.1, fixture
// linux_kbuild: "*SignFile*" tests) and `openssl cms -verify` for the module format. Core tests
// run with both providers.
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hvsig/crypto_builtin.h"
#include "hvsig/crypto_openssl.h"
#include "hvsig/livepatch.h"
#include "hvsig/policy.h"
#include "livepatch_support.h"
#include "signing_support.h"
#include "test_support.h"

namespace hvsig::test {
namespace {

using json = nlohmann::json;
using keyring::KeyringId;
using policy::LivepatchVerdict;

const std::string kTool = HVSIG_TOOL;

// ---- Fixtures (livepatch_support.h has the shared ones) -----------------------------------

std::string NoFuncsObject() {
  return Compile("lp-nofuncs.o", "int patched_function(int x) { return x + 1; }\n");
}

// The signer's public key as PKCS#1 RSAPublicKey (PEM).
std::string Pkcs1PublicKey(const Credential& c) {
  return Cached(KeyName(c) + ".rsapub.pem", [&](const std::string& out) {
    Sh("openssl rsa -in " + ShellQuote(c.key) + " -RSAPublicKey_out -out " + ShellQuote(out) +
       " 2>/dev/null");
  });
}

std::string SignFileTool() {
  return std::string(HVSIG_TEST_CACHE) + "/root/usr/lib/linux-kbuild-6.1/scripts/sign-file";
}

// ---- Core runs -----------------------------------------------------------------------------

// Counts what a decision costs: signature work is any verify call and any digest beyond the
// payload's measurement.
struct Counting {
  static inline const CryptoProvider* inner = nullptr;
  static inline int digests = 0;
  static inline int verifies = 0;
  static Result DigestInit(const CryptoProvider&, DigestAlg alg, DigestContext& ctx) {
    ++digests;
    return inner->digest_init(*inner, alg, ctx);
  }
  static Result VerifyRsa(const CryptoProvider&, const RsaPublicKey& key, DigestAlg alg,
                          Input digest, Input signature) {
    ++verifies;
    return inner->verify_rsa_pkcs1(*inner, key, alg, digest, signature);
  }
  static CryptoProvider Wrap(const CryptoProvider& provider) {
    inner = &provider;
    digests = 0;
    verifies = 0;
    CryptoProvider wrapped = provider;
    wrapped.digest_init = DigestInit;
    wrapped.verify_rsa_pkcs1 = VerifyRsa;
    return wrapped;
  }
};

struct Rings {
  Rings() {
    for (size_t i = 0; i < keyring::kKeyringCount; ++i) {
      keyring::Init(rings[i], static_cast<KeyringId>(i));
      view.rings[i] = &rings[i];
    }
  }
  keyring::Keyring& ring(KeyringId id) { return rings[static_cast<size_t>(id)]; }
  void AddCert(KeyringId id, const std::string& pem, const CryptoProvider& provider) {
    storage.push_back(std::make_unique<Bytes>(CertificateDer(pem)));
    Certificate cert;
    ASSERT_EQ(ParseCertificate(provider, In(*storage.back()), cert), Result::Success);
    ASSERT_EQ(keyring::AddCertificate(ring(id), cert, keyring::Origin::Runtime), Result::Success);
  }
  void AddRawKey(KeyringId id, const std::string& pub_pem, const CryptoProvider& provider) {
    storage.push_back(std::make_unique<Bytes>(SpkiDer(pub_pem)));
    ASSERT_EQ(keyring::AddRawRsaKeySpki(provider, ring(id), In(*storage.back()),
                                        keyring::Origin::Runtime),
              Result::Success);
  }
  static Bytes SpkiDer(const std::string& pub_pem) {
    return FromHex(Shell("openssl pkey -pubin -in " + ShellQuote(pub_pem) +
                         " -outform DER | od -An -v -tx1"));
  }
  std::vector<std::unique_ptr<Bytes>> storage;
  keyring::Keyring rings[keyring::kKeyringCount];
  policy::Keyrings view;
};

struct Run {
  Result result;
  policy::LivepatchDecision d;
  std::unique_ptr<policy::LivepatchContext> context = std::make_unique<policy::LivepatchContext>();
};

std::unique_ptr<Run> Decide(const CryptoProvider& provider, const Bytes& file, const Rings& rings,
                            const policy::LivepatchPolicy& p = policy::DefaultLivepatchPolicy(false)) {
  auto run = std::make_unique<Run>();
  run->result = policy::DecideLivepatch(provider, In(file), rings.view, p, *run->context, run->d);
  return run;
}

Bytes Sha256(const Bytes& b) { return OpenSslDigest(DigestAlg::Sha256, b); }
Bytes View(const uint8_t* p, size_t n) { return Bytes(p, p + n); }

class LivepatchCore : public ::testing::TestWithParam<const char*> {
 protected:
  const CryptoProvider& provider() const {
    return std::string(GetParam()) == "openssl" ? OpenSslProvider() : BuiltinProvider();
  }
  Rings RawKeyRings() {
    Rings rings;
    rings.AddRawKey(KeyringId::Builtin, PublicKey(Signer().signer), provider());
    return rings;
  }
};

INSTANTIATE_TEST_SUITE_P(Providers, LivepatchCore, ::testing::Values("builtin", "openssl"));

// ---- Structure -----------------------------------------------------------------------------

TEST_P(LivepatchCore, GccObjectParsesAsAnUnsignedPayloadWithTwoFuncs) {
  const Bytes file = ReadFile(PatchObject());
  livepatch::Payload payload;
  Error error;
  ASSERT_EQ(livepatch::ParsePayload(In(file), payload, error), Result::Success)
      << ResultName(error.result) << " at " << error.offset;
  EXPECT_EQ(payload.format, livepatch::Format::None);
  EXPECT_EQ(payload.func_count, 2u);
  EXPECT_EQ(payload.funcs_offset, Elf{file}.offset(".livepatch.funcs"));
  EXPECT_EQ(payload.section_count, Elf{file}.shnum());
}

TEST_P(LivepatchCore, UnsignedIsAcceptedOnlyWithoutSecureBootAndWithoutRequirement) {
  const Bytes file = ReadFile(PatchObject());
  Rings rings = RawKeyRings();
  auto plain = Decide(provider(), file, rings);
  EXPECT_EQ(plain->result, Result::LivepatchNotSigned);
  EXPECT_EQ(plain->d.verdict, LivepatchVerdict::Unsigned);
  EXPECT_TRUE(plain->d.accepted);
  EXPECT_FALSE(plain->d.malformed);
  EXPECT_EQ(View(plain->d.payload_sha256, 32), Sha256(file));

  auto secure = Decide(provider(), file, rings, policy::DefaultLivepatchPolicy(true));
  EXPECT_EQ(secure->d.verdict, LivepatchVerdict::Unsigned);
  EXPECT_FALSE(secure->d.accepted);

  policy::LivepatchPolicy required = policy::DefaultLivepatchPolicy(false);
  required.require_signature = true;
  EXPECT_FALSE(Decide(provider(), file, rings, required)->d.accepted);
  // Log mode loads an unsigned payload, except under secure boot.
  policy::LivepatchPolicy log = required;
  log.mode = policy::Mode::Log;
  EXPECT_TRUE(Decide(provider(), file, rings, log)->d.accepted);
  log.secure_boot = true;
  EXPECT_FALSE(Decide(provider(), file, rings, log)->d.accepted);
}

struct Mutation {
  const char* name;
  std::function<void(Bytes&)> apply;
  Result expected;
};

// Each check of ParsePayload, on a note-signed payload (so that a check that failed to stop
// would lead to signature work).
std::vector<Mutation> ElfMutations() {
  auto section_field = [](const std::string& section, uint64_t field, uint64_t value, int width) {
    return [=](Bytes& b) {
      const uint64_t at = Elf{b}.header(Elf{b}.index(section)) + field;
      if (width == 8) PutLe64(b, at, value);
      if (width == 4) PutLe32(b, at, static_cast<uint32_t>(value));
    };
  };
  return {
      {"TooShort", [](Bytes& b) { b.erase(b.begin() + 40, b.end()); }, Result::LivepatchElfTruncated},
      {"BadMagic", [](Bytes& b) { b[1] = 'X'; }, Result::LivepatchElfBadMagic},
      {"Elf32", [](Bytes& b) { b[4] = 1; }, Result::LivepatchElfNotElf64},
      {"BigEndian", [](Bytes& b) { b[5] = 2; }, Result::LivepatchElfNotLittleEndian},
      {"IdentVersion", [](Bytes& b) { b[6] = 0; }, Result::LivepatchElfBadVersion},
      {"Version", [](Bytes& b) { PutLe32(b, 20, 2); }, Result::LivepatchElfBadVersion},
      {"OsAbi", [](Bytes& b) { b[7] = 3; }, Result::LivepatchElfBadOsAbi},
      {"AbiVersion", [](Bytes& b) { b[8] = 1; }, Result::LivepatchElfBadOsAbi},
      {"Executable", [](Bytes& b) { PutLe16(b, 16, 2); }, Result::LivepatchElfNotRelocatable},
      {"I386", [](Bytes& b) { PutLe16(b, 18, 3); }, Result::LivepatchElfNotX86_64},
      {"ProgramHeaders", [](Bytes& b) { PutLe16(b, 56, 1); }, Result::LivepatchElfHasProgramHeaders},
      {"HeaderSize", [](Bytes& b) { PutLe16(b, 52, 52); }, Result::LivepatchElfBadHeaderSize},
      {"SectionHeaderSize", [](Bytes& b) { PutLe16(b, 58, 72); },
       Result::LivepatchElfBadSectionHeaderSize},
      {"NoSectionNames", [](Bytes& b) { PutLe16(b, 62, 0); }, Result::LivepatchElfNoSectionNames},
      {"TooManySections", [](Bytes& b) { PutLe16(b, 60, 1024); },
       Result::LivepatchElfTooManySections},
      {"SectionNameIndexPastTable", [](Bytes& b) { PutLe16(b, 62, GetLe16(b, 60)); },
       Result::LivepatchElfBadSectionNameIndex},
      {"TruncatedSectionTable", [](Bytes& b) { b.erase(b.end() - 10, b.end()); },
       Result::LivepatchElfSectionTableOutOfBounds},
      {"SectionTableOverHeader", [](Bytes& b) { PutLe64(b, 40, 8); },
       Result::LivepatchElfSectionTableOutOfBounds},
      {"SectionPastEnd", section_field(".text", 24, 1ull << 40, 8),
       Result::LivepatchElfSectionOutOfBounds},
      {"SectionSizeWraps", section_field(".text", 32, ~0ull - 8, 8),
       Result::LivepatchElfSectionOutOfBounds},
      {"SectionAtElfHeader", section_field(".text", 24, 16, 8),
       Result::LivepatchElfSectionOutOfBounds},
      {"NoSymbolTable", section_field(".symtab", 4, 1, 4), Result::LivepatchElfNoSymbolTable},
      {"SymbolTableLinkPastTable",
       [](Bytes& b) { PutLe32(b, Elf{b}.header(Elf{b}.index(".symtab")) + 40, 5000); },
       Result::LivepatchElfBadSymbolTableLink},
      {"SymbolEntrySizeSmall", section_field(".symtab", 56, 16, 8),
       Result::LivepatchElfBadSymbolTable},
      {"SymbolStringTableNotTerminated",
       [](Bytes& b) {
         const Elf e{b};
         const uint64_t h = e.header(e.index(".strtab"));
         b[GetLe64(b, h + 24) + GetLe64(b, h + 32) - 1] = 'x';
       },
       Result::LivepatchElfBadStringTable},
      {"SymbolNamePastStringTable",
       [](Bytes& b) { PutLe32(b, Elf{b}.offset(".symtab") + 24, 0x100000); },
       Result::LivepatchElfSymbolNameOutOfBounds},
      {"CommonSymbol", [](Bytes& b) { PutLe16(b, Elf{b}.offset(".symtab") + 24 + 6, 0xfff2); },
       Result::LivepatchElfBadSymbolSection},
      {"SymbolSectionPastTable",
       [](Bytes& b) { PutLe16(b, Elf{b}.offset(".symtab") + 24 + 6, 900); },
       Result::LivepatchElfBadSymbolSection},
      {"SectionNamePastTable",
       [](Bytes& b) { PutLe32(b, Elf{b}.header(Elf{b}.index(".text")), 0x100000); },
       Result::LivepatchElfSectionNameOutOfBounds},
      {"SectionNamesNotStrtab",
       [](Bytes& b) { PutLe32(b, Elf{b}.header(GetLe16(b, 62)) + 4, 1); },
       Result::LivepatchElfBadStringTable},
      {"MissingFuncs",
       [](Bytes& b) {
         const Elf e{b};
         const uint64_t strtab = GetLe64(b, e.header(GetLe16(b, 62)) + 24);
         b[strtab + GetLe32(b, e.header(e.index(".livepatch.funcs"))) + 15] = 'z';
       },
       Result::LivepatchFuncsMissing},
      {"DuplicateFuncs",
       [](Bytes& b) {
         const Elf e{b};
         PutLe32(b, e.header(e.index(".text")), GetLe32(b, e.header(e.index(".livepatch.funcs"))));
       },
       Result::LivepatchElfDuplicateSection},
      {"FuncsNoBits", section_field(".livepatch.funcs", 4, 8, 4), Result::LivepatchFuncsNoBits},
      {"FuncsPartialEntry", section_field(".livepatch.funcs", 32, 200, 8),
       Result::LivepatchFuncsBadSize},
      {"FuncsEmpty", section_field(".livepatch.funcs", 32, 0, 8), Result::LivepatchFuncsBadSize},
      {"FuncsVersion1",
       [](Bytes& b) { b[Elf{b}.offset(".livepatch.funcs") + 104 + 32] = 1; },
       Result::LivepatchFuncsBadVersion},
      {"NoteNotSht_Note", section_field(".note.Xen.signature", 4, 1, 4),
       Result::LivepatchNoteBadSectionType},
      {"NoteType", [](Bytes& b) { PutLe32(b, Elf{b}.offset(".note.Xen.signature") + 8, 0x00010001); },
       Result::LivepatchNoteUnsupportedType},
      {"NoteHashSha384", [](Bytes& b) { PutLe32(b, Elf{b}.offset(".note.Xen.signature") + 8, 0x01000001); },
       Result::LivepatchNoteUnsupportedType},
      {"NoteVersion2", [](Bytes& b) { PutLe32(b, Elf{b}.offset(".note.Xen.signature") + 8, 2); },
       Result::LivepatchNoteUnsupportedType},
      {"NoteDescriptorPastSection",
       [](Bytes& b) { PutLe32(b, Elf{b}.offset(".note.Xen.signature") + 4, 4096); },
       Result::LivepatchNoteTruncated},
      {"NoteNotXen", [](Bytes& b) { b[Elf{b}.offset(".note.Xen.signature") + 12] = 'Q'; },
       Result::LivepatchNoteMissing},
      {"NoteEmptyDescriptor",
       [](Bytes& b) {
         const Elf e{b};
         const uint64_t note = e.offset(".note.Xen.signature");
         PutLe32(b, note + 4, 0);
         PutLe64(b, e.header(e.index(".note.Xen.signature")) + 32, 16);
       },
       Result::LivepatchNoteBadSignatureSize},
  };
}

TEST_P(LivepatchCore, MalformedPayloadIsRejectedBeforeAnySignatureWork) {
  const Bytes signed_file = ReadFile(NoteSigned());
  Rings rings = RawKeyRings();
  for (const Mutation& m : ElfMutations()) {
    SCOPED_TRACE(m.name);
    Bytes file = signed_file;
    m.apply(file);
    livepatch::Payload payload;
    Error error;
    EXPECT_EQ(livepatch::ParsePayload(In(file), payload, error), m.expected)
        << ResultName(error.result);
    const CryptoProvider counting = Counting::Wrap(provider());
    auto run = Decide(counting, file, rings);
    EXPECT_EQ(run->result, m.expected) << ResultName(run->result);
    EXPECT_EQ(run->d.verdict, LivepatchVerdict::Rejected);
    EXPECT_TRUE(run->d.malformed);
    EXPECT_FALSE(run->d.accepted);
    EXPECT_EQ(run->d.error.offset, error.offset);
    EXPECT_EQ(Counting::verifies, 0);
    EXPECT_EQ(Counting::digests, 1);  // the measurement only
    EXPECT_EQ(View(run->d.payload_sha256, 32), Sha256(file));
  }
}

TEST_P(LivepatchCore, ObjectWithoutFuncsSectionIsRefusedBySignerAndVerifier) {
  const Bytes file = ReadFile(NoFuncsObject());
  Rings rings;
  auto run = Decide(provider(), file, rings);
  EXPECT_EQ(run->result, Result::LivepatchFuncsMissing);
  EXPECT_TRUE(run->d.malformed);
  const CommandResult signed_ = RunCommand(ShellQuote(kTool) + " sign livepatch --format note --key " +
                                           ShellQuote(Signer().signer.key) + " " +
                                           ShellQuote(NoFuncsObject()) + " -o /dev/null 2>&1");
  EXPECT_EQ(signed_.exit_code, 1);
  EXPECT_NE(signed_.out.find("LivepatchFuncsMissing"), std::string::npos) << signed_.out;
}

// ---- Format (a): the note -------------------------------------------------------------------

TEST_P(LivepatchCore, NoteSignedByHvsigIsTrustedThroughARawKeyInEitherForm) {
  const Bytes file = ReadFile(NoteSigned());
  const std::string fingerprint =
      Trim(Shell("openssl pkey -pubin -in " + ShellQuote(PublicKey(Signer().signer)) +
                 " -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1"));
  // SPKI form.
  Rings spki = RawKeyRings();
  auto run = Decide(provider(), file, spki);
  EXPECT_EQ(run->result, Result::Success) << ResultName(run->result);
  EXPECT_EQ(run->d.verdict, LivepatchVerdict::Trusted);
  EXPECT_TRUE(run->d.accepted);
  EXPECT_EQ(run->d.format, livepatch::Format::XenNote);
  EXPECT_EQ(run->d.signer_kind, policy::SignerKind::RawKey);
  EXPECT_EQ(Hex(Input(run->d.signer_sha256, 32)), fingerprint);
  EXPECT_EQ(run->d.keyring, KeyringId::Builtin);
  EXPECT_EQ(run->d.func_count, 2u);
  EXPECT_EQ(View(run->d.payload_sha256, 32), Sha256(file));

  // Modulus and exponent (as `openssl rsa -modulus` prints them) in secondary.
  const std::string key = ShellQuote(Signer().signer.key);
  const Bytes modulus = FromHex(Shell("openssl rsa -in " + key + " -noout -modulus | cut -d= -f2"));
  const Bytes exponent{0x01, 0x00, 0x01};
  Rings raw;
  ASSERT_EQ(keyring::AddRawRsaKey(provider(), raw.ring(KeyringId::Secondary),
                                  RsaPublicKey{In(modulus), In(exponent)}, keyring::Origin::Runtime),
            Result::Success);
  EXPECT_EQ(Hex(Input(raw.ring(KeyringId::Secondary).raw_keys[0].spki_sha256, 32)), fingerprint);
  auto second = Decide(provider(), file, raw);
  EXPECT_EQ(second->d.verdict, LivepatchVerdict::Trusted);
  EXPECT_EQ(second->d.keyring, KeyringId::Secondary);

  // A keyring the policy does not accept does not vouch; nor does an unrelated key.
  Rings platform;
  platform.AddRawKey(KeyringId::Platform, PublicKey(Signer().signer), provider());
  EXPECT_EQ(Decide(provider(), file, platform)->result, Result::NotTrusted);
  Rings other;
  other.AddRawKey(KeyringId::Builtin, PublicKey(Identity("livepatch-other", KeyType::Rsa2048).signer),
                  provider());
  auto untrusted = Decide(provider(), file, other, policy::DefaultLivepatchPolicy(true));
  EXPECT_EQ(untrusted->result, Result::NotTrusted);
  EXPECT_FALSE(untrusted->d.malformed);
  EXPECT_FALSE(untrusted->d.accepted);
}

TEST_P(LivepatchCore, NoteSignatureIsIndependentlyVerifiedByOpenSslOverTheZeroedFile) {
  const std::string path = NoteSigned();
  const Bytes file = ReadFile(path);
  // The descriptor, found by readelf: section offset + 12-byte note header + "Xen\0".
  const std::string line =
      Shell("readelf -SW " + ShellQuote(path) + " | grep -F .note.Xen.signature");
  std::istringstream fields(line.substr(line.find("NOTE") + 4));
  std::string address, offset_hex;
  fields >> address >> offset_hex;
  const uint64_t descriptor = std::stoull(offset_hex, nullptr, 16) + 16;
  const size_t length = GetLe32(file, descriptor - 12);
  EXPECT_EQ(length, 256u);  // RSA-2048
  livepatch::Payload payload;
  Error error;
  ASSERT_EQ(livepatch::ParsePayload(In(file), payload, error), Result::Success);
  EXPECT_EQ(payload.note_signature_offset, descriptor);

  const std::string pub = ShellQuote(PublicKey(Signer().signer));
  auto openssl_verifies = [&](const Bytes& candidate, const std::string& tag) {
    Bytes zeroed = candidate;
    std::fill(zeroed.begin() + static_cast<long>(descriptor),
              zeroed.begin() + static_cast<long>(descriptor + length), 0);
    const std::string z = kWork + "/zeroed-" + tag + ".elf";
    const std::string d = kWork + "/desc-" + tag + ".bin";
    WriteFile(z, zeroed);
    WriteFile(d, Bytes(candidate.begin() + static_cast<long>(descriptor),
                       candidate.begin() + static_cast<long>(descriptor + length)));
    const CommandResult r = RunCommand("openssl dgst -sha256 -verify " + pub + " -signature " +
                                       ShellQuote(d) + " " + ShellQuote(z));
    return r.exit_code == 0 && r.out.find("Verified OK") != std::string::npos;
  };
  EXPECT_TRUE(openssl_verifies(file, GetParam()));
  uint8_t digest[32];
  ASSERT_EQ(livepatch::DigestForNote(provider(), payload, digest), Result::Success);
  Bytes zeroed = file;
  std::fill(zeroed.begin() + static_cast<long>(descriptor),
            zeroed.begin() + static_cast<long>(descriptor + length), 0);
  EXPECT_EQ(View(digest, 32), Sha256(zeroed));

  // Any byte outside the descriptor: the ELF header, the note's header and name, the first and
  // last funcs bytes, section data, the section table, the last byte.
  const Elf e{file};
  const uint64_t note = descriptor - 16;
  std::vector<uint64_t> positions = {0, 7, 24, 33, 48, 63, note, note + 3, note + 5, note + 8,
                                     note + 13, e.offset(".livepatch.funcs"),
                                     e.offset(".livepatch.funcs") + 207, e.offset(".text"),
                                     e.offset(".symtab") + 30, e.header(3) + 1,
                                     e.header(e.shnum() - 1) + 40, file.size() - 1};
  Rings rings = RawKeyRings();
  for (uint64_t at : positions) {
    SCOPED_TRACE("flipped byte " + std::to_string(at));
    Bytes flipped = file;
    flipped[at] ^= 0x01;
    EXPECT_FALSE(openssl_verifies(flipped, GetParam()));
    EXPECT_NE(Decide(provider(), flipped, rings)->d.verdict, LivepatchVerdict::Trusted);
  }
  // Inside the descriptor: the signature itself no longer verifies.
  Bytes bad_signature = file;
  bad_signature[descriptor + 100] ^= 0x80;
  EXPECT_EQ(Decide(provider(), bad_signature, rings)->result, Result::NotTrusted);
}

TEST_P(LivepatchCore, RevokedRawKeyAndRefusedFormatsAreRejected) {
  const Bytes file = ReadFile(NoteSigned());
  Rings rings = RawKeyRings();
  rings.AddRawKey(KeyringId::Blacklist, PublicKey(Signer().signer), provider());
  auto revoked = Decide(provider(), file, rings);
  EXPECT_EQ(revoked->result, Result::RevokedRawKey);
  EXPECT_EQ(revoked->d.verdict, LivepatchVerdict::Rejected);
  EXPECT_FALSE(revoked->d.malformed);

  Rings trusting = RawKeyRings();
  policy::LivepatchPolicy modsig_only = policy::DefaultLivepatchPolicy(false);
  modsig_only.formats = livepatch::FormatBit(livepatch::Format::ModuleSignature);
  const CryptoProvider counting = Counting::Wrap(provider());
  auto refused = Decide(counting, file, trusting, modsig_only);
  EXPECT_EQ(refused->result, Result::LivepatchFormatNotAccepted);
  EXPECT_EQ(Counting::verifies, 0);

  trusting.AddCert(KeyringId::Builtin, Signer().signer.cert, provider());
  policy::LivepatchPolicy note_only = policy::DefaultLivepatchPolicy(false);
  note_only.formats = livepatch::FormatBit(livepatch::Format::XenNote);
  EXPECT_EQ(Decide(provider(), ReadFile(ModSigned()), trusting, note_only)->result,
            Result::LivepatchFormatNotAccepted);
}

// ---- Format (b): the module signature --------------------------------------------------------

struct ModuleParts {
  Bytes payload, pkcs7;
  uint64_t info;  // offset of struct module_signature
};

ModuleParts Split(const Bytes& file) {
  const uint64_t info = file.size() - 28 - 12;
  const uint32_t length = (uint32_t{file[info + 8]} << 24) | (uint32_t{file[info + 9]} << 16) |
                          (uint32_t{file[info + 10]} << 8) | file[info + 11];
  const uint64_t pkcs7 = info - length;
  return {Bytes(file.begin(), file.begin() + static_cast<long>(pkcs7)),
          Bytes(file.begin() + static_cast<long>(pkcs7), file.begin() + static_cast<long>(info)),
          info};
}

TEST_P(LivepatchCore, ModuleSignatureByHvsigIsTrustedAndOpenSslCmsAgrees) {
  const Bytes file = ReadFile(ModSigned());
  const Bytes object = ReadFile(PatchObject());
  const ModuleParts parts = Split(file);
  EXPECT_EQ(parts.payload, object);
  Rings rings;
  rings.AddCert(KeyringId::Builtin, Signer().signer.cert, provider());
  auto run = Decide(provider(), file, rings);
  EXPECT_EQ(run->result, Result::Success) << ResultName(run->result) << " at " << run->d.error.offset;
  EXPECT_EQ(run->d.format, livepatch::Format::ModuleSignature);
  EXPECT_EQ(run->d.signer_kind, policy::SignerKind::Certificate);
  EXPECT_EQ(View(run->d.signer_sha256, 32), Sha256(CertificateDer(Signer().signer.cert)));
  EXPECT_EQ(View(run->d.payload_sha256, 32), Sha256(file));
  EXPECT_TRUE(run->d.signer.present);
  EXPECT_FALSE(run->context->detached.signed_data.signer.has_signed_attributes);
  EXPECT_EQ(run->context->detached.signed_data.certificate_count, 0);  // as sign-file: -nocerts

  const std::string content = kWork + "/modsig-" + GetParam() + ".payload";
  const std::string sig = kWork + "/modsig-" + GetParam() + ".p7s";
  WriteFile(content, parts.payload);
  WriteFile(sig, parts.pkcs7);
  const CommandResult cms = RunCommand(
      "openssl cms -verify -binary -inform DER -in " + ShellQuote(sig) + " -content " +
      ShellQuote(content) + " -CAfile " + ShellQuote(Signer().ca.cert) + " -certfile " +
      ShellQuote(Signer().signer.cert) + " -purpose any -out /dev/null 2>&1");
  EXPECT_EQ(cms.exit_code, 0) << cms.out;
  EXPECT_NE(cms.out.find("Verification successful"), std::string::npos) << cms.out;

  // The payload changed: the signature no longer covers it.
  Bytes tampered = file;
  tampered[Elf{tampered}.offset(".text")] ^= 0xff;
  EXPECT_EQ(Decide(provider(), tampered, rings)->result, Result::CryptoBadSignature);
  // Nobody vouches without the signer's certificate; a revoked one is refused.
  Rings empty;
  EXPECT_EQ(Decide(provider(), file, empty)->result, Result::NotTrusted);
  rings.AddCert(KeyringId::Blacklist, Signer().signer.cert, provider());
  EXPECT_EQ(Decide(provider(), file, rings)->result, Result::RevokedCertificate);
}

TEST_P(LivepatchCore, ModuleSignatureContainerChecksFollowModCheckSigAndPkcs7Verify) {
  const Bytes file = ReadFile(ModSigned());
  const ModuleParts parts = Split(file);
  Rings rings;
  rings.AddCert(KeyringId::Builtin, Signer().signer.cert, provider());
  struct Case {
    const char* name;
    std::function<void(Bytes&)> apply;
    Result expected;
    uint64_t offset;
  };
  const uint64_t info = parts.info;
  std::vector<Case> cases = {
      {"IdType1", [&](Bytes& b) { b[info + 2] = 1; }, Result::ModsigNotPkcs7, info + 2},
      {"SigLenPastFile", [&](Bytes& b) { PutLe32(b, info + 8, 0xffffff7f); },
       Result::ModsigBadSignatureLength, info + 8},
      {"SigLenWholeFile",
       [&](Bytes& b) {
         const uint32_t n = static_cast<uint32_t>(info);
         b[info + 8] = static_cast<uint8_t>(n >> 24);
         b[info + 9] = static_cast<uint8_t>(n >> 16);
         b[info + 10] = static_cast<uint8_t>(n >> 8);
         b[info + 11] = static_cast<uint8_t>(n);
       },
       Result::ModsigBadSignatureLength, info + 8},
      {"OnlyMarker", [&](Bytes& b) { b.erase(b.begin(), b.end() - 30); }, Result::ModsigTruncated, 0},
  };
  for (uint64_t field : {0, 1, 3, 4, 5, 6, 7}) {
    cases.push_back({"NonZeroField", [&, field](Bytes& b) { b[info + field] = 4; },
                     Result::ModsigNonZeroField, info + field});
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.name));
    Bytes mutated = file;
    c.apply(mutated);
    const CryptoProvider counting = Counting::Wrap(provider());
    auto run = Decide(counting, mutated, rings);
    EXPECT_EQ(run->result, c.expected) << ResultName(run->result);
    EXPECT_EQ(run->d.error.offset, c.offset);
    EXPECT_TRUE(run->d.malformed);
    EXPECT_EQ(Counting::verifies, 0);
  }

  // Linux refuses authenticated attributes and attached content for modules.
  const Bytes with_attributes = CmsSign(std::string("lp-attrs-") + GetParam(), parts.payload, Signer().signer, "-nocerts");
  auto attrs = Decide(provider(), Assemble(parts.payload, with_attributes), rings);
  EXPECT_EQ(attrs->result, Result::ModsigHasSignedAttributes);
  EXPECT_FALSE(attrs->d.malformed);
  const Bytes attached = CmsSign(std::string("lp-attached-") + GetParam(), parts.payload, Signer().signer, "-noattr -nodetach");
  EXPECT_EQ(Decide(provider(), Assemble(parts.payload, attached), rings)->result,
            Result::Pkcs7ContentNotDetached);
  // Signer named by SKID (sign-file -k) is found as well; an embedded chain reaches the CA.
  const Bytes keyid = CmsSign(std::string("lp-keyid-") + GetParam(), parts.payload, Signer().signer, "-noattr -nocerts -keyid");
  EXPECT_EQ(Decide(provider(), Assemble(parts.payload, keyid), rings)->result, Result::Success);
  Rings ca;
  ca.AddCert(KeyringId::Secondary, Signer().ca.cert, provider());
  const Bytes with_cert = CmsSign(std::string("lp-cert-") + GetParam(), parts.payload, Signer().signer, "-noattr");
  auto chained = Decide(provider(), Assemble(parts.payload, with_cert), ca);
  EXPECT_EQ(chained->result, Result::Success);
  EXPECT_EQ(chained->d.keyring, KeyringId::Secondary);

  // A note inside a module-signed object: two containers, neither is trusted.
  auto both = Decide(provider(), Assemble(ReadFile(NoteSigned()), parts.pkcs7), rings);
  EXPECT_EQ(both->result, Result::LivepatchBothSignatureFormats);
}

TEST_P(LivepatchCore, SignFileOutputVerifiesAndHvsigSignsByteIdentically) {
  const std::string out = kWork + "/lp.signfile-" + std::string(GetParam()) + ".o";
  std::filesystem::copy_file(PatchObject(), out, std::filesystem::copy_options::overwrite_existing);
  Sh(ShellQuote(SignFileTool()) + " sha256 " + ShellQuote(Signer().signer.key) + " " +
     ShellQuote(Signer().signer.cert) + " " + ShellQuote(out));
  const Bytes file = ReadFile(out);
  Rings rings;
  rings.AddCert(KeyringId::Builtin, Signer().signer.cert, provider());
  auto run = Decide(provider(), file, rings);
  EXPECT_EQ(run->result, Result::Success) << ResultName(run->result);
  EXPECT_EQ(run->d.format, livepatch::Format::ModuleSignature);
  // RSA PKCS#1 v1.5 is deterministic: the same layout and flags give the same bytes.
  EXPECT_EQ(file, ReadFile(ModSigned()));
}

// ---- Keyring: raw keys ------------------------------------------------------------------------

TEST_P(LivepatchCore, RawKeyFingerprintsMatchOpenSslAndCapacityIsBounded) {
  Rings rings;
  for (const char* bits : {"2048", "3072"}) {
    const std::string key = Cached(std::string("rawkey-") + bits + ".pem", [&](const std::string& o) {
      Sh(std::string("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:") + bits +
         " -pkeyopt rsa_keygen_pubexp:3 -out " + ShellQuote(o) + " 2>/dev/null");
    });
    const std::string pub = Cached(std::string("rawkey-") + bits + ".pub", [&](const std::string& o) {
      Sh("openssl pkey -in " + ShellQuote(key) + " -pubout -out " + ShellQuote(o));
    });
    const size_t before = rings.ring(KeyringId::Builtin).raw_key_count;
    rings.AddRawKey(KeyringId::Builtin, pub, provider());
    rings.AddRawKey(KeyringId::Builtin, pub, provider());  // the same key once
    ASSERT_EQ(rings.ring(KeyringId::Builtin).raw_key_count, before + 1);
    EXPECT_EQ(Hex(Input(rings.ring(KeyringId::Builtin).raw_keys[before].spki_sha256, 32)),
              Trim(Shell("openssl pkey -pubin -in " + ShellQuote(pub) +
                         " -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1")));
  }
  const Bytes ec = Rings::SpkiDer(Cached("rawkey-ec.pub", [](const std::string& o) {
    Sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 | openssl pkey -pubout -out " +
       ShellQuote(o));
  }));
  EXPECT_EQ(keyring::AddRawRsaKeySpki(provider(), rings.ring(KeyringId::Builtin), In(ec),
                                      keyring::Origin::Runtime),
            Result::CertUnsupportedKeyAlgorithm);
  // Distinct valid keys (one modulus, other exponents) until the keyring is full.
  const Bytes base = FromHex(Shell("openssl rsa -in " + ShellQuote(Signer().signer.key) +
                                   " -noout -modulus | cut -d= -f2"));
  std::vector<Bytes> exponents;
  for (uint32_t e = 3; exponents.size() < keyring::kMaxRawKeys; e += 2) {
    exponents.push_back(Bytes{static_cast<uint8_t>(e >> 8), static_cast<uint8_t>(e)});
  }
  keyring::Keyring& secondary = rings.ring(KeyringId::Secondary);
  Result last = Result::Success;
  for (const Bytes& e : exponents) {
    last = keyring::AddRawRsaKey(provider(), secondary, RsaPublicKey{In(base), In(e)},
                                 keyring::Origin::Runtime);
    if (last != Result::Success) break;
  }
  ASSERT_EQ(last, Result::Success) << ResultName(last);
  EXPECT_EQ(secondary.raw_key_count, keyring::kMaxRawKeys);
  const Bytes one_more{0x01, 0x00, 0x01};
  EXPECT_EQ(keyring::AddRawRsaKey(provider(), secondary, RsaPublicKey{In(base), In(one_more)},
                                  keyring::Origin::Runtime),
            Result::KeyringFull);
  const Bytes even_modulus(256, 0xfe);
  EXPECT_NE(keyring::AddRawRsaKey(provider(), rings.ring(KeyringId::Machine),
                                  RsaPublicKey{In(even_modulus), In(one_more)},
                                  keyring::Origin::Runtime),
            Result::Success);
}

// ---- CLI ---------------------------------------------------------------------------------------

class LivepatchCli : public ::testing::TestWithParam<const char*> {
 protected:
  json Verify(const std::string& args, int expected_exit) {
    const CommandResult r = RunCommand(ShellQuote(kTool) + " --provider " + GetParam() +
                                       " verify --purpose livepatch --json " + args);
    EXPECT_EQ(r.exit_code, expected_exit) << args << "\n" << r.out;
    return json::parse(r.out);
  }
};

INSTANTIATE_TEST_SUITE_P(Providers, LivepatchCli, ::testing::Values("builtin", "openssl"));

TEST_P(LivepatchCli, VerifiesBothFormatsAndReportsUnsignedAndMalformed) {
  const Credential signer = Signer().signer;
  for (const std::string& key : {PublicKey(signer), Pkcs1PublicKey(signer)}) {
    const json note = Verify("--rsa-key " + ShellQuote(key) + " " + ShellQuote(NoteSigned()), 0);
    EXPECT_EQ(note["verdict"], "trusted");
    EXPECT_EQ(note["format"], "note");
    EXPECT_EQ(note["signer"]["kind"], "raw-key");
    EXPECT_EQ(note["signer"]["file"], key);
    EXPECT_EQ(note["keyring"], "builtin");
  }
  const json modsig = Verify("--cert " + ShellQuote(signer.cert) + " " + ShellQuote(ModSigned()), 0);
  EXPECT_EQ(modsig["format"], "modsig");
  EXPECT_EQ(modsig["signer"]["subject"], "CN=hvsig test livepatch-signer");
  EXPECT_EQ(modsig["payload_sha256"], Hex(In(Sha256(ReadFile(ModSigned())))));

  const json unsigned_ = Verify(ShellQuote(PatchObject()), 1);
  EXPECT_EQ(unsigned_["verdict"], "unsigned");
  EXPECT_EQ(unsigned_["accepted"], true);
  EXPECT_EQ(unsigned_["func_count"], 2);
  const json secure = Verify("--secure-boot " + ShellQuote(PatchObject()), 1);
  EXPECT_EQ(secure["accepted"], false);

  const json refused =
      Verify("--livepatch-formats modsig --rsa-key " + ShellQuote(PublicKey(signer)) + " " +
                 ShellQuote(NoteSigned()),
             1);
  EXPECT_EQ(refused["result"], "LivepatchFormatNotAccepted");

  Bytes broken = ReadFile(NoteSigned());
  broken.pop_back();
  const std::string broken_path = kWork + "/lp.broken-" + GetParam() + ".o";
  WriteFile(broken_path, broken);
  const json malformed = Verify(ShellQuote(broken_path), 1);
  EXPECT_EQ(malformed["result"], "LivepatchElfSectionTableOutOfBounds");
  EXPECT_EQ(malformed["malformed"], true);

  const std::string text = RunCommand(ShellQuote(kTool) + " verify --purpose livepatch --cert " +
                                      ShellQuote(signer.cert) + " " + ShellQuote(ModSigned()))
                               .out;
  EXPECT_EQ(text.rfind("trusted: modsig signature by CN=hvsig test livepatch-signer", 0), 0u) << text;
  EXPECT_EQ(RunCommand(ShellQuote(kTool) + " verify --purpose livepatch /nonexistent 2>/dev/null")
                .exit_code,
            2);
}

TEST_P(LivepatchCli, SignRefusesSignedPayloadsAndWrongKeys) {
  const Credential signer = Signer().signer;
  auto sign = [&](const std::string& args) {
    return RunCommand(ShellQuote(kTool) + " sign livepatch " + args + " -o " +
                      ShellQuote(kWork + "/refused-" + GetParam() + ".o") + " 2>&1");
  };
  const std::string key = " --key " + ShellQuote(signer.key) + " ";
  const CommandResult again = sign("--format note" + key + ShellQuote(NoteSigned()));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.out.find("already signed (note)"), std::string::npos) << again.out;
  EXPECT_EQ(sign("--format modsig" + key + ShellQuote(PatchObject())).exit_code, 2);  // no --cert
  const Credential ec = Identity("livepatch-ec", KeyType::P256).signer;
  EXPECT_EQ(sign("--format note --key " + ShellQuote(ec.key) + " " + ShellQuote(PatchObject())).exit_code,
            2);
  const CommandResult mismatched =
      sign("--format note" + key + "--cert " + ShellQuote(ec.cert) + " " + ShellQuote(PatchObject()));
  EXPECT_EQ(mismatched.exit_code, 1);  // certificate of another key: rejected, as by `sign pe`
  EXPECT_NE(mismatched.out.find("does not match the public key of"), std::string::npos) << mismatched.out;
  // An ECDSA module signature is Linux-valid too.
  const std::string ec_signed = HvsigSign("modsig", PatchObject(), ec, "lp.modsig-ec.o");
  const json j = Verify("--cert " + ShellQuote(ec.cert) + " " + ShellQuote(ec_signed), 0);
  EXPECT_EQ(j["verdict"], "trusted");
}

}  // namespace
}  // namespace hvsig::test
