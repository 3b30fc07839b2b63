#include "tools/kexec/xen_kexec.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <vector>

#include "hv/boot_environment.h"
#include "hv/bzimage_loader.h"
#include "hv/verify_kernel.h"
#include "hvsig/keyring.h"
#include "hvsig/policy.h"
#include "hvsig/result.h"
#include "hvsig/xen/kexec_file.h"
#include "tools/common/file_image.h"
#include "tools/kexec/local_kernel.h"
#include "tools/kexec/report.h"
#include "tools/kexec/xencall.h"

namespace hvsig::kexec_cli {

namespace {

// Xen's public ABI (xen/include/public/memory.h, arch-x86/xen.h): what the legacy path asks
// besides kexec_op. The e820 entry is packed, 20 bytes, as Xen and libxenctrl declare it.
constexpr unsigned kHypervisorMemoryOp = 12;
constexpr unsigned kXenMemMachineMemoryMap = 10;
constexpr unsigned kE820Max = 128;  // libxenctrl's E820MAX

struct XenMemoryMap {
  uint32_t nr_entries;
  uint32_t _pad;
  uint64_t buffer;  // XEN_GUEST_HANDLE(void)
};
static_assert(sizeof(XenMemoryMap) == 16);

struct __attribute__((packed)) XenE820Entry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
};
static_assert(sizeof(XenE820Entry) == 20);

// The files of a load, read into hypercall buffers: Xen copies them from there. 0 or an errno.
int ReadIntoBuffer(const XenCall& xen, const std::string& path, HypercallBuffer& out, std::string& error) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int saved = errno;
    error = path + ": " + std::strerror(saved);
    return saved;
  }
  int failure = 0;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    failure = errno;
    error = path + ": " + std::strerror(failure);
  } else if (!S_ISREG(st.st_mode)) {
    failure = EINVAL;
    error = path + ": not a regular file";
  } else if (!xen.Allocate(static_cast<size_t>(st.st_size), out, error)) {
    failure = ENOMEM;
  }
  size_t done = 0;
  while (failure == 0 && done < out.size()) {
    const ssize_t n = read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      failure = errno;
      error = path + ": " + std::strerror(failure);
    } else if (n == 0) {
      failure = EIO;
      error = path + ": the file shrank while being read";
    }
    if (n > 0) done += static_cast<size_t>(n);
  }
  close(fd);
  return failure;
}

bool CopyIntoBuffer(const XenCall& xen, const void* bytes, size_t size, HypercallBuffer& out, std::string& error) {
  if (!xen.Allocate(size, out, error)) return false;
  if (size != 0) std::memcpy(out.data(), bytes, size);
  return true;
}

// The command line as Xen takes it: NUL-terminated, like kexec-tools' command_line_len.
bool CmdlineBuffer(const XenCall& xen, const std::string& cmdline, HypercallBuffer& out, std::string& error) {
  return CopyIntoBuffer(xen, cmdline.c_str(), cmdline.size() + 1, out, error);
}

long KexecOp(const XenCall& xen, unsigned cmd, const HypercallBuffer& arg) {
  return xen.Call2(__HYPERVISOR_kexec_op, cmd, arg.handle());
}

// An op whose argument is the slot alone (exec, unload, status: one `type` field). False, with
// the allocator's message, when no hypercall buffer could be had; else rc is the op's result.
template <typename SlotArg>
bool SlotOp(const XenCall& xen, unsigned cmd, bool crash, long& rc, std::string& error) {
  HypercallBuffer arg;
  if (!xen.Allocate(sizeof(SlotArg), arg, error)) return false;
  arg.as<SlotArg>()->type = crash ? KEXEC_TYPE_CRASH : KEXEC_TYPE_DEFAULT;
  rc = KexecOp(xen, cmd, arg);
  return true;
}

// The failure line for a hypercall that returned -errno: what failed, then errno's text.
int OpFailed(long rc, const std::string& what) {
  const int error = static_cast<int>(-rc);
  return Fail(error, what + ": " + std::strerror(error));
}

bool AllZero(const uint8_t* bytes, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

int LacksFileLoad(long rc) {
  return Fail(EOPNOTSUPP, std::string("this hypervisor lacks KEXEC_CMD_kexec_file_load (kexec_op returned ") +
                              std::to_string(rc) +
                              " without the OUT magic); nothing was loaded, and the unverified legacy load is "
                              "not tried (-c asks for it explicitly)");
}

const char* VerdictName(uint16_t verdict) {
  if (verdict > XEN_KEXEC_FILE_VERDICT_REJECTED) return "unknown";
  return hv::KernelVerdictName(static_cast<hv::KernelVerdict>(verdict));
}

const char* ModeName(uint8_t mode) {
  if (mode > XEN_KEXEC_FILE_MODE_OFF) return "unknown";
  return policy::ModeName(static_cast<policy::Mode>(mode));
}

const char* KeyringName(uint8_t keyring) {
  if (keyring == XEN_KEXEC_FILE_KEYRING_NONE) return "none";
  if (keyring >= keyring::kKeyringCount) return "unknown";
  return keyring::KeyringName(static_cast<keyring::KeyringId>(keyring));
}

const char* ReasonName(uint16_t reason) { return ResultName(static_cast<Result>(reason)); }

// docs/abi.md, OUT: keyring is always the kernel's and is set only when a keyring vouched for
// it, while verdict and reason become the initrd signature's when its rejection decided. So a
// rejection with a vouching keyring is the initrd signature's.
bool InitrdSignatureDecided(const xen_kexec_file_load_t& out) {
  return out.verdict == XEN_KEXEC_FILE_VERDICT_REJECTED && out.keyring != XEN_KEXEC_FILE_KEYRING_NONE;
}

// The hypervisor's answer (OUT fields), and the signer's name from the file's own certificates.
void PrintVerdict(const xen_kexec_file_load_t& out, const std::vector<LocalCertificate>& local) {
  if (InitrdSignatureDecided(out)) {
    std::printf("  verdict  kernel vouched for by keyring %s; initrd signature rejected (reason %s), mode %s\n",
                KeyringName(out.keyring), ReasonName(out.reason), ModeName(out.mode));
  } else {
    std::printf("  verdict  %s (reason %s), mode %s, keyring %s\n", VerdictName(out.verdict), ReasonName(out.reason),
                ModeName(out.mode), KeyringName(out.keyring));
  }
  if (AllZero(out.kernel_sha256, sizeof out.kernel_sha256)) {
    std::printf("  kernel   sha256 none (the hypervisor did not parse the PE)\n");
  } else {
    std::printf("  kernel   sha256 %s (Authenticode)\n", tools::Hex(out.kernel_sha256, 32).c_str());
  }
  if (AllZero(out.signer_subject_sha256, sizeof out.signer_subject_sha256)) {
    std::printf("  signer   none reported\n");
    return;
  }
  const size_t serial_len = out.signer_serial_len <= XEN_KEXEC_FILE_SERIAL_MAX ? out.signer_serial_len : 0;
  const LocalCertificate* cert =
      FindReportedSigner(local, out.signer_subject_sha256, std::span<const uint8_t>(out.signer_serial, serial_len));
  std::printf("  signer   %s\n", cert != nullptr ? cert->subject.c_str() : "(not among the file's certificates)");
  std::printf("           subject sha256 %s, serial %s\n", tools::Hex(out.signer_subject_sha256, 32).c_str(),
              serial_len != 0 ? tools::Hex(out.signer_serial, serial_len).c_str() : "none");
}

std::string WithReason(const std::string& text, const xen_kexec_file_load_t& out) {
  return out.reason != 0 ? text + " (" + ReasonName(out.reason) + ")" : text;
}

// The failure line of a refused file load: docs/abi.md's errno meanings, the hypervisor's reason.
int FileLoadRefused(int error, const xen_kexec_file_load_t& out, bool magic) {
  const std::string whose = InitrdSignatureDecided(out) ? "the initrd's" : "the kernel's";
  switch (error) {
    case EKEYREJECTED:
      return Fail(error, WithReason("the hypervisor rejected " + whose + " signature (bad signature, digest "
                                    "mismatch or revoked)", out));
    case ENOKEY:
      return Fail(error, WithReason(whose + " signature does not chain to a key the hypervisor trusts for this purpose", out));
    case ENODATA:
      return Fail(error, WithReason(InitrdSignatureDecided(out) ? "the initrd has no signature (--initrd-sig) and the "
                                                                  "hypervisor's policy requires one"
                                                                : "kernel is not signed and the hypervisor's policy "
                                                                  "requires a signature",
                                    out));
    case EBADMSG:
      return Fail(error, WithReason(InitrdSignatureDecided(out) ? "malformed initrd signature" : "malformed kernel signature", out));
    case ELIBBAD:
      return Fail(error, WithReason("malformed kernel image (not a signed PE/bzImage the hypervisor can load)", out));
    case EINVAL:
      return Fail(error, "the hypervisor found the request invalid (type, flags, initrd/cmdline buffers)");
    case E2BIG:
      return Fail(error, "a file is larger than the hypervisor accepts, or the command line is too long");
    case EFAULT:
      return Fail(error, magic ? "the hypervisor could not read a buffer" : "the hypervisor could not read the argument");
    case EBUSY:
      return Fail(error, "a kexec is in progress");
    case EADDRNOTAVAIL:
      return Fail(error, "no crash region is reserved (crashkernel= on Xen's command line)");
    case ENOMEM:
      return Fail(error, "the image does not fit in the memory the hypervisor can place it in");
    case EOPNOTSUPP:
    case ENOSYS:
      if (!magic) return LacksFileLoad(-error);
      break;
    default:
      break;
  }
  return Fail(error, std::string("KEXEC_CMD_kexec_file_load failed: ") + std::strerror(error));
}

int FileLoad(const XenCall& xen, const Options& o, const std::string& cmdline) {
  std::string error;
  HypercallBuffer arg, kernel, initrd, command_line, initrd_sig;
  int failure = ReadIntoBuffer(xen, o.kernel, kernel, error);
  if (failure == 0 && o.initrd) failure = ReadIntoBuffer(xen, *o.initrd, initrd, error);
  if (failure == 0 && o.initrd_sig) failure = ReadIntoBuffer(xen, *o.initrd_sig, initrd_sig, error);
  if (failure == 0 && (!xen.Allocate(sizeof(xen_kexec_file_load_t), arg, error) ||
                       !CmdlineBuffer(xen, cmdline, command_line, error))) {
    failure = ENOMEM;
  }
  if (failure != 0) return Fail(failure, error);
  auto* a = arg.as<xen_kexec_file_load_t>();
  a->type = o.crash ? KEXEC_TYPE_CRASH : KEXEC_TYPE_DEFAULT;
  a->flags = o.initrd ? 0 : KEXEC_FILE_NO_INITRAMFS;
  a->kernel = {kernel.handle(), kernel.size()};
  if (o.initrd) a->initrd = {initrd.handle(), initrd.size()};
  if (o.initrd_sig) a->initrd_sig = {initrd_sig.handle(), initrd_sig.size()};
  a->cmdline = {command_line.handle(), command_line.size()};
  a->magic = 0;

  const long rc = KexecOp(xen, KEXEC_CMD_kexec_file_load, arg);
  const bool magic = a->magic == XEN_KEXEC_FILE_MAGIC;
  if (rc >= 0 && !magic) return LacksFileLoad(rc);
  if (magic) {
    std::printf("hvsig-kexec: file load of %s into the %s slot: %s\n", o.kernel.c_str(), SlotName(o.crash),
                rc == 0 ? "loaded" : "refused");
    PrintVerdict(*a, KernelCertificates(std::span<const uint8_t>(kernel.data(), kernel.size())));
    if (rc == 0 && a->verdict == XEN_KEXEC_FILE_VERDICT_REJECTED) {
      std::printf("  note     mode %s: the hypervisor would have rejected it (%s) and loaded it anyway\n",
                  ModeName(a->mode), ReasonName(a->reason));
    }
  }
  if (rc < 0) return FileLoadRefused(static_cast<int>(-rc), *a, magic);
  return kExitOk;
}

int FileUnload(const XenCall& xen, const Options& o) {
  std::string error;
  HypercallBuffer arg;
  if (!xen.Allocate(sizeof(xen_kexec_file_load_t), arg, error)) return Fail(ENOMEM, error);
  auto* a = arg.as<xen_kexec_file_load_t>();
  a->type = o.crash ? KEXEC_TYPE_CRASH : KEXEC_TYPE_DEFAULT;
  a->flags = KEXEC_FILE_UNLOAD;
  const long rc = KexecOp(xen, KEXEC_CMD_kexec_file_load, arg);
  const bool magic = a->magic == XEN_KEXEC_FILE_MAGIC;
  if (rc >= 0 && !magic) return LacksFileLoad(rc);
  if (rc < 0) {
    if (!magic && (rc == -EOPNOTSUPP || rc == -ENOSYS)) return LacksFileLoad(rc);
    return OpFailed(rc, "unload refused");
  }
  std::printf("hvsig-kexec: %s image unloaded\n", SlotName(o.crash));
  return kExitOk;
}

int LegacyUnload(const XenCall& xen, const Options& o) {
  long rc = 0;
  std::string error;
  if (!SlotOp<xen_kexec_unload_t>(xen, KEXEC_CMD_kexec_unload, o.crash, rc, error)) return Fail(ENOMEM, error);
  if (rc < 0) return OpFailed(rc, "KEXEC_CMD_kexec_unload refused");
  std::printf("hvsig-kexec: %s image unloaded (KEXEC_CMD_kexec_unload)\n", SlotName(o.crash));
  return kExitOk;
}

int Status(const XenCall& xen, const Options& o) {
  long rc = 0;
  std::string error;
  if (!SlotOp<xen_kexec_status_t>(xen, KEXEC_CMD_kexec_status, o.crash, rc, error)) return Fail(ENOMEM, error);
  if (rc < 0) return OpFailed(rc, "KEXEC_CMD_kexec_status failed");
  std::printf("hvsig-kexec: %s image: %s\n", SlotName(o.crash), rc == 1 ? "loaded" : "not loaded");
  return rc == 1 ? kExitOk : kExitFailed;
}

int Exec(const XenCall& xen, const Options& o) {
  long rc = 0;
  std::string error;
  std::fflush(stdout);
  if (!SlotOp<xen_kexec_exec_t>(xen, KEXEC_CMD_kexec, o.crash, rc, error)) return Fail(ENOMEM, error);
  switch (rc) {
    case 0:
      std::printf("hvsig-kexec: kexec: the hypervisor handed off to the %s image\n", SlotName(o.crash));
      return kExitOk;
    case -ENOENT:
      return Fail(ENOENT, std::string("no ") + SlotName(o.crash) + " image is loaded");
    case -EKEYREJECTED:
      return Fail(EKEYREJECTED, "the loaded image no longer matches the digests recorded when it was loaded; "
                                "the hypervisor refused to execute it");
    case -EBUSY:
      return Fail(EBUSY, "a kexec is already in progress");
    default:
      return OpFailed(rc, "KEXEC_CMD_kexec failed");
  }
}

// ---- The legacy load (-c): segments built here, as kexec-tools builds them ----------------------

struct Range {
  long rc = 0;
  hv::MemoryRange range;
};

Range GetRange(const XenCall& xen, int32_t which, int32_t nr) {
  Range out;
  std::string error;
  HypercallBuffer arg;
  if (!xen.Allocate(sizeof(xen_kexec_range_t), arg, error)) {
    out.rc = -ENOMEM;
    return out;
  }
  auto* r = arg.as<xen_kexec_range_t>();
  r->range = which;
  r->nr = nr;
  out.rc = KexecOp(xen, KEXEC_CMD_kexec_get_range, arg);
  out.range = {r->start, r->size};
  return out;
}

long MachineMemoryMap(const XenCall& xen, std::vector<hv::E820Entry>& e820) {
  std::string error;
  HypercallBuffer map, entries;
  if (!xen.Allocate(sizeof(XenMemoryMap), map, error) || !xen.Allocate(kE820Max * sizeof(XenE820Entry), entries, error)) {
    return -ENOMEM;
  }
  map.as<XenMemoryMap>()->nr_entries = kE820Max;
  map.as<XenMemoryMap>()->buffer = entries.handle();
  const long rc = xen.Call2(kHypervisorMemoryOp, kXenMemMachineMemoryMap, map.handle());
  if (rc < 0) return rc;
  const uint32_t count = map.as<XenMemoryMap>()->nr_entries;
  if (count > kE820Max) return -E2BIG;
  for (uint32_t i = 0; i < count; ++i) {
    XenE820Entry entry;
    std::memcpy(&entry, entries.data() + i * sizeof entry, sizeof entry);
    e820.push_back({entry.addr, entry.size, entry.type});
  }
  return 0;
}

// The environment kexec-tools gathers on Xen before it builds a load: the machine's memory
// map, the crash reservation and, for a crash image, the per-CPU notes and vmcoreinfo.
int GatherEnvironment(const XenCall& xen, bool crash, hv::BootEnvironment& env) {
  std::vector<hv::E820Entry> e820;
  const long map_rc = MachineMemoryMap(xen, e820);
  if (map_rc < 0) {
    return OpFailed(map_rc, "XENMEM_machine_memory_map failed");
  }
  const Range reservation = GetRange(xen, KEXEC_RANGE_MA_CRASH, 0);
  if (reservation.rc < 0) {
    return OpFailed(reservation.rc, "KEXEC_CMD_kexec_get_range(MA_CRASH) failed");
  }
  if (crash) {
    if (reservation.range.size == 0) {
      return Fail(EADDRNOTAVAIL, "no crash region is reserved (crashkernel= on Xen's command line)");
    }
    // Xen answers MA_CPU for every CPU it has and -ERANGE past the last.
    for (int32_t cpu = 0;; ++cpu) {
      const Range notes = GetRange(xen, KEXEC_RANGE_MA_CPU, cpu);
      if (notes.rc == -ERANGE) break;
      if (notes.rc < 0) {
        return OpFailed(notes.rc, "KEXEC_CMD_kexec_get_range(MA_CPU, " + std::to_string(cpu) + ") failed");
      }
      env.crash_env.cpu_notes.push_back(notes.range);
    }
    const Range vmcoreinfo = GetRange(xen, KEXEC_RANGE_MA_VMCOREINFO, 0);
    if (vmcoreinfo.rc == 0) env.crash_env.vmcoreinfo = vmcoreinfo.range;
  }
  env.allow_above_4g = true;
  hv::PlaceInMachine(e820, reservation.range, crash, env);
  return kExitOk;
}

int LegacyLoad(const XenCall& xen, const Options& o, const std::string& cmdline) {
  std::string error;
  HypercallBuffer kernel, initrd;
  int failure = ReadIntoBuffer(xen, o.kernel, kernel, error);
  if (failure == 0 && o.initrd) failure = ReadIntoBuffer(xen, *o.initrd, initrd, error);
  if (failure != 0) return Fail(failure, error);
  hv::BootEnvironment env;
  if (GatherEnvironment(xen, o.crash, env) != kExitOk) return kExitFailed;
  const std::string cmdline_nul(cmdline.c_str(), cmdline.size() + 1);
  hv::LoaderInput input;
  input.kernel = std::span<const uint8_t>(kernel.data(), kernel.size());
  input.initrd = std::span<const uint8_t>(initrd.data(), initrd.size());
  input.cmdline = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(cmdline_nul.data()), cmdline_nul.size());
  const hv::LoaderResult loaded = hv::LoadBzImage(input, env);
  if (loaded.error != 0) return Fail(loaded.error, "cannot build the image: " + loaded.reason);

  const std::vector<hv::Segment>& segments = loaded.image.segments;
  std::vector<HypercallBuffer> buffers(segments.size());
  HypercallBuffer table, arg;
  if (!xen.Allocate(segments.size() * sizeof(xen_kexec_segment_t), table, error) ||
      !xen.Allocate(sizeof(xen_kexec_load_t), arg, error)) {
    return Fail(ENOMEM, error);
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    const hv::Segment& s = segments[i];
    if (!CopyIntoBuffer(xen, s.buf.data(), s.buf.size(), buffers[i], error)) return Fail(ENOMEM, error);
    const xen_kexec_segment_t segment{buffers[i].handle(), s.buf.size(), s.dest_maddr, s.dest_size};
    std::memcpy(table.data() + i * sizeof segment, &segment, sizeof segment);
  }
  auto* a = arg.as<xen_kexec_load_t>();
  a->type = o.crash ? KEXEC_TYPE_CRASH : KEXEC_TYPE_DEFAULT;
  a->arch = hv::kLoaderArchX86_64;
  a->nr_segments = static_cast<uint32_t>(segments.size());
  a->segments = table.handle();
  a->entry_maddr = loaded.image.entry_maddr;

  const long rc = KexecOp(xen, KEXEC_CMD_kexec_load, arg);
  if (rc == -EPERM) {
    return Fail(EPERM, "the hypervisor refused KEXEC_CMD_kexec_load: lockdown refuses unverified legacy loads "
                       "(Secure Boot or mode enforce); load a signed kernel with the file load (-s)");
  }
  if (rc < 0) return OpFailed(rc, "KEXEC_CMD_kexec_load refused");
  std::printf("hvsig-kexec: legacy load of %s into the %s slot: loaded, %zu segments, entry %#" PRIx64 "\n",
              o.kernel.c_str(), SlotName(o.crash), segments.size(), loaded.image.entry_maddr);
  std::printf("  verdict  none: KEXEC_CMD_kexec_load carries no signature; nothing was verified\n");
  return kExitOk;
}

}  // namespace

int RunOnXen(const Options& o, const std::string& cmdline) {
  XenCall xen;
  std::string error;
  if (!xen.Open(error)) {
    return Fail(ENODEV, "not a Xen dom0 (" + error + "); use --native on a non-Xen host");
  }
  switch (o.action) {
    case Action::Load:
      return o.path == LoadPath::File ? FileLoad(xen, o, cmdline) : LegacyLoad(xen, o, cmdline);
    case Action::Unload:
      return o.path == LoadPath::File ? FileUnload(xen, o) : LegacyUnload(xen, o);
    case Action::Status:
      return Status(xen, o);
    case Action::Exec:
      return Exec(xen, o);
  }
  return kExitUsage;
}

}  // namespace hvsig::kexec_cli
