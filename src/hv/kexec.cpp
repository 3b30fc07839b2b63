// The kexec subsystem model. Function by function it follows Xen 4.17 (xen/common/kexec.c:
// do_kexec_op_internal, kexec_exec, kexec_get_range, kexec_load, kexec_do_load_v1,
// kexec_do_unload, kexec_status, kexec_swap_images; xen/common/kimage.c: kimage_alloc and its
// checks; x86 machine_kexec_load's arch check). Deliberate differences are marked "Model:".
#include "hv/kexec.h"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <thread>

#include "hv/boot_environment.h"
#include "hv/errno_name.h"
#include "hv/text.h"

namespace hvsig::hv {

namespace {

constexpr uint64_t kPageSize = 4096;
constexpr unsigned kImageNr = 4;
constexpr unsigned kDefaultBase = 0;
constexpr unsigned kCrashBase = 2;
constexpr unsigned long kFlagDefaultPos = 1ul << (kImageNr + 0);
constexpr unsigned long kFlagCrashPos = 1ul << (kImageNr + 1);
constexpr unsigned long kFlagInProgress = 1ul << (kImageNr + 2);
constexpr unsigned long kFlagInHypercall = 1ul << (kImageNr + 3);
constexpr uint64_t kVmcoreinfoBytes = 4096;
// Per-CPU crash notes as kexec_init_cpu_notes sizes them: "CORE" PRSTATUS (336 bytes) and
// "Xen" CRASH_REGS (32), CPU 0 also "Xen" CRASH_INFO (80); each note 12 + name + desc.
constexpr uint64_t kCpuNotesSize = (12 + 8 + 336) + (12 + 4 + 32);
constexpr uint64_t kCpu0InfoNoteSize = 12 + 4 + 80;
constexpr uint64_t kCpuNotesStride = 0x200;

const char* TypeName(unsigned type) { return type == KEXEC_TYPE_CRASH ? "crash" : "default"; }

// kexec_load_get_bits
bool GetBits(long type, unsigned& base, unsigned long& bit) {
  switch (type) {
    case KEXEC_TYPE_DEFAULT:
      base = kDefaultBase;
      bit = kFlagDefaultPos;
      return true;
    case KEXEC_TYPE_CRASH:
      base = kCrashBase;
      bit = kFlagCrashPos;
      return true;
    default:
      return false;
  }
}

void Sha256(const CryptoProvider& provider, const uint8_t* data, size_t length, uint8_t out[32]) {
  static const uint8_t kEmpty[1] = {0};
  DigestOnce(provider, DigestAlg::Sha256, Input(length ? data : kEmpty, length), out);
}

// The kernel copy as the core reads it: views never cross a 4 KiB boundary, as they would not
// over a kimage's page list.
// Position of a verification errno in docs/abi.md's order (0, success, last).
int ErrnoRank(int error) {
  constexpr int kOrder[] = {-ELIBBAD, -EBADMSG, -EKEYREJECTED, -ENOKEY, -ENODATA};
  for (size_t i = 0; i < sizeof kOrder / sizeof kOrder[0]; ++i) {
    if (kOrder[i] == error) return static_cast<int>(i);
  }
  return error == 0 ? static_cast<int>(sizeof kOrder / sizeof kOrder[0]) + 1
                    : static_cast<int>(sizeof kOrder / sizeof kOrder[0]);
}

struct PagedCopy {
  const std::vector<uint8_t>* bytes;
  static Result View(void* opaque, uint64_t offset, size_t max_length, Input& chunk) {
    const auto* self = static_cast<const PagedCopy*>(opaque);
    if (offset >= self->bytes->size()) return Result::ImageReadFailed;
    uint64_t length = kPageSize - (offset % kPageSize);
    if (length > max_length) length = max_length;
    if (length > self->bytes->size() - offset) length = self->bytes->size() - offset;
    chunk = Input(self->bytes->data() + offset, static_cast<size_t>(length));
    return Result::Success;
  }
};

// One guest buffer, copied exactly once into hypervisor-owned memory.
int CopyBuffer(const GuestMemory& guest, const xen_kexec_file_buffer_t& buffer, std::vector<uint8_t>& out) {
  out.assign(static_cast<size_t>(buffer.size), 0);
  if (buffer.size == 0) return 0;
  return copy_from_guest(guest, out.data(), buffer.h, static_cast<size_t>(buffer.size));
}

bool AllZero(const uint8_t* bytes, size_t length) {
  for (size_t i = 0; i < length; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

}  // namespace

struct Kexec::Image {
  struct Segment {
    uint64_t dest_maddr;
    uint64_t dest_size;
    std::vector<uint8_t> buf;  // the tail up to dest_size is zero
    uint8_t sha256[32];        // recorded at load (file-loaded images)
  };
  uint8_t type = 0;
  uint16_t arch = 0;
  uint64_t entry_maddr = 0;
  uint64_t boot_params_maddr = 0;
  bool file_loaded = false;
  uint8_t kernel_sha256[32] = {};
  uint32_t sequence = 0;
  std::vector<Segment> segments;
};

Kexec::Kexec(const MachineConfig& config, const CryptoProvider& provider,
             std::shared_ptr<const BootKeyrings> keyrings)
    : config_(config), provider_(provider),
      mode_(config.secure_boot ? policy::Mode::Enforce : config.mode),
      keyrings_(keyrings ? std::move(keyrings) : LoadBootKeyrings(provider, config.keyrings)) {
  bool crash_in_ram = config_.crash.size == 0;
  for (const E820Entry& e : config_.e820) {
    if (e.type == static_cast<uint32_t>(E820Type::Ram) && config_.crash.start >= e.start &&
        config_.crash.start + config_.crash.size <= e.start + e.size) {
      crash_in_ram = true;
    }
  }
  if (config_.cpus == 0) boot_error_ = "no CPUs";
  if (!crash_in_ram) boot_error_ = "crashkernel region is not inside one RAM range";
  if ((config_.crash.start | config_.crash.size) % kPageSize != 0) {
    boot_error_ = "crashkernel region is not page-aligned";
  }
  if (!keyrings_->load_error.empty()) boot_error_ = "keyrings: " + keyrings_->load_error;

  Log(Format("(XEN) kexec: crashkernel %#" PRIx64 "-%#" PRIx64 ", %u CPUs, %s boot",
             config_.crash.start, config_.crash.start + config_.crash.size, config_.cpus,
             config_.efi.present ? "EFI" : "legacy"));
  Log(Format("(XEN) kexec: signature policy mode %s%s; keyrings: builtin %zu, platform %zu "
             "(+%zu hashes), machine %zu, blacklist %zu certs %zu hashes",
             policy::ModeName(mode_), config_.secure_boot ? " (forced by Secure Boot)" : "",
             keyrings_->rings[0].certificate_count, keyrings_->rings[2].certificate_count,
             keyrings_->rings[2].hash_count, keyrings_->rings[3].certificate_count,
             keyrings_->rings[4].certificate_count, keyrings_->rings[4].hash_count));
  if (!boot_error_.empty()) Log("(XEN) kexec: boot error: " + boot_error_);
}

Kexec::~Kexec() = default;

void Kexec::Log(const std::string& line) {
  std::lock_guard<std::mutex> guard(log_lock_);
  console_.push_back(line);
}

void Kexec::Record(const LoadEvent& event) {
  std::lock_guard<std::mutex> guard(log_lock_);
  events_.push_back(event);
}

std::vector<std::string> Kexec::Console() const {
  std::lock_guard<std::mutex> guard(log_lock_);
  return console_;
}

std::vector<LoadEvent> Kexec::Events() const {
  std::lock_guard<std::mutex> guard(log_lock_);
  return events_;
}

bool Kexec::Kexeced(Handoff& out) const {
  std::lock_guard<std::mutex> guard(log_lock_);
  if (kexeced_) out = handoff_;
  return kexeced_;
}

std::unique_ptr<ImageView> Kexec::ActiveImage(uint8_t type) const {
  unsigned base = 0;
  unsigned long bit = 0;
  if (!GetBits(type, base, bit)) return nullptr;
  // A tool reads like an op: under IN_HYPERCALL, waiting its turn instead of continuing.
  while (flags_.fetch_or(kFlagInHypercall, std::memory_order_acquire) & kFlagInHypercall) {
    std::this_thread::yield();
  }
  std::unique_ptr<ImageView> view;
  const unsigned long flags = flags_.load(std::memory_order_relaxed);
  const unsigned slot = base + ((flags & bit) ? 1 : 0);
  if ((flags & (1ul << slot)) && slots_[slot]) {
    const Image& image = *slots_[slot];
    view = std::make_unique<ImageView>();
    view->type = image.type;
    view->arch = image.arch;
    view->entry_maddr = image.entry_maddr;
    view->boot_params_maddr = image.boot_params_maddr;
    view->file_loaded = image.file_loaded;
    for (const Image::Segment& s : image.segments) view->segments.push_back({s.dest_maddr, s.dest_size, s.buf});
  }
  flags_.fetch_and(~kFlagInHypercall, std::memory_order_release);
  return view;
}

bool Kexec::CorruptSegmentForTest(uint8_t type, size_t segment, size_t offset) {
  unsigned base = 0;
  unsigned long bit = 0;
  if (!GetBits(type, base, bit)) return false;
  const unsigned long flags = flags_.load(std::memory_order_acquire);
  const unsigned slot = base + ((flags & bit) ? 1 : 0);
  if (!slots_[slot] || segment >= slots_[slot]->segments.size()) return false;
  std::vector<uint8_t>& buf = slots_[slot]->segments[segment].buf;
  if (offset >= buf.size()) return false;
  buf[offset] ^= 0x01;
  return true;
}

long Kexec::Hypercall(unsigned long op, uint64_t arg, const GuestMemory& guest) {
  for (;;) {
    const long rc = do_kexec_op(op, arg, guest);
    if (rc != kContinuation) return rc;
    std::this_thread::yield();
  }
}

// do_kexec_op_internal. XSM: every caller of the model is the privileged control domain.
long Kexec::do_kexec_op(unsigned long op, uint64_t arg, const GuestMemory& guest) {
  if (flags_.fetch_or(kFlagInHypercall, std::memory_order_acquire) & kFlagInHypercall) {
    continuations_.fetch_add(1, std::memory_order_relaxed);
    return kContinuation;
  }
  if (inside_hook_ != nullptr) inside_hook_(inside_opaque_);
  const long rc = Dispatch(op, arg, guest);
  flags_.fetch_and(~kFlagInHypercall, std::memory_order_release);
  return rc;
}

long Kexec::Dispatch(unsigned long op, uint64_t arg, const GuestMemory& guest) {
  switch (op) {
    case KEXEC_CMD_kexec_get_range:
      return GetRange(arg, guest);
    case KEXEC_CMD_kexec_load_v1:
      if (!LegacyLoadPermitted("KEXEC_CMD_kexec_load_v1")) return -EPERM;
      return LoadV1(arg, guest);
    case KEXEC_CMD_kexec_unload_v1:
      return Unload(arg, guest, true);
    case KEXEC_CMD_kexec:
      return Exec(arg, guest);
    case KEXEC_CMD_kexec_load:
      if (!LegacyLoadPermitted("KEXEC_CMD_kexec_load")) return -EPERM;
      return Load(arg, guest);
    case KEXEC_CMD_kexec_unload:
      return Unload(arg, guest, false);
    case KEXEC_CMD_kexec_status:
      return Status(arg, guest);
    case KEXEC_CMD_kexec_file_load:
      if (config_.file_load_implemented) return FileLoad(arg, guest);
      return UnknownOpResult(op);
    default:
      return UnknownOpResult(op);
  }
}

long Kexec::UnknownOpResult(unsigned long op) {
  // 4.17's switch has no default: ret still holds xsm_kexec()'s 0.
  if (config_.unknown_op == UnknownOp::Xen417Zero) return 0;
  Log(Format("(XEN) kexec: unknown op %lu: -EOPNOTSUPP", op));
  return -EOPNOTSUPP;
}

// Lockdown: under enforce an unsigned load would bypass every signature check.
bool Kexec::LegacyLoadPermitted(const char* op_name) {
  switch (mode_) {
    case policy::Mode::Enforce:
      Log(Format("(XEN) kexec: lockdown: %s refused (-EPERM): mode enforce%s accepts only "
                 "KEXEC_CMD_kexec_file_load", op_name, config_.secure_boot ? " (Secure Boot)" : ""));
      return false;
    case policy::Mode::Log:
      Log(Format("(XEN) kexec: %s: unverified load permitted by mode log (enforce would refuse)",
                 op_name));
      return true;
    case policy::Mode::Off:
      return true;
  }
  return false;
}

// kexec_swap_images: the new image goes into the inactive slot, the position bit flips, and
// the old image is freed. An unload is a swap with NULL.
int Kexec::SwapImages(uint8_t type, std::unique_ptr<Image> image) {
  if (flags_.load(std::memory_order_relaxed) & kFlagInProgress) return -EBUSY;
  unsigned base = 0;
  unsigned long bit = 0;
  if (!GetBits(type, base, bit)) return -EINVAL;
  const unsigned long flags = flags_.load(std::memory_order_relaxed);
  const unsigned pos = (flags & bit) ? 1 : 0;
  const unsigned old_slot = base + pos;
  const unsigned new_slot = base + !pos;
  const bool loading = image != nullptr;
  slots_[new_slot] = std::move(image);
  if (loading) flags_.fetch_or(1ul << new_slot, std::memory_order_relaxed);
  flags_.fetch_xor(bit, std::memory_order_relaxed);
  flags_.fetch_and(~(1ul << old_slot), std::memory_order_relaxed);
  slots_[old_slot].reset();
  return 0;
}

// kexec_exec, plus purgatory's check done by the hypervisor for file-loaded images.
long Kexec::Exec(uint64_t arg, const GuestMemory& guest) {
  xen_kexec_exec_t exec;
  if (copy_from_guest(guest, &exec, arg, sizeof exec) != 0) return -EFAULT;
  unsigned base = 0;
  unsigned long bit = 0;
  if (!GetBits(exec.type, base, bit)) return -EINVAL;
  // Model: Xen never returns from a kexec; the model stays "kexec'd" and refuses more.
  if (flags_.load(std::memory_order_relaxed) & kFlagInProgress) return -EBUSY;
  const unsigned long flags = flags_.load(std::memory_order_relaxed);
  const unsigned slot = base + ((flags & bit) ? 1 : 0);
  if (!(flags & (1ul << slot))) return -ENOENT;
  Image& image = *slots_[slot];

  if (image.file_loaded) {
    for (size_t i = 0; i < image.segments.size(); ++i) {
      const Image::Segment& s = image.segments[i];
      uint8_t now[32];
      Sha256(provider_, s.buf.data(), s.buf.size(), now);
      if (std::memcmp(now, s.sha256, sizeof now) != 0) {
        Log(Format("(XEN) kexec: integrity failure: %s image segment %zu at %#" PRIx64
                   " hashes to %s, load recorded %s; kexec refused (-EKEYREJECTED)",
                   TypeName(exec.type), i, s.dest_maddr, Hex(now, 32).c_str(),
                   Hex(s.sha256, 32).c_str()));
        return -EKEYREJECTED;
      }
    }
  }
  flags_.fetch_or(kFlagInProgress, std::memory_order_relaxed);
  Handoff h{};
  h.type = static_cast<uint8_t>(exec.type);
  h.slot = slot;
  h.entry_maddr = image.entry_maddr;
  h.boot_params_maddr = image.boot_params_maddr;
  h.file_loaded = image.file_loaded;
  std::memcpy(h.kernel_sha256, image.kernel_sha256, 32);
  h.load_sequence = image.sequence;
  Log(Format("(XEN) kexec: %s: %s image (slot %u, load #%u) entry %#" PRIx64 " boot_params %#" PRIx64
             "%s",
             exec.type == KEXEC_TYPE_CRASH ? "crash" : "reboot", TypeName(exec.type), slot,
             image.sequence, image.entry_maddr, image.boot_params_maddr,
             image.file_loaded ? ", all segments match their load digests" : ", legacy image: not checked"));
  std::lock_guard<std::mutex> guard(log_lock_);
  handoff_ = h;
  kexeced_ = true;
  return 0;
}

long Kexec::GetRange(uint64_t arg, const GuestMemory& guest) {
  xen_kexec_range_t range;
  if (copy_from_guest(guest, &range, arg, sizeof range) != 0) return -EFAULT;
  long rc = 0;
  switch (range.range) {
    case KEXEC_RANGE_MA_CRASH:
      range.start = config_.crash.size > 0 && config_.crash.start > 0 ? config_.crash.start : 0;
      range.size = range.start != 0 ? config_.crash.size : 0;
      break;
    case KEXEC_RANGE_MA_CPU:
      if (range.nr < 0 || static_cast<unsigned>(range.nr) >= config_.cpus) {
        rc = -ERANGE;
      } else if (config_.crash.size == 0) {
        rc = -EINVAL;  // kexec_init allocates no crash_notes without a crash area
      } else {
        range.start = config_.notes_base + static_cast<uint64_t>(range.nr) * kCpuNotesStride;
        range.size = kCpuNotesSize + (range.nr == 0 ? kCpu0InfoNoteSize : 0);
      }
      break;
    case KEXEC_RANGE_MA_VMCOREINFO:
      range.start = config_.notes_base + static_cast<uint64_t>(config_.cpus) * kCpuNotesStride;
      range.start = (range.start + kPageSize - 1) & ~(kPageSize - 1);
      range.size = kVmcoreinfoBytes;
      break;
    case KEXEC_RANGE_MA_XEN:  // x86 machine_kexec_get
      range.start = config_.xen.start;
      range.size = config_.xen.size;
      break;
    default:
      rc = -EINVAL;
      break;
  }
  if (rc == 0 && copy_to_guest(guest, arg, &range, sizeof range) != 0) rc = -EFAULT;
  return rc;
}

// kimage_alloc's checks (crash range, page alignment, overlap, buf_size <= dest_size) in
// Xen's order, then kimage_load_segments (the copies), then machine_kexec_load's arch check.
int Kexec::CheckAndCopySegments(uint8_t type, uint64_t entry, std::vector<RawSegment>& segments,
                                const GuestMemory* guest, Image& image) {
  if (type != KEXEC_TYPE_DEFAULT && type != KEXEC_TYPE_CRASH) return -EINVAL;
  const uint64_t crash_end = config_.crash.start + config_.crash.size;
  if (type == KEXEC_TYPE_CRASH) {
    if (entry < config_.crash.start || entry > crash_end) return -EADDRNOTAVAIL;
    for (const RawSegment& s : segments) {
      if (s.guest_buf == 0 && s.owned == nullptr) continue;  // guest_handle_is_null
      if (s.dest_maddr < config_.crash.start || s.dest_maddr + s.dest_size > crash_end) {
        return -EADDRNOTAVAIL;
      }
    }
  }
  for (const RawSegment& s : segments) {
    if ((s.dest_maddr % kPageSize) != 0 || ((s.dest_maddr + s.dest_size) % kPageSize) != 0) {
      return -EADDRNOTAVAIL;
    }
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    const uint64_t mstart = segments[i].dest_maddr;
    const uint64_t mend = mstart + segments[i].dest_size;
    for (size_t j = 0; j < i; ++j) {
      const uint64_t pstart = segments[j].dest_maddr;
      const uint64_t pend = pstart + segments[j].dest_size;
      if (mend > pstart && mstart < pend) return -EINVAL;
    }
  }
  uint64_t total = 0;
  for (const RawSegment& s : segments) {
    if (s.buf_size > s.dest_size) return -EINVAL;
    total += s.buf_size;
  }
  // Model: Xen allocates domheap pages one by one and fails with -ENOMEM when they run out.
  uint64_t ram = 0;
  for (const E820Entry& e : config_.e820) {
    if (e.type == static_cast<uint32_t>(E820Type::Ram)) ram += e.size;
  }
  if (total > ram) return -ENOMEM;

  image.type = type;
  image.entry_maddr = entry;
  image.segments.clear();
  for (RawSegment& s : segments) {
    Image::Segment seg{s.dest_maddr, s.dest_size, {}, {}};
    if (s.owned != nullptr) {
      seg.buf = std::move(*s.owned);
    } else if (s.guest_buf != 0) {
      seg.buf.assign(static_cast<size_t>(s.buf_size), 0);
      if (copy_from_guest(*guest, seg.buf.data(), s.guest_buf, seg.buf.size()) != 0) return -EFAULT;
    }
    Sha256(provider_, seg.buf.data(), seg.buf.size(), seg.sha256);
    image.segments.push_back(std::move(seg));
  }
  if (image.arch != KEXEC_EM_386 && image.arch != KEXEC_EM_X86_64) return -EINVAL;
  return 0;
}

long Kexec::Load(uint64_t arg, const GuestMemory& guest) {
  xen_kexec_load_t load;
  if (copy_from_guest(guest, &load, arg, sizeof load) != 0) return -EFAULT;
  if (load.nr_segments >= KEXEC_SEGMENT_MAX) return -EINVAL;
  std::vector<xen_kexec_segment_t> guest_segments(load.nr_segments);
  if (load.nr_segments != 0 &&
      copy_from_guest(guest, guest_segments.data(), load.segments,
                      load.nr_segments * sizeof(xen_kexec_segment_t)) != 0) {
    return -EFAULT;
  }
  std::vector<RawSegment> segments;
  for (const xen_kexec_segment_t& s : guest_segments) {
    segments.push_back({s.buf, nullptr, s.buf_size, s.dest_maddr, s.dest_size});
  }
  auto image = std::make_unique<Image>();
  image->arch = load.arch;
  const int rc = CheckAndCopySegments(load.type, load.entry_maddr, segments, &guest, *image);
  if (rc != 0) return rc;
  const uint8_t type = load.type;
  const int swapped = SwapImages(type, std::move(image));
  if (swapped != 0) return swapped;
  Log(Format("(XEN) kexec: KEXEC_CMD_kexec_load: %s image, %u segments, entry %#" PRIx64
             " (unverified)", TypeName(type), load.nr_segments, load.entry_maddr));
  LoadEvent event{};
  event.type = type;
  event.op = KEXEC_CMD_kexec_load;
  event.verdict = KernelVerdict::None;
  std::lock_guard<std::mutex> guard(log_lock_);
  event.sequence = next_sequence_++;
  events_.push_back(event);
  return 0;
}

// kexec_do_load_v1: destinations from a first walk of the guest's indirection pages, source
// pages copied on a second walk (Xen notes the guest may change the pages in between).
long Kexec::LoadV1(uint64_t arg, const GuestMemory& guest) {
  xen_kexec_load_v1_t load;
  if (copy_from_guest(guest, &load, arg, sizeof load) != 0) return -EFAULT;
  // Model: the walk is bounded by the machine's page count (Xen would follow a loop forever).
  uint64_t budget = 0;
  for (const E820Entry& e : config_.e820) budget += e.size / kPageSize;

  std::vector<RawSegment> segments;
  uint64_t page = load.image.indirection_page & ~(kPageSize - 1);
  for (uint64_t index = 0;; ++index) {
    if (budget-- == 0) return -EINVAL;
    uint64_t entry = 0;
    if (copy_from_guest(guest, &entry, page + index * 8, 8) != 0) return -EFAULT;
    const uint64_t addr = entry & ~(kPageSize - 1);
    switch (entry & 0xf) {
      case KEXEC_IND_DESTINATION:
        if (segments.empty() || segments.back().dest_maddr + segments.back().dest_size != addr) {
          if (segments.size() + 1 > KEXEC_SEGMENT_MAX) return -EINVAL;
          segments.push_back({0, nullptr, 0, addr, 0});
        }
        continue;
      case KEXEC_IND_INDIRECTION:
        page = addr;
        index = static_cast<uint64_t>(-1);
        continue;
      case KEXEC_IND_DONE:
        break;
      case KEXEC_IND_SOURCE:
        if (segments.empty()) return -EINVAL;
        segments.back().dest_size += kPageSize;
        continue;
      default:
        return -EINVAL;
    }
    break;
  }
  auto image = std::make_unique<Image>();
  image->arch = KEXEC_EM_X86_64;  // kexec_load_v1_arch: a 64-bit dom0
  int rc = CheckAndCopySegments(static_cast<uint8_t>(load.type), load.image.start_address, segments,
                                &guest, *image);
  // kimage_alloc switches on the int type: a value that only truncates to 0/1 is still invalid.
  if (rc == 0 && load.type != KEXEC_TYPE_DEFAULT && load.type != KEXEC_TYPE_CRASH) rc = -EINVAL;
  if (rc != 0) return rc;
  for (Image::Segment& s : image->segments) s.buf.assign(static_cast<size_t>(s.dest_size), 0);

  // kimage_build_ind: the second walk copies each source page to its destination.
  page = load.image.indirection_page & ~(kPageSize - 1);
  uint64_t dest = 0;
  for (uint64_t index = 0;; ++index) {
    if (budget-- == 0) return -EINVAL;
    uint64_t entry = 0;
    if (copy_from_guest(guest, &entry, page + index * 8, 8) != 0) return -EFAULT;
    const uint64_t addr = entry & ~(kPageSize - 1);
    const uint64_t ind = entry & 0xf;
    if (ind == KEXEC_IND_DONE) break;
    if (ind == KEXEC_IND_DESTINATION) {
      dest = addr;
    } else if (ind == KEXEC_IND_INDIRECTION) {
      page = addr;
      index = static_cast<uint64_t>(-1);
    } else if (ind == KEXEC_IND_SOURCE) {
      Image::Segment* target = nullptr;
      for (Image::Segment& s : image->segments) {
        if (dest >= s.dest_maddr && dest + kPageSize <= s.dest_maddr + s.dest_size) target = &s;
      }
      // Model: a page the first walk did not see (the guest changed the list) is refused.
      if (target == nullptr) return -EINVAL;
      if (copy_from_guest(guest, target->buf.data() + (dest - target->dest_maddr), addr, kPageSize) != 0) {
        return -EFAULT;
      }
      dest += kPageSize;
    } else {
      return -EINVAL;
    }
  }
  for (Image::Segment& s : image->segments) Sha256(provider_, s.buf.data(), s.buf.size(), s.sha256);
  const uint8_t type = static_cast<uint8_t>(load.type);
  const size_t count = image->segments.size();
  rc = SwapImages(type, std::move(image));
  if (rc != 0) return rc;
  Log(Format("(XEN) kexec: KEXEC_CMD_kexec_load_v1: %s image, %zu segments, entry %#" PRIx64
             " (unverified)", TypeName(type), count, load.image.start_address));
  LoadEvent event{};
  event.type = type;
  event.op = KEXEC_CMD_kexec_load_v1;
  std::lock_guard<std::mutex> guard(log_lock_);
  event.sequence = next_sequence_++;
  events_.push_back(event);
  return 0;
}

long Kexec::Unload(uint64_t arg, const GuestMemory& guest, bool v1) {
  uint8_t type = 0;
  if (v1) {
    xen_kexec_load_v1_t load;
    if (copy_from_guest(guest, &load, arg, sizeof load) != 0) return -EFAULT;
    type = static_cast<uint8_t>(load.type);  // xen_kexec_unload_t.type is a uint8_t
  } else {
    xen_kexec_unload_t unload;
    if (copy_from_guest(guest, &unload, arg, sizeof unload) != 0) return -EFAULT;
    type = unload.type;
  }
  const int rc = SwapImages(type, nullptr);
  if (rc == 0) Log(Format("(XEN) kexec: %s: %s image unloaded", v1 ? "KEXEC_CMD_kexec_unload_v1" : "KEXEC_CMD_kexec_unload", TypeName(type)));
  return rc;
}

long Kexec::Status(uint64_t arg, const GuestMemory& guest) {
  xen_kexec_status_t status;
  if (copy_from_guest(guest, &status, arg, sizeof status) != 0) return -EFAULT;
  unsigned base = 0;
  unsigned long bit = 0;
  if (!GetBits(status.type, base, bit)) return -EINVAL;
  const unsigned long flags = flags_.load(std::memory_order_relaxed);
  // 4.17 returns !!test_bit(bit): the position bit, wrong after an even number of swaps.
  if (config_.xen417_status_quirk) return (flags & bit) ? 1 : 0;
  const unsigned slot = base + ((flags & bit) ? 1 : 0);
  return (flags & (1ul << slot)) ? 1 : 0;
}

long Kexec::FileLoad(uint64_t arg, const GuestMemory& guest) {
  xen_kexec_file_load_t args;
  if (copy_from_guest(guest, &args, arg, sizeof args) != 0) return -EFAULT;

  xen_kexec_file_load_t out{};
  out.magic = XEN_KEXEC_FILE_MAGIC;
  out.mode = static_cast<uint8_t>(mode_);
  out.keyring = XEN_KEXEC_FILE_KEYRING_NONE;
  std::unique_ptr<Image> image;
  LoadEvent event{};
  long rc = PrepareFileLoad(args, guest, out, image, event);
  if (rc == 0 && (flags_.load(std::memory_order_relaxed) & kFlagInProgress)) rc = -EBUSY;

  // Only the OUT part goes back: the IN fields are the caller's, and may have changed since.
  const size_t out_offset = offsetof(xen_kexec_file_load_t, magic);
  if (copy_to_guest(guest, arg + out_offset, reinterpret_cast<const uint8_t*>(&out) + out_offset,
                    sizeof out - out_offset) != 0) {
    Log("(XEN) kexec: file_load: cannot write the result (-EFAULT); nothing loaded");
    return -EFAULT;
  }
  if (rc != 0) {
    Log(Format("(XEN) kexec: file_load: %s image refused: %s", TypeName(args.type), ErrnoName(rc)));
    return rc;
  }
  if (args.flags & KEXEC_FILE_UNLOAD) {
    SwapImages(args.type, nullptr);
    Log(Format("(XEN) kexec: file_load: %s image unloaded", TypeName(args.type)));
    return 0;
  }
  const uint64_t entry = image->entry_maddr;
  const uint64_t boot_params = image->boot_params_maddr;
  const size_t count = image->segments.size();
  std::lock_guard<std::mutex> guard(log_lock_);
  event.sequence = next_sequence_++;
  image->sequence = event.sequence;
  SwapImages(args.type, std::move(image));  // cannot fail: type checked, not in progress
  events_.push_back(event);
  console_.push_back(Format("(XEN) kexec: file_load: %s image loaded (load #%u): %zu segments, entry %#" PRIx64
                            " boot_params %#" PRIx64 ", verdict %s",
                            TypeName(args.type), event.sequence, count, entry, boot_params,
                            KernelVerdictName(event.verdict)));
  return 0;
}

// Everything before the commit: reads guest memory and decides, changes nothing.
long Kexec::PrepareFileLoad(const xen_kexec_file_load_t& args, const GuestMemory& guest,
                            xen_kexec_file_load_t& out, std::unique_ptr<Image>& image,
                            LoadEvent& event) {
  const xen_kexec_file_buffer_t* buffers[] = {&args.kernel, &args.initrd, &args.cmdline, &args.initrd_sig};
  for (const xen_kexec_file_buffer_t* b : buffers) {
    if (b->size != 0 && !guest_range_ok(guest, b->h, b->size)) return -EFAULT;
  }
  if (args.type != KEXEC_TYPE_DEFAULT && args.type != KEXEC_TYPE_CRASH) return -EINVAL;
  if (args.flags & ~KEXEC_FILE_FLAGS_MASK) return -EINVAL;
  if (!AllZero(args._pad0, sizeof args._pad0)) return -EINVAL;
  if (args.flags & KEXEC_FILE_UNLOAD) return 0;  // as Linux: the buffers are ignored
  if (args.kernel.size == 0) return -EINVAL;
  const bool no_initramfs = (args.flags & KEXEC_FILE_NO_INITRAMFS) != 0;
  if (no_initramfs != (args.initrd.size == 0)) return -EINVAL;
  if (no_initramfs && args.initrd_sig.size != 0) return -EINVAL;
  const FileLoadLimits& limits = config_.limits;
  if (args.kernel.size > limits.max_kernel || args.initrd.size > limits.max_initrd ||
      args.cmdline.size > limits.max_cmdline || args.initrd_sig.size > limits.max_initrd_sig) {
    return -E2BIG;
  }

  // The only reads of the buffers: everything below uses these copies (TOCTOU).
  std::vector<uint8_t> kernel, initrd, cmdline, initrd_sig;
  if (CopyBuffer(guest, args.kernel, kernel) != 0) return -EFAULT;
  if (CopyBuffer(guest, args.initrd, initrd) != 0) return -EFAULT;
  if (CopyBuffer(guest, args.cmdline, cmdline) != 0) return -EFAULT;
  if (CopyBuffer(guest, args.initrd_sig, initrd_sig) != 0) return -EFAULT;
  if (!cmdline.empty() && cmdline.back() != 0) return -EINVAL;

  Log(Format("(XEN) kexec: file_load: %s image: kernel %zu bytes, initrd %zu bytes, cmdline %zu bytes",
             TypeName(args.type), kernel.size(), initrd.size(), cmdline.size()));

  event.type = args.type;
  event.op = KEXEC_CMD_kexec_file_load;
  Sha256(provider_, kernel.data(), kernel.size(), event.kernel_file_sha256);
  Sha256(provider_, initrd.data(), initrd.size(), event.initrd_sha256);
  Sha256(provider_, cmdline.data(), cmdline.size(), event.cmdline_sha256);

  const policy::Purpose purpose =
      args.type == KEXEC_TYPE_CRASH ? policy::Purpose::KexecCrash : policy::Purpose::Kexec;
  KernelCheck check;
  KernelCheck initrd_check;
  if (mode_ != policy::Mode::Off) {
    PagedCopy paged{&kernel};
    const ImageSource source{kernel.size(), PagedCopy::View, &paged};
    check = VerifyKernel(provider_, *keyrings_, purpose, mode_, source);
    out.verdict = static_cast<uint16_t>(check.verdict);
    out.reason = static_cast<uint16_t>(check.reason);
    if (check.has_digest) std::memcpy(out.kernel_sha256, check.sha256, 32);
    if (check.has_keyring) out.keyring = static_cast<uint8_t>(check.keyring);
    if (check.signer.present) {
      std::memcpy(out.signer_subject_sha256, check.signer.subject_sha256, 32);
      out.signer_serial_len = check.signer.serial_length;
      std::memcpy(out.signer_serial, check.signer.serial, check.signer.serial_length);
    }
    const std::string what = Format("(XEN) kexec: file_load: kernel %s: %s (purpose %s", 
                                    check.has_digest ? Hex(check.sha256, 32).c_str() : "(no digest)",
                                    KernelVerdictName(check.verdict), policy::PurposeName(purpose));
    if (check.verdict == KernelVerdict::Rejected) {
      Log(what + Format(", %s at offset %" PRIu64 " -> %s)%s", ResultName(check.reason),
                        check.reason_offset, ErrnoName(check.error),
                        check.accepted ? "; mode log: loading anyway" : ""));
    } else {
      Log(what + Format(", keyring %s, signer subject %s)",
                        check.has_keyring ? keyring::KeyringName(check.keyring) : "-",
                        check.signer.present ? Hex(check.signer.subject_sha256, 8).c_str() : "-"));
    }
    initrd_check = CheckInitrd(purpose, initrd, initrd_sig);
    // Both checks run; the errno earliest in the documented order decides (docs/abi.md).
    const bool initrd_decides = ErrnoRank(initrd_check.error) < ErrnoRank(check.error);
    const KernelCheck& decisive = initrd_decides ? initrd_check : check;
    if (initrd_decides) {
      out.verdict = static_cast<uint16_t>(initrd_check.verdict);
      out.reason = static_cast<uint16_t>(initrd_check.reason);
    }
    if (decisive.error != 0 && !decisive.accepted) return decisive.error;
  } else {
    Log(Format("(XEN) kexec: file_load: mode off: kernel%s not verified",
               initrd_sig.empty() ? "" : " and initrd signature"));
  }

  // The loader's environment: the machine as Xen knows it.
  BootEnvironment env;
  env.secure_boot = config_.secure_boot;
  env.efi = config_.efi;
  env.acpi_rsdp_addr = config_.acpi_rsdp;
  env.allow_above_4g = config_.allow_above_4g;
  if (args.type == KEXEC_TYPE_CRASH) {
    if (config_.crash.size == 0) return -EADDRNOTAVAIL;
    for (unsigned cpu = 0; cpu < config_.cpus; ++cpu) {
      env.crash_env.cpu_notes.push_back({config_.notes_base + cpu * kCpuNotesStride,
                                         kCpuNotesSize + (cpu == 0 ? kCpu0InfoNoteSize : 0)});
    }
    uint64_t vmcoreinfo = config_.notes_base + static_cast<uint64_t>(config_.cpus) * kCpuNotesStride;
    vmcoreinfo = (vmcoreinfo + kPageSize - 1) & ~(kPageSize - 1);
    env.crash_env.vmcoreinfo = {vmcoreinfo, kVmcoreinfoBytes};
  }
  PlaceInMachine(config_.e820, config_.crash, args.type == KEXEC_TYPE_CRASH, env);
  LoaderInput input;
  input.kernel = std::span<const uint8_t>(kernel.data(), kernel.size());
  input.initrd = std::span<const uint8_t>(initrd.data(), initrd.size());
  input.cmdline = std::span<const uint8_t>(cmdline.data(), cmdline.size());
  LoaderResult loaded = LoadBzImage(input, env);
  if (loaded.error != 0) {
    Log(Format("(XEN) kexec: file_load: bzImage loader: %s (%s)", loaded.reason.c_str(), ErrnoName(-loaded.error)));
    return -loaded.error;
  }

  std::vector<RawSegment> segments;
  for (Segment& s : loaded.image.segments) {
    segments.push_back({0, &s.buf, s.buf.size(), s.dest_maddr, s.dest_size});
  }
  if (segments.size() >= KEXEC_SEGMENT_MAX) return -E2BIG;
  image = std::make_unique<Image>();
  image->arch = kLoaderArchX86_64;
  const int rc = CheckAndCopySegments(args.type, loaded.image.entry_maddr, segments, nullptr, *image);
  if (rc != 0) {
    Log(Format("(XEN) kexec: file_load: loader segments break a load rule (%s)", ErrnoName(rc)));
    return rc;
  }
  image->file_loaded = true;
  image->boot_params_maddr = loaded.image.boot_params_maddr;
  if (check.has_digest) std::memcpy(image->kernel_sha256, check.sha256, 32);

  event.verdict = check.verdict;
  if (check.has_digest) std::memcpy(event.kernel_sha256, check.sha256, 32);
  event.signer = check.signer;
  event.anchor = check.anchor;
  event.has_keyring = check.has_keyring;
  event.keyring = check.keyring;
  event.initrd_verdict = initrd_check.verdict;
  if (initrd_check.verdict != KernelVerdict::Rejected) event.initrd_signer = initrd_check.signer;
  return 0;
}

// The initrd's detached signature, when given; when required and absent, the rejection
// ENODATA. Logs the decision; verdict None when there is nothing to check.
KernelCheck Kexec::CheckInitrd(policy::Purpose purpose, const std::vector<uint8_t>& initrd,
                               const std::vector<uint8_t>& signature) {
  KernelCheck check;
  if (signature.empty()) {
    if (!config_.require_initrd_signature || initrd.empty()) return check;
    check.verdict = KernelVerdict::Rejected;
    check.reason = Result::ImageNotSigned;
    check.error = -ENODATA;
    check.accepted = mode_ != policy::Mode::Enforce;
    Log(Format("(XEN) kexec: file_load: initrd: rejected (policy requires a signature, none given"
               " -> -ENODATA)%s", check.accepted ? "; mode log: loading anyway" : ""));
    return check;
  }
  PagedCopy paged{&initrd};
  const ImageSource source{initrd.size(), PagedCopy::View, &paged};
  check = VerifyInitrd(provider_, *keyrings_, purpose, mode_, source,
                       Input(signature.data(), signature.size()));
  if (check.verdict == KernelVerdict::Rejected) {
    Log(Format("(XEN) kexec: file_load: initrd: rejected (%s at signature offset %" PRIu64
               " -> %s)%s", ResultName(check.reason), check.reason_offset, ErrnoName(check.error),
               check.accepted ? "; mode log: loading anyway" : ""));
  } else {
    Log(Format("(XEN) kexec: file_load: initrd: %s (keyring %s, signer subject %s)",
               KernelVerdictName(check.verdict),
               check.has_keyring ? keyring::KeyringName(check.keyring) : "-",
               check.signer.present ? Hex(check.signer.subject_sha256, 8).c_str() : "-"));
  }
  return check;
}

}  // namespace hvsig::hv
