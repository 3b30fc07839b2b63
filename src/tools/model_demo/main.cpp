// hvsig-model-demo: boots the hypervisor model (src/hv) as an EFI machine with Secure Boot on and
// the given db/dbx, then plays dom0's part through the hypercall entry point, one op per step:
//   1. legacy KEXEC_CMD_kexec_load of the kernel's bytes      -> -EPERM (lockdown)
//   2. KEXEC_CMD_kexec_file_load of a copy with a byte flipped -> -EKEYREJECTED
//   3. KEXEC_CMD_kexec_file_load of the kernel                 -> 0 (verified, loaded)
//   4. KEXEC_CMD_kexec_status                                  -> 1 (loaded), the measured event
//   5. KEXEC_CMD_kexec                                         -> 0, segments re-hashed, handoff
// It prints the model's (XEN) console as it grows and one result line per step.
// Exit 0 when every step had its expected outcome, 1 otherwise, 2 on usage or I/O errors.
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "hv/errno_name.h"
#include "hv/kexec.h"
#include "hv/sim_guest.h"
#include "hvsig/crypto_providers.h"
#include "hvsig/keyring.h"
#include "hvsig/result.h"
#include "hvsig/x509.h"
#include "hvsig/xen/kexec_file.h"
#include "tools/common/certs.h"
#include "tools/common/file_image.h"

namespace {

using hvsig::hv::ErrnoName;
using hvsig::hv::Kexec;
using hvsig::hv::sim::Bytes;
using hvsig::hv::sim::FileBuffers;
using hvsig::hv::sim::SimGuest;
using hvsig::tools::Hex;

constexpr int kExitUsage = 2;

struct Options {
  std::string db;
  std::string dbx;
  std::string kernel;
  std::string initrd;
  std::string cmdline = "root=/dev/vda1 ro console=ttyS0";
};

// A stand-in initramfs: deterministic bytes (the model measures an initrd, it does not run it).
Bytes GeneratedInitrd() {
  Bytes initrd(1 << 20);
  uint32_t state = 0x2545f491;
  for (uint8_t& byte : initrd) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    byte = static_cast<uint8_t>(state);
  }
  return initrd;
}

// The secure_boot byte of boot_params, as Linux's enum efi_secureboot_mode reads it.
const char* LinuxSecureBootMode(uint8_t value) {
  switch (value) {
    case 0: return "unset";
    case 1: return "unknown";
    case 2: return "disabled";
    case 3: return "enabled";
    default: return "out of range";
  }
}

const char* VerdictName(uint16_t verdict) {
  switch (verdict) {
    case XEN_KEXEC_FILE_VERDICT_NONE: return "none";
    case XEN_KEXEC_FILE_VERDICT_TRUSTED: return "trusted";
    case XEN_KEXEC_FILE_VERDICT_HASH_AUTHORIZED: return "hash-authorized";
    case XEN_KEXEC_FILE_VERDICT_REJECTED: return "rejected";
    default: return "?";
  }
}

const char* KeyringName(uint8_t keyring) {
  if (keyring == XEN_KEXEC_FILE_KEYRING_NONE) return "none";
  if (keyring >= hvsig::keyring::kKeyringCount) return "?";
  return hvsig::keyring::KeyringName(static_cast<hvsig::keyring::KeyringId>(keyring));
}

// The subject of the db certificate whose subject Name hashes to `subject_sha256` (how the
// measured-load log names the anchor), or "".
std::string AnchorName(const std::vector<std::vector<uint8_t>>& db_certs,
                       const uint8_t (&subject_sha256)[32]) {
  const hvsig::CryptoProvider& provider = hvsig::DefaultProvider();
  for (const std::vector<uint8_t>& der : db_certs) {
    hvsig::Certificate cert{};
    if (hvsig::ParseCertificate(provider, hvsig::Input(der.data(), der.size()), cert) !=
        hvsig::Result::Success) {
      continue;
    }
    hvsig::DigestContext ctx{};
    if (provider.digest_init(provider, hvsig::DigestAlg::Sha256, ctx) != hvsig::Result::Success) continue;
    provider.digest_update(ctx, cert.subject.data(), cert.subject.size());
    uint8_t digest[32];
    provider.digest_final(ctx, digest);
    if (std::memcmp(digest, subject_sha256, sizeof digest) == 0) {
      return hvsig::tools::NameToString(cert.subject);
    }
  }
  return {};
}

class Demo {
 public:
  explicit Demo(Kexec& kexec) : kexec_(kexec) {}

  // Prints the console lines the model wrote since the last call.
  void FlushConsole() {
    const std::vector<std::string> console = kexec_.Console();
    for (; printed_ < console.size(); ++printed_) std::printf("    %s\n", console[printed_].c_str());
  }

  void Step(const char* title) {
    std::printf("\n-- %d. %s\n", ++step_, title);
  }

  // The step's one-line result; a wrong outcome fails the demo.
  void Result(bool as_expected, const std::string& line) {
    FlushConsole();
    std::printf("   %s %s\n", as_expected ? "[ok]  " : "[FAIL]", line.c_str());
    if (!as_expected) ++failures_;
  }

  void Detail(const std::string& line) { std::printf("         %s\n", line.c_str()); }

  int failures() const { return failures_; }

 private:
  Kexec& kexec_;
  size_t printed_ = 0;
  int step_ = 0;
  int failures_ = 0;
};

// The file-load op as dom0's kexec tool issues it: OUT magic zeroed, then the hypercall; `out`
// receives the argument as the guest reads it back.
long FileLoad(Kexec& kexec, SimGuest& guest, const FileBuffers& buffers,
              xen_kexec_file_load_t& out) {
  const uint64_t arg = hvsig::hv::sim::PutFileLoad(guest, buffers, KEXEC_TYPE_DEFAULT, 0);
  const long rc = kexec.Hypercall(KEXEC_CMD_kexec_file_load, arg, guest.Memory());
  out = guest.Get<xen_kexec_file_load_t>(arg);
  return rc;
}

int Run(const Options& options) {
  hvsig::hv::MachineConfig config = hvsig::hv::sim::StandardMachine();
  config.secure_boot = true;
  std::string error = hvsig::tools::LoadSignatureDatabase(options.db, "db", &config.keyrings.db_certs, config.keyrings.db_esl);
  if (error.empty() && !options.dbx.empty()) {
    error = hvsig::tools::LoadSignatureDatabase(options.dbx, "dbx", nullptr, config.keyrings.dbx_esl);
  }
  Bytes kernel;
  if (error.empty()) hvsig::tools::ReadWholeFile(options.kernel, kernel, error);
  Bytes initrd;
  if (error.empty() && !options.initrd.empty()) hvsig::tools::ReadWholeFile(options.initrd, initrd, error);
  if (!error.empty()) {
    std::fprintf(stderr, "hvsig-model-demo: %s\n", error.c_str());
    return kExitUsage;
  }
  if (initrd.empty()) initrd = GeneratedInitrd();

  std::printf("Booting the kexec model: EFI machine, Secure Boot on, db %s%s%s\n", options.db.c_str(),
              options.dbx.empty() ? "" : ", dbx ", options.dbx.c_str());
  Kexec kexec(config, hvsig::DefaultProvider());
  SimGuest dom0;
  Demo demo(kexec);
  demo.FlushConsole();
  if (!kexec.Booted()) {
    std::printf("   [FAIL] the model did not boot: %s\n", kexec.BootError().c_str());
    return 1;
  }

  demo.Step("dom0 tries the legacy path: KEXEC_CMD_kexec_load of the kernel's bytes, unverified");
  {
    const uint64_t dest = 0x1000000;
    const uint64_t pages = (kernel.size() + 4095) & ~uint64_t{4095};
    const long rc = hvsig::hv::sim::LegacyLoad(kexec, dom0, KEXEC_TYPE_DEFAULT, dest + 0x200,
                                               {{kernel, dest, pages}});
    demo.Result(rc == -EPERM, std::string("kexec_load -> ") + ErrnoName(rc) +
                                  " (expected -EPERM: lockdown under Secure Boot)");
  }

  demo.Step("dom0 file-loads a tampered copy (one byte of the kernel body flipped in memory)");
  {
    FileBuffers tampered{kernel, initrd, hvsig::hv::sim::Cmdline(options.cmdline), {}};
    const size_t at = tampered.kernel.size() / 2;
    tampered.kernel[at] ^= 0xff;
    xen_kexec_file_load_t out{};
    const long rc = FileLoad(kexec, dom0, tampered, out);
    demo.Result(rc == -EKEYREJECTED && out.magic == XEN_KEXEC_FILE_MAGIC &&
                    out.verdict == XEN_KEXEC_FILE_VERDICT_REJECTED,
                std::string("kexec_file_load -> ") + ErrnoName(rc) + ", verdict " +
                    VerdictName(out.verdict) + ", reason " +
                    hvsig::ResultName(static_cast<hvsig::Result>(out.reason)) +
                    " (byte at offset " + std::to_string(at) + " inverted; expected -EKEYREJECTED)");
  }

  demo.Step("dom0 file-loads the signed kernel with an initrd and a command line");
  const FileBuffers buffers{kernel, initrd, hvsig::hv::sim::Cmdline(options.cmdline), {}};
  xen_kexec_file_load_t out{};
  const long load_rc = FileLoad(kexec, dom0, buffers, out);
  const bool magic_ok = out.magic == XEN_KEXEC_FILE_MAGIC;
  demo.Result(load_rc == 0 && magic_ok && out.verdict == XEN_KEXEC_FILE_VERDICT_TRUSTED,
              std::string("kexec_file_load -> ") + ErrnoName(load_rc) + ", verdict " +
                  VerdictName(out.verdict) +
                  (out.reason == 0 ? std::string()
                                   : std::string(", reason ") +
                                         hvsig::ResultName(static_cast<hvsig::Result>(out.reason))) +
                  " (expected 0, trusted)");
  demo.Detail(std::string("OUT magic ") + (magic_ok ? "\"hvsigKF1\": the hypervisor implements the op"
                                                    : "missing: the op is not implemented"));
  demo.Detail("Authenticode SHA-256 " + Hex(out.kernel_sha256, 32));
  demo.Detail("signer serial " + Hex(out.signer_serial, out.signer_serial_len) +
              ", subject SHA-256 " + Hex(out.signer_subject_sha256, 32));
  demo.Detail(std::string("keyring ") + KeyringName(out.keyring) + ", mode " +
              (out.mode == XEN_KEXEC_FILE_MODE_ENFORCE ? "enforce" : "not enforce"));
  const std::unique_ptr<hvsig::hv::ImageView> image = kexec.ActiveImage(KEXEC_TYPE_DEFAULT);
  if (image != nullptr) {
    char line[160];
    std::snprintf(line, sizeof line, "%zu segments, entry %#llx:", image->segments.size(),
                  static_cast<unsigned long long>(image->entry_maddr));
    demo.Detail(line);
    for (const hvsig::hv::SegmentView& s : image->segments) {
      std::snprintf(line, sizeof line, "  dest %#011llx  size %#010llx  (%zu bytes copied)%s",
                    static_cast<unsigned long long>(s.dest_maddr),
                    static_cast<unsigned long long>(s.dest_size), s.buf.size(),
                    s.dest_maddr == image->boot_params_maddr ? "  boot_params" : "");
      demo.Detail(line);
      if (s.dest_maddr == image->boot_params_maddr && s.buf.size() > 0x1ec) {
        const uint8_t secure_boot = s.buf[0x1ec];
        std::snprintf(line, sizeof line, "  boot_params.secure_boot = %u (Linux: efi_secureboot_mode_%s)",
                      secure_boot, LinuxSecureBootMode(secure_boot));
        demo.Detail(line);
      }
    }
  }

  demo.Step("dom0 asks KEXEC_CMD_kexec_status; the measured-load log");
  {
    const long rc = hvsig::hv::sim::Status(kexec, dom0, KEXEC_TYPE_DEFAULT);
    const std::vector<hvsig::hv::LoadEvent> events = kexec.Events();
    demo.Result(rc == 1 && events.size() == 1,
                "kexec_status -> " + std::to_string(rc) + (rc == 1 ? " (loaded)" : "") + ", " +
                    std::to_string(events.size()) + " measured-load event(s) (expected 1, 1)");
    for (const hvsig::hv::LoadEvent& e : events) {
      demo.Detail("event #" + std::to_string(e.sequence) + ": op " + std::to_string(e.op) + ", verdict " +
                  hvsig::hv::KernelVerdictName(e.verdict) + ", keyring " +
                  (e.has_keyring ? hvsig::keyring::KeyringName(e.keyring) : "-"));
      const std::string anchor = e.anchor.present ? AnchorName(config.keyrings.db_certs, e.anchor.subject_sha256) : "";
      demo.Detail("  signer serial " + Hex(e.signer.serial, e.signer.serial_length) + ", chains to " +
                  (anchor.empty() ? "a db entry" : anchor + " (db)"));
      demo.Detail("  kernel Authenticode " + Hex(e.kernel_sha256, 32));
      demo.Detail("  kernel file         " + Hex(e.kernel_file_sha256, 32));
      demo.Detail("  initrd              " + Hex(e.initrd_sha256, 32));
      demo.Detail("  cmdline             " + Hex(e.cmdline_sha256, 32));
    }
  }

  demo.Step("dom0 issues KEXEC_CMD_kexec: segments re-hashed (purgatory's check), then the handoff");
  {
    const long rc = hvsig::hv::sim::Exec(kexec, dom0, KEXEC_TYPE_DEFAULT);
    hvsig::hv::Handoff handoff{};
    const bool handed_off = kexec.Kexeced(handoff);
    demo.Result(rc == 0 && handed_off && handoff.file_loaded &&
                    std::memcmp(handoff.kernel_sha256, out.kernel_sha256, 32) == 0,
                std::string("kexec -> ") + ErrnoName(rc) + (handed_off ? ", handed off" : ", no handoff") +
                    " (expected 0 and the verified kernel)");
    if (handed_off) {
      char line[160];
      std::snprintf(line, sizeof line, "entry %#llx, boot_params %#llx, slot %u, load #%u",
                    static_cast<unsigned long long>(handoff.entry_maddr),
                    static_cast<unsigned long long>(handoff.boot_params_maddr), handoff.slot,
                    handoff.load_sequence);
      demo.Detail(line);
      demo.Detail("kernel Authenticode " + Hex(handoff.kernel_sha256, 32));
    }
  }

  std::printf("\n%s\n", demo.failures() == 0 ? "model demo: every step as expected"
                                             : "model demo: FAILED");
  return demo.failures() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hvsig-model-demo: kexec under Secure Boot on the embedded hypervisor model"};
  Options options;
  app.add_option("--db", options.db, "platform keyring: certificate (DER/PEM), ESL, efivarfs, .auth or OVMF_VARS")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--dbx", options.dbx, "blacklist: ESL, efivarfs, .auth or OVMF_VARS")
      ->check(CLI::ExistingFile);
  app.add_option("--kernel", options.kernel, "signed bzImage (EFI stub, Authenticode)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--initrd", options.initrd, "initrd (default: 1 MiB of generated bytes)")
      ->check(CLI::ExistingFile);
  app.add_option("--cmdline", options.cmdline, "kernel command line");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  return Run(options);
}
