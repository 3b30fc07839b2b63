// KEXEC_CMD_kexec_file_load end to end: the ABI's rules in the documented errno order, each OUT
// field, the single copy of each buffer (TOCTOU), faults at every copy, the modes, the
// measured-load log, exec's integrity check, and Debian's signed kernel under Secure Boot.
#include <openssl/sha.h>

#include <cerrno>
#include <random>

#include "hv_test_support.h"
#include "signing_support.h"

namespace hvsig::hv::test {
namespace {

using hvsig::test::Cached;
using hvsig::test::CommandResult;
using hvsig::test::RunCommand;
using hvsig::test::ShellQuote;

Bytes Sha256Of(const Bytes& b) {
  Bytes out(32);
  SHA256(b.data(), b.size(), out.data());
  return out;
}
Bytes B(const uint8_t* p, size_t n = 32) { return Bytes(p, p + n); }

struct Machine {
  explicit Machine(MachineConfig config = StandardMachine()) : kexec(config, BuiltinProvider()) {
    EXPECT_TRUE(kexec.Booted()) << kexec.BootError();
  }
  // Returns rc; out receives the argument struct as the guest sees it afterwards.
  long FileLoad(const FileBuffers& b, uint8_t type, uint32_t flags, xen_kexec_file_load_t* out = nullptr) {
    const uint64_t arg = PutFileLoad(guest, b, type, flags);
    const long rc = kexec.Hypercall(KEXEC_CMD_kexec_file_load, arg, guest.Memory());
    if (out != nullptr) *out = guest.Get<xen_kexec_file_load_t>(arg);
    return rc;
  }
  bool ConsoleHas(const std::string& text) const {
    for (const std::string& line : kexec.Console()) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }
  Kexec kexec;
  SimGuest guest;
};

MachineConfig WithMode(policy::Mode mode) {
  MachineConfig config = StandardMachine();
  config.mode = mode;
  return config;
}

FileBuffers Minimal() {
  return {MinimalBzImage(), Bytes(20000, 0x77), Cmdline("console=ttyS0 quiet"), {}};
}

TEST(HvFileLoad, LoadsWithEnforcementOffAndFillsOut) {
  Machine m;
  xen_kexec_file_load_t out{};
  ASSERT_EQ(m.FileLoad(Minimal(), KEXEC_TYPE_DEFAULT, 0, &out), 0);
  EXPECT_EQ(out.magic, XEN_KEXEC_FILE_MAGIC);
  EXPECT_EQ(out.verdict, XEN_KEXEC_FILE_VERDICT_NONE);
  EXPECT_EQ(out.mode, XEN_KEXEC_FILE_MODE_OFF);
  EXPECT_EQ(out.keyring, XEN_KEXEC_FILE_KEYRING_NONE);
  EXPECT_EQ(out.reason, 0);
  EXPECT_EQ(Status(m.kexec, m.guest, 0), 1);
  auto image = m.kexec.ActiveImage(0);
  ASSERT_NE(image, nullptr);
  EXPECT_TRUE(image->file_loaded);
  EXPECT_EQ(image->arch, KEXEC_EM_X86_64);
  EXPECT_NE(image->boot_params_maddr, 0u);
  EXPECT_TRUE(m.ConsoleHas("mode off: kernel not verified"));
}

TEST(HvFileLoad, ErrnoPathsInOrder) {
  MachineConfig config = WithMode(policy::Mode::Enforce);
  config.limits.max_kernel = 64 << 10;
  config.limits.max_initrd = 64 << 10;
  config.limits.max_cmdline = 64;
  config.limits.max_initrd_sig = 256;
  Machine m(config);
  auto rc_of = [&](FileBuffers b, uint8_t type, uint32_t flags,
                   const std::function<void(xen_kexec_file_load_t&)>& edit = nullptr) {
    const uint64_t arg = PutFileLoad(m.guest, b, type, flags);
    if (edit) {
      auto a = m.guest.Get<xen_kexec_file_load_t>(arg);
      edit(a);
      std::memcpy(m.guest.Data(arg), &a, sizeof a);
    }
    const long rc = m.kexec.Hypercall(KEXEC_CMD_kexec_file_load, arg, m.guest.Memory());
    EXPECT_EQ(m.guest.Get<xen_kexec_file_load_t>(arg).magic, XEN_KEXEC_FILE_MAGIC) << "rc " << rc;
    return rc;
  };
  const FileBuffers ok = Minimal();
  // EFAULT: the argument itself (no magic can be written), and a buffer outside the guest.
  EXPECT_EQ(m.kexec.Hypercall(KEXEC_CMD_kexec_file_load, 0x7000000000, m.guest.Memory()), -EFAULT);
  EXPECT_EQ(rc_of(ok, 0, 0, [](auto& a) { a.kernel.h = ~0ull - 10; a.flags = 0x80; }), -EFAULT)
      << "EFAULT before EINVAL";
  // EINVAL.
  EXPECT_EQ(rc_of(ok, 2, 0), -EINVAL);
  EXPECT_EQ(rc_of(ok, 0, 0x2), -EINVAL) << "ON_CRASH is `type` here";
  EXPECT_EQ(rc_of(ok, 0, 0x100), -EINVAL);
  EXPECT_EQ(rc_of(ok, 0, 0, [](auto& a) { a._pad0[1] = 1; }), -EINVAL);
  EXPECT_EQ(rc_of({{}, ok.initrd, ok.cmdline, {}}, 0, 0), -EINVAL) << "no kernel";
  EXPECT_EQ(rc_of(ok, 0, KEXEC_FILE_NO_INITRAMFS), -EINVAL) << "initrd with NO_INITRAMFS";
  EXPECT_EQ(rc_of({ok.kernel, {}, ok.cmdline, {}}, 0, 0), -EINVAL) << "no initrd without the flag";
  EXPECT_EQ(rc_of({ok.kernel, {}, ok.cmdline, Bytes(10, 1)}, 0, KEXEC_FILE_NO_INITRAMFS), -EINVAL);
  EXPECT_EQ(rc_of({ok.kernel, ok.initrd, Bytes{'a', 'b'}, {}}, 0, 0), -EINVAL) << "cmdline without NUL";
  EXPECT_EQ(rc_of({ok.kernel, Bytes(1 << 20, 1), ok.cmdline, {}}, 0, 0x100), -EINVAL) << "EINVAL before E2BIG";
  // E2BIG, each limit.
  EXPECT_EQ(rc_of({Bytes((64 << 10) + 1, 1), ok.initrd, ok.cmdline, {}}, 0, 0), -E2BIG);
  EXPECT_EQ(rc_of({ok.kernel, Bytes((64 << 10) + 1, 1), ok.cmdline, {}}, 0, 0), -E2BIG);
  EXPECT_EQ(rc_of({ok.kernel, ok.initrd, Cmdline(std::string(64, 'x')), {}}, 0, 0), -E2BIG);
  EXPECT_EQ(rc_of({ok.kernel, ok.initrd, ok.cmdline, Bytes(257, 1)}, 0, 0), -E2BIG);
  EXPECT_EQ(rc_of({Bytes(1 << 20, 1), ok.initrd, ok.cmdline, {}}, 0, 0, [](auto& a) { a.kernel.h = 0x7000000000; }),
            -E2BIG) << "E2BIG before the copy faults";
  // ELIBBAD: not a PE under enforce, not a bzImage with enforcement off.
  xen_kexec_file_load_t out{};
  EXPECT_EQ(m.FileLoad({Bytes(4096, 0x41), ok.initrd, ok.cmdline, {}}, 0, 0, &out), -ELIBBAD);
  EXPECT_EQ(out.verdict, XEN_KEXEC_FILE_VERDICT_REJECTED);
  EXPECT_STREQ(ResultName(static_cast<Result>(out.reason)), "PeBadDosMagic");
  Machine off;
  EXPECT_EQ(off.FileLoad({Bytes(4096, 0x41), ok.initrd, ok.cmdline, {}}, 0, 0), -ELIBBAD);
  EXPECT_TRUE(off.ConsoleHas("bzImage loader"));
  // Both the kernel and the initrd signature are judged; ELIBBAD comes before EBADMSG.
  EXPECT_EQ(m.FileLoad({Bytes(4096, 0x41), ok.initrd, ok.cmdline, Bytes(100, 0x30)}, 0, 0, &out),
            -ELIBBAD);
  EXPECT_STREQ(ResultName(static_cast<Result>(out.reason)), "PeBadDosMagic");
  EXPECT_EQ(Status(m.kexec, m.guest, 0), 0);
  EXPECT_EQ(Status(off.kexec, off.guest, 0), 0);
  EXPECT_TRUE(m.kexec.Events().empty());
}

TEST(HvFileLoad, EachBufferIsCopiedOnceAndLaterChangesDoNotMatter) {
  Machine m;
  FileBuffers b = Minimal();
  const uint64_t arg = PutFileLoad(m.guest, b, 0, 0);
  const auto a = m.guest.Get<xen_kexec_file_load_t>(arg);
  // Right after each buffer is copied the guest rewrites it: the hypervisor must never look again.
  m.guest.after_copy_from = [&](uint64_t addr, uint64_t length) {
    if (addr != arg) std::memset(m.guest.Data(addr, length), 0xcc, length);
  };
  ASSERT_EQ(m.kexec.Hypercall(KEXEC_CMD_kexec_file_load, arg, m.guest.Memory()), 0);
  for (const xen_kexec_file_buffer_t* buf : {&a.kernel, &a.initrd, &a.cmdline}) {
    int reads = 0;
    for (auto [addr, length] : m.guest.reads) {
      if (addr < buf->h + buf->size && buf->h < addr + length) ++reads;
    }
    EXPECT_EQ(reads, 1) << "buffer at " << std::hex << buf->h;
  }
  auto image = m.kexec.ActiveImage(0);
  ASSERT_NE(image, nullptr);
  bool initrd_found = false;
  for (const SegmentView& s : image->segments) {
    if (s.buf == b.initrd) initrd_found = true;
  }
  EXPECT_TRUE(initrd_found) << "the initrd segment holds the bytes as first copied";
  const std::vector<LoadEvent> events = m.kexec.Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(B(events[0].kernel_file_sha256), Sha256Of(b.kernel));
  EXPECT_EQ(B(events[0].initrd_sha256), Sha256Of(b.initrd));
  EXPECT_EQ(B(events[0].cmdline_sha256), Sha256Of(b.cmdline));
  ASSERT_EQ(Exec(m.kexec, m.guest, 0), 0) << "the copies still match their load digests";
}

TEST(HvFileLoad, FaultAtEveryCopyLeavesStateUnchanged) {
  // Copies: the argument, kernel, initrd, cmdline; then the OUT write.
  for (int n = 0; n < 5; ++n) {
    Machine m;
    ASSERT_EQ(SimpleLegacyLoad(m.kexec, m.guest, 0, 0x33), 0);
    const uint64_t arg = PutFileLoad(m.guest, Minimal(), 0, 0);
    SimGuest& g = m.guest;
    g.copies_from = 0;
    g.copies_to = 0;
    if (n < 4) g.fail_copy_from = n; else g.fail_copy_to = 0;
    EXPECT_EQ(m.kexec.Hypercall(KEXEC_CMD_kexec_file_load, arg, g.Memory()), -EFAULT) << "copy " << n;
    EXPECT_EQ(g.copies_from, n < 4 ? n + 1 : 4) << "copy " << n;
    auto image = m.kexec.ActiveImage(0);
    ASSERT_NE(image, nullptr);
    EXPECT_FALSE(image->file_loaded) << "copy " << n;
    EXPECT_EQ(image->segments[0].buf[0], 0x33);
    EXPECT_EQ(m.kexec.Events().size(), 1u) << "copy " << n;
    EXPECT_EQ(m.guest.Get<xen_kexec_file_load_t>(arg).magic, n == 0 || n == 4 ? 0u : XEN_KEXEC_FILE_MAGIC);
  }
}

TEST(HvFileLoad, LogModeLoadsARejectedKernelAndSaysSo) {
  Machine m(WithMode(policy::Mode::Log));
  xen_kexec_file_load_t out{};
  ASSERT_EQ(m.FileLoad(Minimal(), 0, 0, &out), 0);
  EXPECT_EQ(out.verdict, XEN_KEXEC_FILE_VERDICT_REJECTED);
  EXPECT_EQ(out.mode, XEN_KEXEC_FILE_MODE_LOG);
  EXPECT_STREQ(ResultName(static_cast<Result>(out.reason)), "PeBadDosMagic");
  EXPECT_TRUE(m.ConsoleHas("mode log: loading anyway"));
  ASSERT_EQ(m.kexec.Events().size(), 1u);
  EXPECT_EQ(m.kexec.Events()[0].verdict, KernelVerdict::Rejected);
}

TEST(HvFileLoad, UnloadFlag) {
  Machine m;
  ASSERT_EQ(m.FileLoad(Minimal(), 1, 0), 0);
  EXPECT_EQ(Status(m.kexec, m.guest, 1), 1);
  xen_kexec_file_load_t out{};
  ASSERT_EQ(m.FileLoad({}, 1, KEXEC_FILE_UNLOAD, &out), 0);
  EXPECT_EQ(out.magic, XEN_KEXEC_FILE_MAGIC);
  EXPECT_EQ(Status(m.kexec, m.guest, 1), 0);
}

TEST(HvFileLoad, CrashImageLoadsInsideTheCrashRange) {
  Machine m;
  ASSERT_EQ(m.FileLoad(Minimal(), KEXEC_TYPE_CRASH, 0), 0);
  auto image = m.kexec.ActiveImage(KEXEC_TYPE_CRASH);
  ASSERT_NE(image, nullptr);
  EXPECT_GE(image->entry_maddr, kCrashStart);
  EXPECT_LE(image->entry_maddr, kCrashStart + kCrashSize);
  bool elf_header = false;
  for (const SegmentView& s : image->segments) {
    EXPECT_GE(s.dest_maddr, kCrashStart);
    EXPECT_LE(s.dest_maddr + s.dest_size, kCrashStart + kCrashSize);
    elf_header |= s.buf.size() > 4 && std::memcmp(s.buf.data(), "\x7f" "ELF", 4) == 0;
  }
  EXPECT_TRUE(elf_header) << "an ELF core header segment";
  EXPECT_EQ(m.kexec.ActiveImage(KEXEC_TYPE_DEFAULT), nullptr);
}

TEST(HvFileLoad, CorruptedSegmentRefusesExec) {
  Machine m;
  ASSERT_EQ(m.FileLoad(Minimal(), 0, 0), 0);
  auto image = m.kexec.ActiveImage(0);
  ASSERT_NE(image, nullptr);
  for (size_t s = 0; s < image->segments.size(); ++s) {
    ASSERT_TRUE(m.kexec.CorruptSegmentForTest(0, s, image->segments[s].buf.size() / 2));
    EXPECT_EQ(Exec(m.kexec, m.guest, 0), -EKEYREJECTED) << "segment " << s;
    Handoff h;
    EXPECT_FALSE(m.kexec.Kexeced(h));
    ASSERT_TRUE(m.kexec.CorruptSegmentForTest(0, s, image->segments[s].buf.size() / 2));  // undo
  }
  EXPECT_TRUE(m.ConsoleHas("integrity failure"));
  ASSERT_EQ(Exec(m.kexec, m.guest, 0), 0);
  Handoff h{};
  ASSERT_TRUE(m.kexec.Kexeced(h));
  EXPECT_TRUE(h.file_loaded);
  EXPECT_EQ(h.entry_maddr, image->entry_maddr);
  EXPECT_EQ(h.boot_params_maddr, image->boot_params_maddr);
  EXPECT_EQ(h.load_sequence, m.kexec.Events().back().sequence);
  xen_kexec_file_load_t out{};
  EXPECT_EQ(m.FileLoad(Minimal(), 1, 0, &out), -EBUSY);
  EXPECT_EQ(out.magic, XEN_KEXEC_FILE_MAGIC);
}

// ---- Debian's signed kernel (fixture authenticode_binaries) ---------------------------------

MachineConfig SecureBootMachine() {
  MachineConfig config = StandardMachine();
  config.secure_boot = true;
  config.mode = policy::Mode::Off;  // ignored: Secure Boot forces enforce
  config.keyrings.db_certs.push_back(hvsig::test::ReadFile(hvsig::test::DebianCa()));
  return config;
}

FileBuffers DebianBuffers(const std::string& kernel_path) {
  std::mt19937 rng(7);
  Bytes initrd(3 << 20);
  for (uint8_t& byte : initrd) byte = static_cast<uint8_t>(rng());
  return {hvsig::test::ReadFile(kernel_path), initrd, Cmdline("root=/dev/vda1 ro console=ttyS0"), {}};
}

std::string OsslsigncodeField(const std::string& path, const std::string& field) {
  const CommandResult r = RunCommand("osslsigncode verify -in " + ShellQuote(path) + " 2>/dev/null");
  const size_t at = r.out.find(field);
  if (at == std::string::npos) return {};
  const size_t colon = r.out.find(':', at);
  return hvsig::test::Trim(r.out.substr(colon + 1, r.out.find('\n', colon) - colon - 1));
}

TEST(HvFileLoadDebian, SignedKernelLoadsAndExecsUnderSecureBoot) {
  Machine m(SecureBootMachine());
  const FileBuffers b = DebianBuffers(hvsig::test::DebianKernel());
  xen_kexec_file_load_t out{};
  ASSERT_EQ(m.FileLoad(b, KEXEC_TYPE_DEFAULT, 0, &out), 0);
  EXPECT_EQ(out.magic, XEN_KEXEC_FILE_MAGIC);
  EXPECT_EQ(out.verdict, XEN_KEXEC_FILE_VERDICT_TRUSTED);
  EXPECT_EQ(out.mode, XEN_KEXEC_FILE_MODE_ENFORCE);
  EXPECT_EQ(out.keyring, XEN_KEXEC_FILE_KEYRING_PLATFORM) << "Debian's CA is in db";
  EXPECT_EQ(out.reason, 0);
  const std::string digest = OsslsigncodeField(hvsig::test::DebianKernel(), "Calculated message digest");
  ASSERT_FALSE(digest.empty());
  EXPECT_EQ(B(out.kernel_sha256), hvsig::test::FromHex(digest));
  const std::string serial = OsslsigncodeField(hvsig::test::DebianKernel(), "Serial");
  EXPECT_EQ(B(out.signer_serial, out.signer_serial_len), hvsig::test::FromHex(serial));
  // Oracle: the signer certificate from the signature (osslsigncode, openssl), its subject Name
  // DER hashed by Python's cryptography.
  const std::string subject_hash = Cached("vmlinuz.signer-subject-sha256", [](const std::string& path) {
    const std::string p7 = path + ".p7";
    hvsig::test::Sh("osslsigncode extract-signature -in " + ShellQuote(hvsig::test::DebianKernel()) +
                    " -out " + ShellQuote(p7) + " >/dev/null && openssl pkcs7 -inform DER -in " + ShellQuote(p7) +
                    " -print_certs | openssl x509 -outform DER | python3 -c 'import sys, hashlib; "
                    "from cryptography import x509; "
                    "c = x509.load_der_x509_certificate(sys.stdin.buffer.read()); "
                    "print(hashlib.sha256(c.subject.public_bytes()).hexdigest())' > " + ShellQuote(path));
    std::filesystem::remove(p7);
  });
  EXPECT_EQ(B(out.signer_subject_sha256),
            hvsig::test::FromHex(hvsig::test::Trim(RunCommand("cat " + ShellQuote(subject_hash)).out)));

  auto image = m.kexec.ActiveImage(0);
  ASSERT_NE(image, nullptr);
  const SegmentView* params = nullptr;
  for (const SegmentView& s : image->segments) {
    if (s.dest_maddr == image->boot_params_maddr) params = &s;
  }
  ASSERT_NE(params, nullptr);
  EXPECT_EQ(params->buf.at(0x1ec), 3) << "boot_params.secure_boot: efi_secureboot_mode_enabled";
  EXPECT_EQ(params->buf.at(0x1e8), StandardMachine().e820.size()) << "e820_entries";

  const std::vector<LoadEvent> events = m.kexec.Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(B(events[0].kernel_sha256), B(out.kernel_sha256));
  EXPECT_EQ(B(events[0].kernel_file_sha256), Sha256Of(b.kernel));
  EXPECT_EQ(B(events[0].initrd_sha256), Sha256Of(b.initrd));
  EXPECT_EQ(B(events[0].cmdline_sha256), Sha256Of(b.cmdline));
  EXPECT_TRUE(events[0].signer.present);
  EXPECT_TRUE(events[0].anchor.present);
  EXPECT_EQ(events[0].keyring, keyring::KeyringId::Platform);

  ASSERT_EQ(Exec(m.kexec, m.guest, 0), 0);
  Handoff h{};
  ASSERT_TRUE(m.kexec.Kexeced(h));
  EXPECT_EQ(h.entry_maddr, image->entry_maddr);
  EXPECT_EQ(h.boot_params_maddr, image->boot_params_maddr);
  EXPECT_EQ(B(h.kernel_sha256), B(out.kernel_sha256));
  EXPECT_TRUE(m.ConsoleHas("trusted (purpose kexec, keyring platform"));
}

// One EFI_SIGNATURE_LIST of `type` holding one entry (UEFI 2.x 32.4.1).
Bytes Esl(const Bytes& type, const Bytes& entry) {
  Bytes esl = type;
  auto put32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) esl.push_back(static_cast<uint8_t>(v >> (8 * i))); };
  put32(static_cast<uint32_t>(28 + 16 + entry.size()));  // SignatureListSize
  put32(0);                                              // SignatureHeaderSize
  put32(static_cast<uint32_t>(16 + entry.size()));       // SignatureSize
  esl.insert(esl.end(), 16, 0xab);  // SignatureOwner
  esl.insert(esl.end(), entry.begin(), entry.end());
  return esl;
}
// EFI_CERT_SHA256_GUID, EFI_CERT_X509_GUID.
Bytes Sha256Esl(const Bytes& digest) {
  return Esl({0x26, 0x16, 0xc4, 0xc1, 0x4c, 0x50, 0x92, 0x40, 0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93,
              0x43, 0x28}, digest);
}
Bytes X509Esl(const Bytes& certificate) {
  return Esl({0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a, 0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b,
              0xf0, 0x72}, certificate);
}

TEST(HvFileLoadDebian, RevokedKernelHashIsRejected) {
  const Bytes digest = hvsig::test::FromHex(OsslsigncodeField(hvsig::test::DebianKernel(), "Calculated message digest"));
  ASSERT_EQ(digest.size(), 32u);
  MachineConfig config = SecureBootMachine();
  config.keyrings.dbx_esl = Sha256Esl(digest);
  Machine m(config);
  xen_kexec_file_load_t out{};
  EXPECT_EQ(m.FileLoad(DebianBuffers(hvsig::test::DebianKernel()), 0, 0, &out), -EKEYREJECTED);
  EXPECT_STREQ(ResultName(static_cast<Result>(out.reason)), "RevokedImageHash");
  EXPECT_EQ(Status(m.kexec, m.guest, 0), 0);
}

TEST(HvFileLoadDebian, CrashKernelLoadsInsideTheCrashRange) {
  Machine m(SecureBootMachine());
  xen_kexec_file_load_t out{};
  ASSERT_EQ(m.FileLoad(DebianBuffers(hvsig::test::DebianKernel()), KEXEC_TYPE_CRASH, 0, &out), 0);
  EXPECT_EQ(out.verdict, XEN_KEXEC_FILE_VERDICT_TRUSTED);
  auto image = m.kexec.ActiveImage(KEXEC_TYPE_CRASH);
  ASSERT_NE(image, nullptr);
  for (const SegmentView& s : image->segments) {
    EXPECT_GE(s.dest_maddr, kCrashStart);
    EXPECT_LE(s.dest_maddr + s.dest_size, kCrashStart + kCrashSize);
  }
  EXPECT_TRUE(m.ConsoleHas("purpose kexec-crash"));
}

TEST(HvFileLoadDebian, SecureBootRejections) {
  Machine m(SecureBootMachine());
  const FileBuffers good = DebianBuffers(hvsig::test::DebianKernel());
  xen_kexec_file_load_t out{};

  FileBuffers tampered = good;
  tampered.kernel[tampered.kernel.size() / 2] ^= 0x40;
  EXPECT_EQ(m.FileLoad(tampered, 0, 0, &out), -EKEYREJECTED);
  EXPECT_EQ(out.verdict, XEN_KEXEC_FILE_VERDICT_REJECTED);
  EXPECT_STREQ(ResultName(static_cast<Result>(out.reason)), "ImageDigestMismatch");

  const std::string unsigned_path = hvsig::test::UnsignedKernel();
  FileBuffers unsigned_kernel = good;
  unsigned_kernel.kernel = hvsig::test::ReadFile(unsigned_path);
  EXPECT_EQ(m.FileLoad(unsigned_kernel, 0, 0, &out), -ENODATA);
  EXPECT_STREQ(ResultName(static_cast<Result>(out.reason)), "ImageNotSigned");

  const hvsig::test::SigningIdentity unknown = hvsig::test::Identity("hv-unknown", hvsig::test::KeyType::Rsa2048);
  const std::string foreign = Cached("vmlinuz.hv-unknown", [&](const std::string& path) {
    hvsig::test::SbSign(unsigned_path, path, unknown.signer);
  });
  FileBuffers foreign_kernel = good;
  foreign_kernel.kernel = hvsig::test::ReadFile(foreign);
  EXPECT_EQ(m.FileLoad(foreign_kernel, 0, 0, &out), -ENOKEY);
  EXPECT_STREQ(ResultName(static_cast<Result>(out.reason)), "NotTrusted");
  EXPECT_EQ(out.keyring, XEN_KEXEC_FILE_KEYRING_NONE);

  // Legacy loads are locked down.
  EXPECT_EQ(SimpleLegacyLoad(m.kexec, m.guest, 0), -EPERM);
  xen_kexec_load_v1_t v1{};
  EXPECT_EQ(Op(m.kexec, m.guest, KEXEC_CMD_kexec_load_v1, v1), -EPERM);
  EXPECT_EQ(Status(m.kexec, m.guest, 0), 0);
  EXPECT_TRUE(m.kexec.Events().empty()) << "rejections load nothing and log no event";

  // The same kernels in mode log load, each with its verdict recorded.
  Machine log(WithMode(policy::Mode::Log));
  EXPECT_EQ(log.FileLoad(tampered, 0, 0, &out), 0);
  EXPECT_EQ(out.verdict, XEN_KEXEC_FILE_VERDICT_REJECTED);
  EXPECT_EQ(log.FileLoad(unsigned_kernel, 0, 0, &out), 0);
  EXPECT_STREQ(ResultName(static_cast<Result>(out.reason)), "ImageNotSigned");
  EXPECT_EQ(log.kexec.Events().size(), 2u);
}

// ---- Detached initrd signatures (openssl cms, made at test time) -----------------------------

struct InitrdSigning {
  hvsig::test::SigningIdentity id = hvsig::test::Identity("hv-initrd", hvsig::test::KeyType::Rsa2048);
  MachineConfig Config(bool require) const {
    MachineConfig config = SecureBootMachine();
    config.keyrings.builtin_certs.push_back(hvsig::test::CertificateDer(id.ca.cert));
    config.require_initrd_signature = require;
    return config;
  }
};

TEST(HvFileLoadDebian, SignedInitrdLoadsAndItsSignerIsMeasured) {
  InitrdSigning s;
  Machine m(s.Config(true));
  FileBuffers b = DebianBuffers(hvsig::test::DebianKernel());
  for (const char* extra : {"", "-noattr"}) {
    SCOPED_TRACE(extra);
    b.initrd_sig = hvsig::test::CmsSign("hv-initrd", b.initrd, s.id.signer, extra);
    xen_kexec_file_load_t out{};
    ASSERT_EQ(m.FileLoad(b, 0, 0, &out), 0);
    EXPECT_EQ(out.verdict, XEN_KEXEC_FILE_VERDICT_TRUSTED) << "the kernel's verdict";
    EXPECT_EQ(out.reason, 0);
  }
  const std::vector<LoadEvent> events = m.kexec.Events();
  ASSERT_EQ(events.size(), 2u);
  const LoadEvent& e = events.back();
  EXPECT_EQ(e.initrd_verdict, KernelVerdict::Trusted);
  ASSERT_TRUE(e.initrd_signer.present);
  const Bytes signer_der = hvsig::test::CertificateDer(s.id.signer.cert);
  Certificate signer;
  ASSERT_EQ(ParseCertificate(BuiltinProvider(), hvsig::test::In(signer_der), signer), Result::Success);
  EXPECT_EQ(B(e.initrd_signer.subject_sha256), Sha256Of(Bytes(signer.subject.begin(), signer.subject.end())));
  EXPECT_EQ(B(e.initrd_sha256), Sha256Of(b.initrd));
  EXPECT_TRUE(e.signer.present) << "the kernel's signer is recorded as before";
  EXPECT_NE(B(e.signer.subject_sha256), B(e.initrd_signer.subject_sha256));
  EXPECT_TRUE(m.ConsoleHas("initrd: trusted (keyring builtin"));
  EXPECT_EQ(Status(m.kexec, m.guest, 0), 1);
}

TEST(HvFileLoadDebian, InitrdSignatureRejectionsChangeNothing) {
  InitrdSigning s;
  const FileBuffers good = [&] {
    FileBuffers b = DebianBuffers(hvsig::test::DebianKernel());
    b.initrd_sig = hvsig::test::CmsSign("hv-initrd-good", b.initrd, s.id.signer);
    return b;
  }();
  const hvsig::test::SigningIdentity unknown =
      hvsig::test::Identity("hv-initrd-unknown", hvsig::test::KeyType::P256);
  FileBuffers tampered = good;
  tampered.initrd[tampered.initrd.size() / 2] ^= 0x01;
  FileBuffers foreign = good;
  foreign.initrd_sig = hvsig::test::CmsSign("hv-initrd-unknown", good.initrd, unknown.signer);
  FileBuffers garbage = good;
  garbage.initrd_sig = Bytes(good.initrd_sig.begin(), good.initrd_sig.begin() + 40);
  FileBuffers unsigned_initrd = good;
  unsigned_initrd.initrd_sig.clear();
  FileBuffers revoked = good;  // the same signature on a machine whose dbx lists the signer

  struct Case {
    const char* name;
    const FileBuffers* buffers;
    bool require;
    long rc;
    const char* reason;
  };
  const Case cases[] = {
      {"tampered", &tampered, false, -EKEYREJECTED, "MessageDigestMismatch"},
      {"unknown signer", &foreign, false, -ENOKEY, "NotTrusted"},
      {"garbage", &garbage, false, -EBADMSG, "DerTruncated"},
      {"required, none given", &unsigned_initrd, true, -ENODATA, "ImageNotSigned"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Machine m(s.Config(c.require));
    // A loaded image and its event stay as they were.
    ASSERT_EQ(m.FileLoad(good, 0, 0), 0);
    const auto before = m.kexec.ActiveImage(0);
    xen_kexec_file_load_t out{};
    EXPECT_EQ(m.FileLoad(*c.buffers, 0, 0, &out), c.rc);
    EXPECT_EQ(out.magic, XEN_KEXEC_FILE_MAGIC);
    EXPECT_EQ(out.verdict, XEN_KEXEC_FILE_VERDICT_REJECTED);
    EXPECT_STREQ(ResultName(static_cast<Result>(out.reason)), c.reason);
    EXPECT_EQ(m.kexec.Events().size(), 1u);
    const auto after = m.kexec.ActiveImage(0);
    ASSERT_NE(after, nullptr);
    ASSERT_EQ(after->segments.size(), before->segments.size());
    for (size_t i = 0; i < after->segments.size(); ++i) {
      EXPECT_EQ(after->segments[i].buf, before->segments[i].buf);
    }
    // A fresh machine stays empty.
    Machine fresh(s.Config(c.require));
    EXPECT_EQ(fresh.FileLoad(*c.buffers, 0, 0), c.rc);
    EXPECT_EQ(Status(fresh.kexec, fresh.guest, 0), 0);
    EXPECT_TRUE(fresh.kexec.Events().empty());
  }

  MachineConfig dbx = s.Config(false);
  dbx.keyrings.dbx_esl = X509Esl(hvsig::test::CertificateDer(s.id.signer.cert));
  Machine m(dbx);
  xen_kexec_file_load_t out{};
  EXPECT_EQ(m.FileLoad(revoked, 0, 0, &out), -EKEYREJECTED);
  EXPECT_STREQ(ResultName(static_cast<Result>(out.reason)), "RevokedCertificate");
  EXPECT_EQ(Status(m.kexec, m.guest, 0), 0);

  // Without a requirement an unsigned initrd loads; with NO_INITRAMFS nothing is required.
  Machine plain(s.Config(false));
  EXPECT_EQ(plain.FileLoad(unsigned_initrd, 0, 0), 0);
  Machine required(s.Config(true));
  EXPECT_EQ(required.FileLoad({good.kernel, {}, good.cmdline, {}}, 0, KEXEC_FILE_NO_INITRAMFS), 0);
  // Mode log: a rejected initrd loads, and the OUT verdict says what enforce would have done.
  MachineConfig log_config = s.Config(true);
  log_config.secure_boot = false;
  log_config.mode = policy::Mode::Log;
  Machine log(log_config);
  EXPECT_EQ(log.FileLoad(tampered, 0, 0, &out), 0);
  EXPECT_EQ(out.verdict, XEN_KEXEC_FILE_VERDICT_REJECTED);
  EXPECT_STREQ(ResultName(static_cast<Result>(out.reason)), "MessageDigestMismatch");
  ASSERT_EQ(log.kexec.Events().size(), 1u);
  EXPECT_EQ(log.kexec.Events()[0].initrd_verdict, KernelVerdict::Rejected);
  EXPECT_FALSE(log.kexec.Events()[0].initrd_signer.present);
}

}  // namespace
}  // namespace hvsig::hv::test
