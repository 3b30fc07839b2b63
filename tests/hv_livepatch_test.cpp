// The livepatch model (src/hv/livepatch.h) in process, through a simulated control domain:
// XEN_SYSCTL_livepatch_op's argument checks and errors in Xen 4.17's order, uploads of payloads
// gcc builds at test time (signed in both formats without hvsig: objcopy + `openssl dgst` for
// the note, `openssl cms` for the module signature; unsigned, tampered, malformed) under each
// Secure Boot setting and mode, the action state machine, list paging, the measured log, and
// concurrent callers (label hv: also run under TSan).
#include <atomic>
#include <sstream>
#include <thread>

#include "hv/livepatch.h"
#include "hv_test_support.h"
#include "livepatch_support.h"

namespace hvsig::hv::test {
namespace {

using hvsig::test::Assemble;
using hvsig::test::Cached;
using hvsig::test::CertificateDer;
using hvsig::test::CmsSign;
using hvsig::test::Compile;
using hvsig::test::Credential;
using hvsig::test::Elf;
using hvsig::test::GetLe32;
using hvsig::test::Identity;
using hvsig::test::KeyType;
using hvsig::test::OpenSslDigest;
using hvsig::test::PatchObject;
using hvsig::test::PatchSource;
using hvsig::test::PublicKey;
using hvsig::test::ReadFile;
using hvsig::test::Sh;
using hvsig::test::Shell;
using hvsig::test::ShellQuote;
using hvsig::test::Signer;
using hvsig::test::WriteFile;
using hvsig::test::kWork;
using policy::LivepatchVerdict;
using xen::xen_livepatch_status_t;
using xen::xen_sysctl_livepatch_op_t;

// ---- Fixtures ------------------------------------------------------------------------------

// Format (a) made without hvsig: objcopy adds the note {namesz 4, descsz 256, type 1, "Xen"}
// with a zero descriptor, `openssl dgst -sha256 -sign` signs that file, and the signature is
// written into the descriptor (found by readelf).
std::string ObjcopyNoteSigned(const std::string& object, const Credential& c, const std::string& name) {
  return Cached(name, [&](const std::string& out) {
    Bytes note = {4, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 'X', 'e', 'n', 0};
    note.resize(note.size() + 256, 0);
    WriteFile(out + ".note", note);
    Sh("objcopy --add-section .note.Xen.signature=" + ShellQuote(out + ".note") + " " +
       ShellQuote(object) + " " + ShellQuote(out + ".elf"));
    Sh("openssl dgst -sha256 -sign " + ShellQuote(c.key) + " -out " + ShellQuote(out + ".sig") +
       " " + ShellQuote(out + ".elf"));
    const std::string line = Shell("readelf -SW " + ShellQuote(out + ".elf") + " | grep -F .note.Xen.signature");
    std::istringstream fields(line.substr(line.find("NOTE") + 4));
    std::string address, offset;
    fields >> address >> offset;
    Bytes file = ReadFile(out + ".elf");
    const Bytes signature = ReadFile(out + ".sig");
    std::copy(signature.begin(), signature.end(), file.begin() + static_cast<long>(std::stoull(offset, nullptr, 16) + 16));
    WriteFile(out, file);
  });
}

// Format (b) as sign-file makes it: detached, no signed attributes, no certificates.
Bytes ModuleSigned(const Bytes& object, const Credential& c, const std::string& tag) {
  return Assemble(object, CmsSign(tag, object, c, "-noattr -nocerts"));
}

Bytes NoteSignedPayload() { return ReadFile(ObjcopyNoteSigned(PatchObject(), Signer().signer, "lp.objcopy-note.o")); }
// Made once under Cached's lock: CmsSign's files are shared by the test processes.
Bytes ModsigPayload() {
  return ReadFile(Cached("lp.cms-modsig.o", [](const std::string& out) {
    WriteFile(out, ModuleSigned(ReadFile(PatchObject()), Signer().signer, "hv-lp-modsig"));
  }));
}
Bytes UnsignedPayload() { return ReadFile(PatchObject()); }

// A byte of the patched code, covered by both signatures.
Bytes Tampered(Bytes file) {
  file[Elf{file}.offset(".text") + 1] ^= 0xff;
  return file;
}

// The section table cut short: ParsePayload's structure failure.
Bytes Malformed() {
  Bytes file = UnsignedPayload();
  file.erase(file.end() - 10, file.end());
  return file;
}

Bytes SpkiDer(const std::string& pub_pem) {
  return ReadFile(Cached(pub_pem.substr(pub_pem.rfind('/') + 1) + ".der", [&](const std::string& out) {
    Sh("openssl pkey -pubin -in " + ShellQuote(pub_pem) + " -outform DER -out " + ShellQuote(out));
  }));
}

Bytes Sha256(const Bytes& b) { return OpenSslDigest(DigestAlg::Sha256, b); }
Bytes View(const uint8_t* p, size_t n) { return Bytes(p, p + n); }

// ---- The simulated caller ------------------------------------------------------------------

struct Machine {
  bool secure_boot = true;
  policy::Mode mode = policy::Mode::Enforce;
  bool raw_key = true;   // the signer's public key in builtin (--rsa-key)
  bool cert = true;      // the signer's certificate in builtin (--cert)
};

std::unique_ptr<Livepatch> Boot(const Machine& m) {
  MachineConfig config = StandardMachine();
  config.secure_boot = m.secure_boot;
  config.mode = m.mode;
  if (m.cert) config.keyrings.builtin_certs.push_back(CertificateDer(Signer().signer.cert));
  if (m.raw_key) config.keyrings.builtin_raw_keys.push_back(SpkiDer(PublicKey(Signer().signer)));
  auto lp = std::make_unique<Livepatch>(config, BuiltinProvider());
  EXPECT_TRUE(lp->Booted()) << lp->BootError();
  return lp;
}

// `name` with its NUL in guest memory.
xen::xen_livepatch_name_t Name(SimGuest& guest, const std::string& name) {
  Bytes bytes(name.begin(), name.end());
  bytes.push_back(0);
  return {guest.Put(bytes), static_cast<uint16_t>(bytes.size()), {0, 0, 0}};
}

// One op as do_sysctl runs it; `op` gets what the model copied back.
long Call(Livepatch& lp, SimGuest& guest, xen_sysctl_livepatch_op_t& op) {
  const uint64_t addr = guest.PutStruct(op);
  const long rc = lp.Sysctl(addr, guest.Memory());
  op = guest.Get<xen_sysctl_livepatch_op_t>(addr);
  return rc;
}

xen_sysctl_livepatch_op_t UploadOp(SimGuest& guest, const std::string& name, const Bytes& file) {
  xen_sysctl_livepatch_op_t op{};
  op.cmd = XEN_SYSCTL_LIVEPATCH_UPLOAD;
  op.u.upload.name = Name(guest, name);
  op.u.upload.size = file.size();
  op.u.upload.payload = guest.Put(file);
  return op;
}

long Upload(Livepatch& lp, SimGuest& guest, const std::string& name, const Bytes& file) {
  xen_sysctl_livepatch_op_t op = UploadOp(guest, name, file);
  return Call(lp, guest, op);
}

long Get(Livepatch& lp, SimGuest& guest, const std::string& name, xen_livepatch_status_t* status = nullptr) {
  xen_sysctl_livepatch_op_t op{};
  op.cmd = XEN_SYSCTL_LIVEPATCH_GET;
  op.u.get.name = Name(guest, name);
  op.u.get.status = {0xdead, 0x5a5a};
  const long rc = Call(lp, guest, op);
  if (status != nullptr) *status = op.u.get.status;
  return rc;
}

long Action(Livepatch& lp, SimGuest& guest, const std::string& name, uint32_t cmd, uint32_t flags = 0) {
  xen_sysctl_livepatch_op_t op{};
  op.cmd = XEN_SYSCTL_LIVEPATCH_ACTION;
  op.u.action.name = Name(guest, name);
  op.u.action.cmd = cmd;
  op.u.action.timeout = 30000000;
  op.u.action.flags = flags;
  return Call(lp, guest, op);
}

// GET's state and rc as one pair (state 0: GET failed with rc).
std::pair<uint32_t, int32_t> Status(Livepatch& lp, SimGuest& guest, const std::string& name) {
  xen_livepatch_status_t status{};
  const long rc = Get(lp, guest, name, &status);
  if (rc != 0) return {0, static_cast<int32_t>(rc)};
  return {status.state, status.rc};
}

constexpr std::pair<uint32_t, int32_t> kChecked{LIVEPATCH_STATE_CHECKED, 0};
constexpr std::pair<uint32_t, int32_t> kApplied{LIVEPATCH_STATE_APPLIED, 0};
constexpr std::pair<uint32_t, int32_t> kAbsent{0, -ENOENT};

std::string ConsoleText(const Livepatch& lp) {
  std::string text;
  for (const std::string& line : lp.Console()) text += line + "\n";
  return text;
}

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// ---- Argument checks -----------------------------------------------------------------------

TEST(HvLivepatch, OpPadAndUnknownSubOpFollowLivepatchOp) {
  auto lp = Boot({});
  SimGuest guest;
  xen_sysctl_livepatch_op_t op = UploadOp(guest, "p", UnsignedPayload());
  op.pad = 1;
  EXPECT_EQ(Call(*lp, guest, op), -EINVAL);
  // An unknown sub-op is -EOPNOTSUPP, and do_sysctl copies nothing back for it.
  xen_sysctl_livepatch_op_t unknown{};
  unknown.cmd = 4;
  guest.copies_to = 0;
  EXPECT_EQ(Call(*lp, guest, unknown), -EOPNOTSUPP);
  EXPECT_EQ(guest.copies_to, 0);
  // Failing ops copy the argument back all the same.
  EXPECT_EQ(Get(*lp, guest, "absent"), -ENOENT);
  EXPECT_EQ(guest.copies_to, 1);
  // An argument the hypervisor cannot read.
  EXPECT_EQ(lp->Sysctl(0x10, guest.Memory()), -EFAULT);
}

TEST(HvLivepatch, UploadArgumentsAreCheckedInXensOrder) {
  auto lp = Boot({});
  SimGuest guest;
  const Bytes file = NoteSignedPayload();
  auto with = [&](const std::function<void(xen_sysctl_livepatch_op_t&)>& change) {
    xen_sysctl_livepatch_op_t op = UploadOp(guest, "p", file);
    change(op);
    return Call(*lp, guest, op);
  };
  using Op = xen_sysctl_livepatch_op_t;
  // verify_payload turns every get_name failure into -EINVAL, -EFAULT included.
  EXPECT_EQ(with([](Op& o) { o.u.upload.name.size = 0; }), -EINVAL);
  EXPECT_EQ(with([](Op& o) { o.u.upload.name.size = XEN_LIVEPATCH_NAME_SIZE + 1; }), -EINVAL);
  EXPECT_EQ(with([](Op& o) { o.u.upload.name.pad[2] = 1; }), -EINVAL);
  EXPECT_EQ(with([](Op& o) { o.u.upload.name.size = 1; }), -EINVAL);  // "p" without its NUL
  EXPECT_EQ(with([](Op& o) { o.u.upload.name.name = 0x10; }), -EINVAL);
  EXPECT_EQ(with([](Op& o) { o.u.upload.size = 0; }), -EINVAL);
  EXPECT_EQ(with([](Op& o) { o.u.upload.size = kLivepatchMaxSize + 1; }), -EINVAL);
  EXPECT_EQ(with([](Op& o) { o.u.upload.payload = (1ull << 47) - 16; }), -EFAULT);  // access_ok
  EXPECT_EQ(with([](Op& o) { o.u.upload.payload = 0x10; }), -EFAULT);  // the copy faults
  EXPECT_TRUE(lp->Events().empty());  // no decision was made
  EXPECT_TRUE(lp->Payloads().empty());

  // A 128-byte name (127 characters and the NUL) is the longest; the name ends at its first NUL.
  const std::string longest(127, 'n');
  EXPECT_EQ(Upload(*lp, guest, longest, file), 0);
  xen_sysctl_livepatch_op_t embedded = UploadOp(guest, "q", file);
  const Bytes name_bytes = {'q', 0, 'x', 0};
  embedded.u.upload.name = {guest.Put(name_bytes), 4, {0, 0, 0}};
  EXPECT_EQ(Call(*lp, guest, embedded), 0);
  EXPECT_EQ(Status(*lp, guest, "q"), kChecked);

  // A second upload under a name in use is -EEXIST before the payload is read.
  xen_sysctl_livepatch_op_t again = UploadOp(guest, "q", Tampered(file));
  guest.reads.clear();
  EXPECT_EQ(Call(*lp, guest, again), -EEXIST);
  for (const auto& [addr, length] : guest.reads) EXPECT_NE(addr, again.u.upload.payload);
  EXPECT_EQ(lp->Payloads().size(), 2u);
}

TEST(HvLivepatch, GetAndActionNamesKeepGetNamesOwnErrors) {
  auto lp = Boot({});
  SimGuest guest;
  xen_sysctl_livepatch_op_t get{};
  get.cmd = XEN_SYSCTL_LIVEPATCH_GET;
  get.u.get.name = {0x10, 4, {0, 0, 0}};
  EXPECT_EQ(Call(*lp, guest, get), -EFAULT);
  get.u.get.name = Name(guest, "p");
  get.u.get.name.size = 0;
  EXPECT_EQ(Call(*lp, guest, get), -EINVAL);
  EXPECT_EQ(Get(*lp, guest, "p"), -ENOENT);

  xen_sysctl_livepatch_op_t action{};
  action.cmd = XEN_SYSCTL_LIVEPATCH_ACTION;
  action.u.action.name = {0x10, 4, {0, 0, 0}};
  action.u.action.cmd = LIVEPATCH_ACTION_APPLY;
  EXPECT_EQ(Call(*lp, guest, action), -EFAULT);
  action.u.action.pad = 1;  // checked before the name
  EXPECT_EQ(Call(*lp, guest, action), -EINVAL);
  EXPECT_EQ(Action(*lp, guest, "p", LIVEPATCH_ACTION_APPLY), -ENOENT);
  ASSERT_EQ(Upload(*lp, guest, "p", NoteSignedPayload()), 0);
  EXPECT_EQ(Action(*lp, guest, "p", 9), -EOPNOTSUPP);
  EXPECT_EQ(Action(*lp, guest, "p", 0), -EOPNOTSUPP);
}

// ---- Upload decisions ----------------------------------------------------------------------

struct Case {
  const char* name;
  Bytes file;
};

std::vector<Case> Payloads() {
  return {{"note", NoteSignedPayload()},
          {"modsig", ModsigPayload()},
          {"unsigned", UnsignedPayload()},
          {"tampered-note", Tampered(NoteSignedPayload())},
          {"tampered-modsig", Tampered(ModsigPayload())},
          {"malformed", Malformed()},
          {"nofuncs", ReadFile(Compile("lp-nofuncs.o", "int patched_function(int x) { return x + 1; }\n"))}};
}

// What each upload returns, by machine: Secure Boot on; off with enforce, log, off.
TEST(HvLivepatch, UploadOutcomesFollowSecureBootAndMode) {
  struct Expectation {
    Machine machine;
    std::vector<long> rc;  // in Payloads() order
    const char* mode_text;
  };
  using policy::Mode;
  const std::vector<Expectation> expectations = {
      {{true, Mode::Off}, {0, 0, -EPERM, -EKEYREJECTED, -EKEYREJECTED, -EINVAL, -EINVAL},
       "mode enforce (forced by Secure Boot)"},
      {{false, Mode::Enforce}, {0, 0, -ENODATA, -EKEYREJECTED, -EKEYREJECTED, -EINVAL, -EINVAL},
       "mode enforce,"},
      {{false, Mode::Log}, {0, 0, 0, 0, 0, -EINVAL, -EINVAL}, "mode log,"},
      {{false, Mode::Off}, {0, 0, 0, 0, 0, -EINVAL, -EINVAL}, "mode off,"},
  };
  const std::vector<Case> payloads = Payloads();
  for (const Expectation& e : expectations) {
    SCOPED_TRACE(e.mode_text);
    auto lp = Boot(e.machine);
    SimGuest guest;
    EXPECT_TRUE(Contains(ConsoleText(*lp), e.mode_text)) << ConsoleText(*lp);
    for (size_t i = 0; i < payloads.size(); ++i) {
      SCOPED_TRACE(payloads[i].name);
      EXPECT_EQ(Upload(*lp, guest, payloads[i].name, payloads[i].file), e.rc[i]);
      EXPECT_EQ(Status(*lp, guest, payloads[i].name),
                e.rc[i] == 0 ? kChecked : kAbsent);
    }
    // One measured event per decision, accepted or not, in order.
    const std::vector<LivepatchEvent> events = lp->Events();
    ASSERT_EQ(events.size(), payloads.size());
    for (size_t i = 0; i < payloads.size(); ++i) {
      EXPECT_EQ(events[i].sequence, i + 1);
      EXPECT_EQ(events[i].kind, LivepatchEventKind::Upload);
      EXPECT_STREQ(events[i].name, payloads[i].name);
      EXPECT_EQ(events[i].error, e.rc[i]);
      EXPECT_EQ(events[i].size, payloads[i].file.size());
      EXPECT_EQ(View(events[i].payload_sha256, 32), Sha256(payloads[i].file));
      EXPECT_EQ(events[i].verified, e.machine.secure_boot || e.machine.mode != Mode::Off);
    }
  }
}

TEST(HvLivepatch, DecisionsAreMeasuredWithFormatSignerAndVerdict) {
  auto lp = Boot({});
  SimGuest guest;
  const Bytes note = NoteSignedPayload();
  const Bytes modsig = ModsigPayload();
  ASSERT_EQ(Upload(*lp, guest, "note", note), 0);
  ASSERT_EQ(Upload(*lp, guest, "modsig", modsig), 0);
  ASSERT_EQ(Upload(*lp, guest, "tampered", Tampered(note)), -EKEYREJECTED);
  ASSERT_EQ(Upload(*lp, guest, "unsigned", UnsignedPayload()), -EPERM);
  ASSERT_EQ(Upload(*lp, guest, "malformed", Malformed()), -EINVAL);
  const std::vector<LivepatchEvent> e = lp->Events();
  ASSERT_EQ(e.size(), 5u);

  const policy::LivepatchDecision& n = e[0].decision;
  EXPECT_EQ(n.verdict, LivepatchVerdict::Trusted);
  EXPECT_EQ(n.format, livepatch::Format::XenNote);
  EXPECT_EQ(n.signer_kind, policy::SignerKind::RawKey);
  EXPECT_EQ(View(n.signer_sha256, 32), Sha256(SpkiDer(PublicKey(Signer().signer))));
  EXPECT_EQ(n.keyring, keyring::KeyringId::Builtin);
  EXPECT_EQ(n.func_count, 2u);

  const policy::LivepatchDecision& m = e[1].decision;
  EXPECT_EQ(m.verdict, LivepatchVerdict::Trusted);
  EXPECT_EQ(m.format, livepatch::Format::ModuleSignature);
  EXPECT_EQ(m.signer_kind, policy::SignerKind::Certificate);
  EXPECT_EQ(View(m.signer_sha256, 32), Sha256(CertificateDer(Signer().signer.cert)));
  EXPECT_TRUE(m.signer.present);

  EXPECT_EQ(e[2].decision.verdict, LivepatchVerdict::Rejected);
  EXPECT_EQ(e[2].decision.error.result, Result::NotTrusted);
  EXPECT_FALSE(e[2].decision.malformed);
  EXPECT_EQ(e[3].decision.verdict, LivepatchVerdict::Unsigned);
  EXPECT_TRUE(e[4].decision.malformed);

  // The uploaded payloads carry what was measured.
  const std::vector<LivepatchPayloadView> payloads = lp->Payloads();
  ASSERT_EQ(payloads.size(), 2u);
  EXPECT_EQ(View(payloads[0].sha256, 32), Sha256(note));
  EXPECT_EQ(payloads[0].upload_sequence, 1u);
  EXPECT_EQ(payloads[1].format, livepatch::Format::ModuleSignature);

  // Each decision has a console line with the digest; refusals say their errno.
  const std::string console = ConsoleText(*lp);
  EXPECT_TRUE(Contains(console, "(XEN) livepatch: note: " + std::to_string(note.size()) + " bytes, sha256 " +
                                    hvsig::test::Hex(hvsig::test::In(Sha256(note))) +
                                    ": note signature trusted: raw-key "))
      << console;
  EXPECT_TRUE(Contains(console, "(XEN) livepatch: tampered: upload refused (-EKEYREJECTED)")) << console;
  EXPECT_TRUE(Contains(console, "not signed -> -EPERM")) << console;
  EXPECT_TRUE(Contains(console, "malformed: LivepatchElf")) << console;
}

TEST(HvLivepatch, ModeLogLoadsRejectedPayloadsAndSaysWhatEnforceWouldDo) {
  auto lp = Boot({false, policy::Mode::Log});
  SimGuest guest;
  ASSERT_EQ(Upload(*lp, guest, "tampered", Tampered(ModsigPayload())), 0);
  ASSERT_EQ(Upload(*lp, guest, "unsigned", UnsignedPayload()), 0);
  const std::string console = ConsoleText(*lp);
  EXPECT_TRUE(Contains(console, "-> -EKEYREJECTED; mode log: loading anyway")) << console;
  EXPECT_TRUE(Contains(console, "not signed -> -ENODATA; mode log: loading anyway")) << console;
  const std::vector<LivepatchEvent> e = lp->Events();
  EXPECT_EQ(e[0].decision.verdict, LivepatchVerdict::Rejected);
  EXPECT_TRUE(e[0].decision.accepted);
  EXPECT_EQ(e[0].error, 0);
}

TEST(HvLivepatch, KeysOutsideTheLivepatchKeyringsDoNotVouch) {
  // Neither key in builtin: both formats are rejected.
  auto bare = Boot({true, policy::Mode::Enforce, false, false});
  SimGuest guest;
  EXPECT_EQ(Upload(*bare, guest, "note", NoteSignedPayload()), -EKEYREJECTED);
  EXPECT_EQ(Upload(*bare, guest, "modsig", ModsigPayload()), -EKEYREJECTED);
  // The platform keyring (db) vouches for kernels, not for livepatches.
  MachineConfig config = StandardMachine();
  config.secure_boot = true;
  config.keyrings.db_certs.push_back(CertificateDer(Signer().signer.cert));
  Livepatch db(config, BuiltinProvider());
  EXPECT_EQ(Upload(db, guest, "modsig", ModsigPayload()), -EKEYREJECTED);
  // Another key's note.
  auto lp = Boot({});
  const Credential other = Identity("livepatch-other", KeyType::Rsa2048).signer;
  EXPECT_EQ(Upload(*lp, guest, "other", ReadFile(ObjcopyNoteSigned(PatchObject(), other, "lp.objcopy-other.o"))),
            -EKEYREJECTED);
}

TEST(HvLivepatch, MetadataComesFromModinfoAndMustEndInNul) {
  auto lp = Boot({false, policy::Mode::Off});
  SimGuest guest;
  const Bytes with = ReadFile(Compile(
      "lp-modinfo.o", PatchSource("const char modinfo[] __attribute__((section(\".modinfo\"), used)) = "
                                  "\"LIVEPATCH_RULEZ=1\\0VERSION=2\";\n")));
  const Bytes bad = ReadFile(Compile(
      "lp-modinfo-bad.o", PatchSource("const char modinfo[3] __attribute__((section(\".modinfo\"), used)) = "
                                      "{'a', 'b', 'c'};\n")));
  ASSERT_EQ(Upload(*lp, guest, "with", with), 0);
  EXPECT_EQ(Upload(*lp, guest, "bad", bad), -EINVAL);
  EXPECT_TRUE(Contains(ConsoleText(*lp), "bad: Incorrect metadata format detected"));
  const std::vector<LivepatchPayloadView> payloads = lp->Payloads();
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_EQ(payloads[0].metadata, std::string("LIVEPATCH_RULEZ=1\0VERSION=2\0", 28));
}

// NOBITS sections have no bytes in the file, so only the allocator bounds them (a fuzzer found
// a NOBITS .modinfo of 2^62 bytes the model tried to materialize: fuzz/regressions/livepatch_op).
TEST(HvLivepatch, LoadedSectionsBeyondTheAllocatorAreENOMEM) {
  auto lp = Boot({false, policy::Mode::Off});
  SimGuest guest;
  const Bytes small_bss = ReadFile(Compile(
      "lp-bss-1m.o", PatchSource("char lp_state[1 << 20] __attribute__((used));\n")));
  const Bytes huge_bss = ReadFile(Compile(
      "lp-bss-128m.o", PatchSource("char lp_state[1 << 27] __attribute__((used));\n")));
  ASSERT_LE(huge_bss.size(), kLivepatchMaxSize);
  EXPECT_EQ(Upload(*lp, guest, "small", small_bss), 0);
  EXPECT_EQ(Upload(*lp, guest, "huge", huge_bss), -ENOMEM);
  EXPECT_TRUE(Contains(ConsoleText(*lp), "huge: Could not allocate memory for payload"));
  ASSERT_EQ(lp->Payloads().size(), 1u);
  EXPECT_EQ(lp->Payloads()[0].name, "small");
}

// ---- Actions -------------------------------------------------------------------------------

TEST(HvLivepatch, ActionsChangeStateAsXenDoes) {
  auto lp = Boot({});
  SimGuest guest;
  const Bytes note = NoteSignedPayload();
  for (const char* name : {"a", "b", "c"}) ASSERT_EQ(Upload(*lp, guest, name, note), 0);

  EXPECT_EQ(Action(*lp, guest, "a", LIVEPATCH_ACTION_APPLY), 0);
  EXPECT_EQ(Status(*lp, guest, "a"), kApplied);
  EXPECT_EQ(Action(*lp, guest, "a", LIVEPATCH_ACTION_APPLY), 0);  // nothing to do, no error
  EXPECT_EQ(Status(*lp, guest, "a"), kApplied);
  EXPECT_EQ(Action(*lp, guest, "a", LIVEPATCH_ACTION_UNLOAD), -EINVAL);  // applied
  EXPECT_EQ(Action(*lp, guest, "b", LIVEPATCH_ACTION_REVERT), 0);        // not applied: no-op
  EXPECT_EQ(Status(*lp, guest, "b"), kChecked);
  EXPECT_EQ(Action(*lp, guest, "b", LIVEPATCH_ACTION_APPLY, LIVEPATCH_ACTION_APPLY_NODEPS), 0);
  // Only the newest applied payload may be reverted.
  EXPECT_EQ(Action(*lp, guest, "a", LIVEPATCH_ACTION_REVERT), -EBUSY);
  EXPECT_TRUE(Contains(ConsoleText(*lp), "a: can't unload. Top is b"));
  // Replace reverts every applied payload, newest first, then applies its own.
  EXPECT_EQ(Action(*lp, guest, "c", LIVEPATCH_ACTION_REPLACE), 0);
  EXPECT_EQ(Status(*lp, guest, "a"), kChecked);
  EXPECT_EQ(Status(*lp, guest, "b"), kChecked);
  EXPECT_EQ(Status(*lp, guest, "c"), kApplied);
  EXPECT_TRUE(Contains(ConsoleText(*lp), "c: REPLACE: reverted [b, a], CHECKED -> APPLIED"));
  EXPECT_EQ(Action(*lp, guest, "c", LIVEPATCH_ACTION_REVERT), 0);
  EXPECT_EQ(Status(*lp, guest, "c"), kChecked);
  // .livepatch.funcs is the payload's only writable section: it may be applied again.
  EXPECT_EQ(Action(*lp, guest, "c", LIVEPATCH_ACTION_APPLY), 0);
  EXPECT_EQ(Status(*lp, guest, "c"), kApplied);
  EXPECT_TRUE(Contains(ConsoleText(*lp), "(model: a state change, nothing is patched)"));

  const uint32_t version = lp->Version();
  EXPECT_EQ(Action(*lp, guest, "a", LIVEPATCH_ACTION_UNLOAD), 0);
  EXPECT_EQ(Get(*lp, guest, "a"), -ENOENT);
  EXPECT_EQ(lp->Version(), version + 1);

  std::vector<std::string> kinds;
  for (const LivepatchEvent& e : lp->Events()) kinds.push_back(LivepatchEventKindName(e.kind));
  EXPECT_EQ(kinds, (std::vector<std::string>{"upload", "upload", "upload", "apply", "apply", "replace",
                                             "revert", "apply", "unload"}));
  EXPECT_EQ(View(lp->Events().back().payload_sha256, 32), Sha256(note));
}

TEST(HvLivepatch, RevertedPayloadWithDataIsNotAppliedAgain) {
  auto lp = Boot({false, policy::Mode::Off});
  SimGuest guest;
  const Bytes with_data = ReadFile(Compile("lp-data.o", PatchSource("int patch_counter = 5;\n")));
  ASSERT_EQ(Upload(*lp, guest, "d", with_data), 0);
  EXPECT_FALSE(lp->Payloads()[0].safe_to_reapply);
  EXPECT_EQ(Action(*lp, guest, "d", LIVEPATCH_ACTION_APPLY), 0);
  EXPECT_EQ(Action(*lp, guest, "d", LIVEPATCH_ACTION_REVERT), 0);
  // Xen reports this failure in the status, not in the hypercall's result.
  EXPECT_EQ(Action(*lp, guest, "d", LIVEPATCH_ACTION_APPLY), 0);
  EXPECT_EQ(Status(*lp, guest, "d"), (std::pair<uint32_t, int32_t>{LIVEPATCH_STATE_CHECKED, -EINVAL}));
  EXPECT_TRUE(Contains(ConsoleText(*lp), "d: can't revert as payload has .data. Please unload"));
  // Unload and upload again is the way back.
  EXPECT_EQ(Action(*lp, guest, "d", LIVEPATCH_ACTION_UNLOAD), 0);
  ASSERT_EQ(Upload(*lp, guest, "d", with_data), 0);
  EXPECT_EQ(Action(*lp, guest, "d", LIVEPATCH_ACTION_APPLY), 0);
  EXPECT_EQ(Status(*lp, guest, "d"), kApplied);
}

// ---- List ----------------------------------------------------------------------------------

struct ListBuffers {
  uint64_t status, name, len, metadata, metadata_len;
};

ListBuffers Buffers(SimGuest& guest, uint32_t nr) {
  return {guest.Alloc(nr * 8ull), guest.Alloc(nr * uint64_t{XEN_LIVEPATCH_NAME_SIZE}), guest.Alloc(nr * 4ull),
          guest.Alloc(4096), guest.Alloc(nr * 4ull)};
}

xen_sysctl_livepatch_op_t ListOp(uint32_t idx, uint32_t nr, const ListBuffers& b) {
  xen_sysctl_livepatch_op_t op{};
  op.cmd = XEN_SYSCTL_LIVEPATCH_LIST;
  op.u.list.idx = idx;
  op.u.list.nr = nr;
  op.u.list.status = b.status;
  op.u.list.name = b.name;
  op.u.list.len = b.len;
  op.u.list.metadata = b.metadata;
  op.u.list.metadata_len = b.metadata_len;
  return op;
}

TEST(HvLivepatch, ListPagesThroughPayloadsAsXenDoes) {
  auto lp = Boot({false, policy::Mode::Off});
  SimGuest guest;
  const Bytes with_metadata = ReadFile(Compile(
      "lp-modinfo.o", PatchSource("const char modinfo[] __attribute__((section(\".modinfo\"), used)) = "
                                  "\"LIVEPATCH_RULEZ=1\\0VERSION=2\";\n")));
  const ListBuffers b = Buffers(guest, 2);
  // Nothing loaded: any idx, no entries, version 1.
  xen_sysctl_livepatch_op_t empty = ListOp(5, 2, b);
  EXPECT_EQ(Call(*lp, guest, empty), 0);
  EXPECT_EQ(empty.u.list.nr, 0u);
  EXPECT_EQ(empty.u.list.version, 1u);

  ASSERT_EQ(Upload(*lp, guest, "first", UnsignedPayload()), 0);
  ASSERT_EQ(Upload(*lp, guest, "second-one", with_metadata), 0);
  ASSERT_EQ(Upload(*lp, guest, "third", UnsignedPayload()), 0);
  ASSERT_EQ(Action(*lp, guest, "third", LIVEPATCH_ACTION_APPLY), 0);

  // nr 0: the count and the totals only.
  xen_sysctl_livepatch_op_t sizes = ListOp(0, 0, {});
  EXPECT_EQ(Call(*lp, guest, sizes), 0);
  EXPECT_EQ(sizes.u.list.nr, 3u);
  EXPECT_EQ(sizes.u.list.version, 4u);
  EXPECT_EQ(sizes.u.list.name_total_size, 6u + 11u + 6u);
  EXPECT_EQ(sizes.u.list.metadata_total_size, 28u);

  // Two at a time: names back to back, their lengths, states, metadata.
  xen_sysctl_livepatch_op_t page = ListOp(0, 2, b);
  EXPECT_EQ(Call(*lp, guest, page), 2);
  EXPECT_EQ(page.u.list.nr, 1u);  // left
  EXPECT_EQ(page.u.list.name_total_size, 17u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(guest.Data(b.name)), 17), std::string("first\0second-one\0", 17));
  EXPECT_EQ(guest.Get<uint32_t>(b.len), 6u);
  EXPECT_EQ(guest.Get<uint32_t>(b.len + 4), 11u);
  EXPECT_EQ(guest.Get<uint32_t>(b.metadata_len), 0u);
  EXPECT_EQ(guest.Get<uint32_t>(b.metadata_len + 4), 28u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(guest.Data(b.metadata)), 28),
            std::string("LIVEPATCH_RULEZ=1\0VERSION=2\0", 28));
  EXPECT_EQ(guest.Get<xen_livepatch_status_t>(b.status).state, uint32_t{LIVEPATCH_STATE_CHECKED});

  xen_sysctl_livepatch_op_t rest = ListOp(2, 2, b);
  EXPECT_EQ(Call(*lp, guest, rest), 1);
  EXPECT_EQ(rest.u.list.nr, 0u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(guest.Data(b.name))), "third");
  EXPECT_EQ(guest.Get<xen_livepatch_status_t>(b.status).state, uint32_t{LIVEPATCH_STATE_APPLIED});

  // The checks, in order.
  xen_sysctl_livepatch_op_t op = ListOp(3, 2, b);
  EXPECT_EQ(Call(*lp, guest, op), -EINVAL);  // idx past the list
  op = ListOp(0, kLivepatchMaxList + 1, b);
  op.u.list.pad = 1;
  EXPECT_EQ(Call(*lp, guest, op), -E2BIG);   // before pad
  op = ListOp(0, 2, b);
  op.u.list.pad = 1;
  EXPECT_EQ(Call(*lp, guest, op), -EINVAL);
  op = ListOp(0, 2, b);
  op.u.list.metadata_len = (1ull << 47) - 4;  // guest_handle_okay
  EXPECT_EQ(Call(*lp, guest, op), -EINVAL);
  op = ListOp(1, 2, b);
  op.u.list.name = (1ull << 47) - 8;  // guest_handle_subrange_okay: "second-one" runs past it
  EXPECT_EQ(Call(*lp, guest, op), -EINVAL);
  op = ListOp(0, 2, b);
  op.u.list.len = 0x10;  // mapped nowhere: the copy faults
  EXPECT_EQ(Call(*lp, guest, op), -EFAULT);
  EXPECT_EQ(op.u.list.version, 4u);  // still stamped

  // The version moves with every upload and unload, not with state changes.
  ASSERT_EQ(Action(*lp, guest, "first", LIVEPATCH_ACTION_UNLOAD), 0);
  op = ListOp(0, 0, {});
  EXPECT_EQ(Call(*lp, guest, op), 0);
  EXPECT_EQ(op.u.list.version, 5u);
  EXPECT_EQ(op.u.list.nr, 2u);
}

// ---- Concurrency ---------------------------------------------------------------------------

TEST(HvLivepatch, ConcurrentCallersAreSerialized) {
  auto lp = Boot({});
  const Bytes note = NoteSignedPayload();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      SimGuest guest;
      const std::string name = "p" + std::to_string(t);
      if (Upload(*lp, guest, name, note) != 0) ++failures;
      if (Action(*lp, guest, name, LIVEPATCH_ACTION_APPLY) != 0) ++failures;
      const ListBuffers b = Buffers(guest, 4);
      xen_sysctl_livepatch_op_t list = ListOp(0, 4, b);
      if (Call(*lp, guest, list) < 1) ++failures;
      if (lp->Events().empty() || lp->Payloads().empty()) ++failures;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(lp->Payloads().size(), 4u);
  EXPECT_EQ(lp->Version(), 5u);
  EXPECT_EQ(lp->Events().size(), 8u);
}

}  // namespace
}  // namespace hvsig::hv::test
