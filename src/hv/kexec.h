// A model of Xen 4.17's kexec subsystem (xen/common/kexec.c, kimage.c, x86 machine_kexec.c)
// with hvsig's KEXEC_CMD_kexec_file_load. do_kexec_op is the hypercall: it reads its argument
// through a GuestMemory, serializes all kexec ops with an IN_HYPERCALL bit (a concurrent caller
// gets a continuation and retries), and keeps four image slots with Xen's swap-on-load.
// The design and its mapping onto Xen are in docs/hypervisor-model.md; the ABI in docs/abi.md.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hv/bzimage_loader.h"
#include "hv/guest_memory.h"
#include "hv/verify_kernel.h"
#include "hvsig/crypto.h"
#include "hvsig/policy.h"
#include "hvsig/xen/kexec_file.h"

namespace hvsig::hv {

// Returned by do_kexec_op when another CPU holds IN_HYPERCALL: Xen creates a hypercall
// continuation, i.e. the guest re-executes the same hypercall. Never seen by Hypercall()'s
// callers. (Xen's internal -ERESTART.)
inline constexpr long kContinuation = -85;

enum class UnknownOp : uint8_t {
  Xen417Zero,   // 4.17: the switch has no default, rc is XSM's 0
  EOpNotSupp,   // later Xen: -EOPNOTSUPP
};

struct FileLoadLimits {
  uint64_t max_kernel = 256ull << 20;
  uint64_t max_initrd = 1ull << 30;
  uint64_t max_cmdline = 4096;
  uint64_t max_initrd_sig = 64 << 10;
};

// The simulated machine, fixed at boot.
struct MachineConfig {
  std::vector<E820Entry> e820;
  MemoryRange crash;          // crashkernel= reservation; size 0 = none
  unsigned cpus = 4;
  MemoryRange xen{0x100000000ull - (64ull << 20), 16ull << 20};  // KEXEC_RANGE_MA_XEN
  uint64_t notes_base = 0x7f000000;  // where the per-CPU crash notes and vmcoreinfo live
  EfiEnvironment efi;         // efi.present: booted through EFI
  uint64_t acpi_rsdp = 0;
  bool secure_boot = false;   // Xen's efi_secure_boot: forces mode enforce
  policy::Mode mode = policy::Mode::Enforce;  // used without Secure Boot
  UnknownOp unknown_op = UnknownOp::Xen417Zero;
  bool file_load_implemented = true;  // false: op 7 is an unknown op (a stock 4.17)
  bool xen417_status_quirk = false;   // true: status tests the slot-position bit, as 4.17 does
  bool allow_above_4g = true;
  // file-load requires a detached initrd signature (-ENODATA without one) in modes enforce and
  // log; a given signature is verified whenever the mode is not off.
  bool require_initrd_signature = false;
  FileLoadLimits limits;
  KeyringSources keyrings;    // loaded at boot (verify_kernel.h)
};

// The measured-load log: one event per successful load.
struct LoadEvent {
  uint32_t sequence;
  uint8_t type;                 // KEXEC_TYPE_*
  uint32_t op;                  // KEXEC_CMD_* that loaded it
  KernelVerdict verdict;        // what verification said (None for legacy ops and mode off)
  uint8_t kernel_sha256[32];    // Authenticode SHA-256 (zero if not parsed)
  uint8_t kernel_file_sha256[32];
  uint8_t initrd_sha256[32];
  uint8_t cmdline_sha256[32];   // over the cmdline bytes as given, NUL included
  policy::Identity signer;
  policy::Identity anchor;
  bool has_keyring;
  keyring::KeyringId keyring;
  KernelVerdict initrd_verdict;    // None: no initrd signature verified
  policy::Identity initrd_signer;  // present when a detached initrd signature vouched
};

struct Handoff {
  uint8_t type;
  unsigned slot;
  uint64_t entry_maddr;
  uint64_t boot_params_maddr;   // 0 for images loaded by legacy ops
  bool file_loaded;
  uint8_t kernel_sha256[32];
  uint32_t load_sequence;       // the LoadEvent of the image (0 for legacy loads)
};

// A read-only view of a loaded image, for tests and tools.
struct SegmentView {
  uint64_t dest_maddr;
  uint64_t dest_size;
  std::vector<uint8_t> buf;
};
struct ImageView {
  uint8_t type;
  uint16_t arch;
  uint64_t entry_maddr;
  uint64_t boot_params_maddr;
  bool file_loaded;
  std::vector<SegmentView> segments;
};

// A segment as a load op describes it, before its buffer is copied in.
struct RawSegment {
  uint64_t guest_buf;             // 0: no buffer (v1 destinations, zero-filled regions)
  std::vector<uint8_t>* owned;    // file-load: the loader's buffer (moved in), hypervisor-owned
  uint64_t buf_size;
  uint64_t dest_maddr;
  uint64_t dest_size;
};

class Kexec {
 public:
  // keyrings: the boot's (LoadBootKeyrings, shared with its Livepatch); null loads them from
  // config.keyrings.
  Kexec(const MachineConfig& config, const CryptoProvider& provider,
        std::shared_ptr<const BootKeyrings> keyrings = nullptr);
  ~Kexec();
  Kexec(const Kexec&) = delete;
  Kexec& operator=(const Kexec&) = delete;

  // The hypercall, one attempt: may return kContinuation.
  long do_kexec_op(unsigned long op, uint64_t arg, const GuestMemory& guest);
  // What a guest sees: re-executes on continuation until the op completes.
  long Hypercall(unsigned long op, uint64_t arg, const GuestMemory& guest);

  // Boot result: false if the machine or its keyrings are inconsistent (see BootError()).
  bool Booted() const { return boot_error_.empty(); }
  const std::string& BootError() const { return boot_error_; }
  policy::Mode Mode() const { return mode_; }

  // Tool interfaces, safe while ops run (the measured-load log is Events()).
  std::vector<std::string> Console() const;
  std::vector<LoadEvent> Events() const;
  bool Kexeced(Handoff& out) const;
  // The image the next exec of `type` would run (nullptr: none), copied out under IN_HYPERCALL.
  std::unique_ptr<ImageView> ActiveImage(uint8_t type) const;
  uint64_t ContinuationCount() const { return continuations_.load(std::memory_order_relaxed); }

  // Test-only: flips one byte of a loaded segment (no serialization: call while quiescent).
  bool CorruptSegmentForTest(uint8_t type, size_t segment, size_t offset);
  // Test-only: called with IN_HYPERCALL held, before each op's body runs.
  void SetInsideHookForTest(void (*hook)(void*), void* opaque) { inside_hook_ = hook; inside_opaque_ = opaque; }

 private:
  struct Image;

  long Dispatch(unsigned long op, uint64_t arg, const GuestMemory& guest);
  long Exec(uint64_t arg, const GuestMemory& guest);
  long GetRange(uint64_t arg, const GuestMemory& guest);
  long Load(uint64_t arg, const GuestMemory& guest);
  long LoadV1(uint64_t arg, const GuestMemory& guest);
  long Unload(uint64_t arg, const GuestMemory& guest, bool v1);
  long Status(uint64_t arg, const GuestMemory& guest);
  long FileLoad(uint64_t arg, const GuestMemory& guest);
  long UnknownOpResult(unsigned long op);
  long PrepareFileLoad(const xen_kexec_file_load_t& args, const GuestMemory& guest,
                       xen_kexec_file_load_t& out, std::unique_ptr<Image>& image, LoadEvent& event);
  int CheckAndCopySegments(uint8_t type, uint64_t entry, std::vector<RawSegment>& segments,
                           const GuestMemory* guest, Image& image);
  bool LegacyLoadPermitted(const char* op_name);
  KernelCheck CheckInitrd(policy::Purpose purpose, const std::vector<uint8_t>& initrd,
                          const std::vector<uint8_t>& signature);

  int SwapImages(uint8_t type, std::unique_ptr<Image> image);
  void Log(const std::string& line);
  void Record(const LoadEvent& event);

  MachineConfig config_;
  const CryptoProvider& provider_;
  policy::Mode mode_;
  std::string boot_error_;
  std::shared_ptr<const BootKeyrings> keyrings_;

  // kexec_flags: bits 0-3 slot present, then DEFAULT_POS, CRASH_POS, IN_PROGRESS, IN_HYPERCALL.
  mutable std::atomic<unsigned long> flags_{0};
  std::array<std::unique_ptr<Image>, 4> slots_;
  Handoff handoff_{};
  uint32_t next_sequence_ = 1;

  mutable std::mutex log_lock_;
  std::vector<std::string> console_;
  std::vector<LoadEvent> events_;
  bool kexeced_ = false;

  std::atomic<uint64_t> continuations_{0};
  void (*inside_hook_)(void*) = nullptr;
  void* inside_opaque_ = nullptr;
};

}  // namespace hvsig::hv
