#include "hv/bzimage_loader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "hv/elf_core.h"

namespace hvsig::hv {
namespace {

// Offsets into the file's first sectors, which are also offsets into struct boot_params
// (Documentation/arch/x86/boot.rst, zero-page.rst): the setup header sits at 0x1f1 in both.
constexpr std::size_t kSetupSectsAt = 0x1f1;
constexpr std::size_t kBootFlagAt = 0x1fe;
constexpr std::size_t kJumpOffsetAt = 0x201;  // second byte of the jump: setup header end - 0x202
constexpr std::size_t kHeaderMagicAt = 0x202;
constexpr std::size_t kVersionAt = 0x206;
constexpr std::size_t kTypeOfLoaderAt = 0x210;
constexpr std::size_t kLoadFlagsAt = 0x211;
constexpr std::size_t kRamdiskImageAt = 0x218;
constexpr std::size_t kRamdiskSizeAt = 0x21c;
constexpr std::size_t kCmdLinePtrAt = 0x228;
constexpr std::size_t kInitrdAddrMaxAt = 0x22c;
constexpr std::size_t kKernelAlignmentAt = 0x230;
constexpr std::size_t kRelocatableKernelAt = 0x234;
constexpr std::size_t kXLoadFlagsAt = 0x236;
constexpr std::size_t kCmdlineSizeAt = 0x238;
constexpr std::size_t kSetupDataAt = 0x250;
constexpr std::size_t kPrefAddressAt = 0x258;
constexpr std::size_t kInitSizeAt = 0x260;
constexpr std::size_t kSetupHeaderLimit = 0x290;  // boot_params reserves [0x1f1, 0x290) for it

// boot_params fields outside the setup header.
constexpr std::size_t kExtMemKAt = 0x002;  // screen_info.ext_mem_k
constexpr std::size_t kAcpiRsdpAddrAt = 0x070;
constexpr std::size_t kExtRamdiskImageAt = 0x0c0;
constexpr std::size_t kExtRamdiskSizeAt = 0x0c4;
constexpr std::size_t kExtCmdLinePtrAt = 0x0c8;
constexpr std::size_t kEfiInfoAt = 0x1c0;
constexpr std::size_t kAltMemKAt = 0x1e0;
constexpr std::size_t kE820EntriesAt = 0x1e8;
constexpr std::size_t kSecureBootAt = 0x1ec;
constexpr std::size_t kE820TableAt = 0x2d0;
constexpr std::size_t kE820EntrySize = 20;
constexpr std::size_t kE820MaxEntries = 128;  // E820_MAX_ENTRIES_ZEROPAGE
constexpr std::size_t kBootParamsSize = 4096;

constexpr uint8_t kLoadedHigh = 0x01;
constexpr uint16_t kXlfKernel64 = 0x01;
constexpr uint16_t kXlfCanBeLoadedAbove4G = 0x02;
constexpr uint16_t kMinProtocol = 0x020c;
// boot.rst assigns 0xD to kexec-tools; Linux's own kexec_file uses the same ID.
constexpr uint8_t kKexecLoaderType = 0xd0;
// Linux's enum efi_secureboot_mode: unset 0, unknown 1, disabled 2, enabled 3.
constexpr uint8_t kSecureBootDisabled = 2;
constexpr uint8_t kSecureBootEnabled = 3;
constexpr uint32_t kEfiLoaderSignature64 = 0x34364c45;  // "EL64": a 64-bit EFI firmware
constexpr uint32_t kSetupEfi = 4;
constexpr std::size_t kSetupDataHeaderSize = 16;  // struct setup_data: next, type, len
constexpr std::size_t kEfiSetupDataSize = 96;     // struct efi_setup_data
constexpr uint64_t kEntry64Offset = 0x200;

// Lowest addresses Linux's bzImage64 loader uses (kexec-bzimage64.c, inherited from kexec-tools).
constexpr uint64_t kMinBootParamAddr = 0x3000;
constexpr uint64_t kMinKernelLoadAddr = 0x100000;
constexpr uint64_t kMinInitrdLoadAddr = 0x1000000;
constexpr uint64_t kFourGiB = uint64_t{1} << 32;
constexpr uint64_t kLowMemoryEnd = 0x100000;  // the crash kernel's real-mode memory (see below)
constexpr uint64_t kMemmapMinRamK = 100;     // kexec-tools skips RAM ranges under 100 KiB

using Bytes = std::vector<uint8_t>;

uint64_t Le(std::span<const uint8_t> bytes, std::size_t at, unsigned width) {
  uint64_t value = 0;
  for (unsigned i = width; i-- > 0;) value = (value << 8) | bytes[at + i];
  return value;
}

void PutLe(Bytes& bytes, std::size_t at, uint64_t value, unsigned width) {
  for (unsigned i = 0; i < width; ++i) bytes[at + i] = static_cast<uint8_t>(value >> (8 * i));
}

uint64_t AlignUp(uint64_t value, uint64_t align) { return (value + align - 1) & ~(align - 1); }
uint64_t AlignDown(uint64_t value, uint64_t align) { return value & ~(align - 1); }
uint64_t PageAlign(uint64_t value) { return AlignUp(value, kLoaderPageSize); }

LoaderResult Fail(int error, std::string reason) {
  LoaderResult result;
  result.error = error;
  result.reason = std::move(reason);
  return result;
}

// A free memory range [start, end).
struct Span {
  uint64_t start;
  uint64_t end;
};

// The setup header fields the loader acts on, read from the kernel file.
struct KernelHeader {
  std::size_t setup_size = 0;   // real-mode part: (setup_sects + 1) * 512
  std::size_t header_end = 0;   // 0x202 + byte at 0x201
  uint32_t initrd_addr_max = 0;
  uint64_t kernel_alignment = 0;
  bool relocatable = false;
  uint32_t cmdline_size = 0;
  uint64_t pref_address = 0;
  uint32_t init_size = 0;
};

std::optional<LoaderResult> Probe(std::span<const uint8_t> kernel) {
  // Two sectors hold the boot sector and the setup header this loader reads.
  if (kernel.size() < 1024) return Fail(ELIBBAD, "bzImage: shorter than 1024 bytes");
  if (std::memcmp(kernel.data() + kHeaderMagicAt, "HdrS", 4) != 0)
    return Fail(ELIBBAD, "bzImage: no \"HdrS\" setup header magic at 0x202");
  if (Le(kernel, kBootFlagAt, 2) != 0xaa55)
    return Fail(ELIBBAD, "bzImage: boot_flag at 0x1fe is not 0xAA55");
  // 2.12 adds xloadflags; without them nothing says the kernel has a 64-bit entry.
  if (Le(kernel, kVersionAt, 2) < kMinProtocol)
    return Fail(ELIBBAD, "bzImage: boot protocol older than 2.12");
  if ((kernel[kLoadFlagsAt] & kLoadedHigh) == 0)
    return Fail(ELIBBAD, "bzImage: LOADED_HIGH not set (a zImage)");
  const uint64_t xloadflags = Le(kernel, kXLoadFlagsAt, 2);
  if ((xloadflags & kXlfKernel64) == 0)
    return Fail(ELIBBAD, "bzImage: XLF_KERNEL_64 not set (no 64-bit entry)");
  if ((xloadflags & kXlfCanBeLoadedAbove4G) == 0)
    return Fail(ELIBBAD, "bzImage: XLF_CAN_BE_LOADED_ABOVE_4G not set");
  return std::nullopt;
}

std::optional<LoaderResult> ReadKernelHeader(std::span<const uint8_t> kernel, KernelHeader& h) {
  const uint8_t setup_sects = kernel[kSetupSectsAt];
  // boot.rst: a setup_sects of 0 means 4, for compatibility with old kernels.
  h.setup_size = (std::size_t{setup_sects == 0 ? 4u : setup_sects} + 1) * 512;
  if (kernel.size() <= h.setup_size)
    return Fail(ELIBBAD, "bzImage: truncated (no protected-mode kernel after setup_sects)");
  h.header_end = kHeaderMagicAt + kernel[kJumpOffsetAt];
  if (h.header_end > kSetupHeaderLimit)
    return Fail(ELIBBAD, "bzImage: setup header extends past boot_params' 0x290");
  h.initrd_addr_max = static_cast<uint32_t>(Le(kernel, kInitrdAddrMaxAt, 4));
  h.kernel_alignment = Le(kernel, kKernelAlignmentAt, 4);
  if (h.kernel_alignment == 0 || (h.kernel_alignment & (h.kernel_alignment - 1)) != 0)
    return Fail(ELIBBAD, "bzImage: kernel_alignment is not a power of two");
  h.relocatable = kernel[kRelocatableKernelAt] != 0;
  h.cmdline_size = static_cast<uint32_t>(Le(kernel, kCmdlineSizeAt, 4));
  h.pref_address = Le(kernel, kPrefAddressAt, 8);
  h.init_size = static_cast<uint32_t>(Le(kernel, kInitSizeAt, 4));
  // init_size is the memory the kernel needs from its load address on, payload included.
  if (h.init_size < kernel.size() - h.setup_size)
    return Fail(ELIBBAD, "bzImage: init_size smaller than the protected-mode kernel");
  return std::nullopt;
}

std::optional<LoaderResult> CheckEnvironment(const LoaderInput& input, const BootEnvironment& env) {
  if (!input.cmdline.empty() && input.cmdline.back() != 0)
    return Fail(EINVAL, "cmdline is not NUL-terminated");
  if (env.window.size == 0 || env.window.start + env.window.size < env.window.start)
    return Fail(EINVAL, "placement window is empty or wraps");
  if (env.e820.size() > kE820MaxEntries)
    return Fail(EINVAL, "more e820 entries than boot_params holds (128)");
  for (const E820Entry& entry : env.e820)
    if (entry.start + entry.size < entry.start) return Fail(EINVAL, "e820 entry wraps");
  if (env.efi.present) {
    if (env.efi.memory_map.empty() || env.efi.descriptor_size == 0 ||
        env.efi.memory_map.size() % env.efi.descriptor_size != 0)
      return Fail(EINVAL, "EFI memory map empty or not a multiple of its descriptor size");
    if (env.efi.memory_map.size() > UINT32_MAX)
      return Fail(EINVAL, "EFI memory map larger than efi_memmap_size can say");
  }
  if (env.crash) {
    const uint64_t crash_end = env.window.start + env.window.size;
    for (const MemoryRange& ram : env.crash_env.ram_outside_crash) {
      if (ram.start + ram.size < ram.start) return Fail(EINVAL, "crash RAM range wraps");
      if (ram.start < crash_end && env.window.start < ram.start + ram.size)
        return Fail(EINVAL, "crash RAM range overlaps the crash region");
    }
    const std::size_t phnum = env.crash_env.cpu_notes.size() + 1 +
                              env.crash_env.ram_outside_crash.size();
    if (phnum >= 0xffff) return Fail(E2BIG, "too many ELF core program headers");
  }
  return std::nullopt;
}

// First-fit placement over free page ranges; every placed segment is carved out, so later
// segments cannot overlap it.
class Placer {
 public:
  explicit Placer(std::vector<Span> free) : free_(std::move(free)) {}

  bool Contains(uint64_t start, uint64_t size) const {
    return std::any_of(free_.begin(), free_.end(), [&](const Span& s) {
      return start >= s.start && start <= s.end && size <= s.end - start;
    });
  }

  std::optional<uint64_t> Find(uint64_t size, uint64_t align, uint64_t min, uint64_t limit,
                               bool top_down) const {
    std::optional<uint64_t> found;
    for (const Span& s : free_) {
      const uint64_t lo = AlignUp(std::max(s.start, min), align);
      const uint64_t hi = std::min(s.end, limit);
      if (lo < std::max(s.start, min) || lo > hi || hi - lo < size) continue;
      const uint64_t at = top_down ? AlignDown(hi - size, align) : lo;
      if (!found || (top_down ? at > *found : at < *found)) found = at;
    }
    return found;
  }

  void Take(uint64_t start, uint64_t size) {
    std::vector<Span> rest;
    for (const Span& s : free_) {
      if (start + size <= s.start || s.end <= start) {
        rest.push_back(s);
        continue;
      }
      if (s.start < start) rest.push_back({s.start, start});
      if (start + size < s.end) rest.push_back({start + size, s.end});
    }
    free_ = std::move(rest);
  }

  const std::vector<Span>& free() const { return free_; }

 private:
  std::vector<Span> free_;
};

// Default images may use the e820 RAM inside the window; the crash range is memory the crash
// kernel owns, whatever type the firmware map gives it.
std::vector<Span> FreeMemory(const BootEnvironment& env) {
  const Span window{PageAlign(env.window.start),
                    AlignDown(env.window.start + env.window.size, kLoaderPageSize)};
  if (window.start >= window.end) return {};
  if (env.crash) return {window};
  std::vector<Span> ram;
  for (const E820Entry& e : env.e820) {
    if (e.type != static_cast<uint32_t>(E820Type::Ram)) continue;
    const uint64_t start = std::max(PageAlign(e.start), window.start);
    const uint64_t end = std::min(AlignDown(e.start + e.size, kLoaderPageSize), window.end);
    if (start < end) ram.push_back({start, end});
  }
  std::sort(ram.begin(), ram.end(), [](const Span& a, const Span& b) { return a.start < b.start; });
  // Adjacent RAM entries form one range, so a segment may straddle their boundary.
  std::vector<Span> merged;
  for (const Span& s : ram) {
    if (!merged.empty() && s.start <= merged.back().end)
      merged.back().end = std::max(merged.back().end, s.end);
    else
      merged.push_back(s);
  }
  Placer placer(std::move(merged));
  // A firmware map may list a reserved range inside a RAM range; the reservation wins.
  for (const E820Entry& e : env.e820) {
    if (e.type == static_cast<uint32_t>(E820Type::Ram) || e.size == 0) continue;
    const uint64_t start = AlignDown(e.start, kLoaderPageSize);
    placer.Take(start, PageAlign(e.start + e.size) - start);
  }
  return placer.free();
}

struct Placement {
  uint64_t size;      // page-aligned dest_size
  uint64_t align;
  uint64_t min;
  uint64_t limit;     // end of the allowed range (exclusive)
  bool top_down;
  const char* what;
};

std::optional<LoaderResult> Place(Placer& placer, const BootEnvironment& env,
                                  const Placement& p, uint64_t& at) {
  if (p.size > env.window.size)
    return Fail(E2BIG, std::string(p.what) + " is larger than the placement window");
  const std::optional<uint64_t> found = placer.Find(p.size, p.align, p.min, p.limit, p.top_down);
  if (!found) return Fail(ENOMEM, std::string("no free memory in the window for the ") + p.what);
  at = *found;
  placer.Take(at, p.size);
  return std::nullopt;
}

bool IsCrashVisibleType(uint32_t type) {
  return type == static_cast<uint32_t>(E820Type::Reserved) ||
         type == static_cast<uint32_t>(E820Type::Acpi) ||
         type == static_cast<uint32_t>(E820Type::Nvs) ||
         type == static_cast<uint32_t>(E820Type::Pmem);
}

// The memory map a crash kernel boots with, as Linux's crash_setup_memmap_entries() builds it:
// the RAM below 1 MiB (an x86 kernel needs real-mode memory for its AP trampoline), the crash
// range minus the ELF core header (so the crash kernel cannot overwrite it), and the reserved,
// ACPI, NVS and persistent-memory ranges so they stay mapped and untouched. No other RAM: it
// holds the dump.
std::vector<E820Entry> CrashE820(const BootEnvironment& env, uint64_t elfcorehdr,
                                 uint64_t elfcorehdr_size) {
  std::vector<E820Entry> map;
  const uint32_t ram = static_cast<uint32_t>(E820Type::Ram);
  for (const E820Entry& e : env.e820) {
    if (e.type == ram && e.start < kLowMemoryEnd)
      map.push_back({e.start, std::min(e.start + e.size, kLowMemoryEnd) - e.start, ram});
    else if (IsCrashVisibleType(e.type))
      map.push_back(e);
  }
  const uint64_t crash_end = env.window.start + env.window.size;
  if (elfcorehdr > env.window.start) map.push_back({env.window.start, elfcorehdr - env.window.start, ram});
  if (elfcorehdr + elfcorehdr_size < crash_end)
    map.push_back({elfcorehdr + elfcorehdr_size, crash_end - elfcorehdr - elfcorehdr_size, ram});
  std::sort(map.begin(), map.end(),
            [](const E820Entry& a, const E820Entry& b) { return a.start < b.start; });
  return map;
}

// kexec-tools (crashdump-x86.c) appends " elfcorehdr=<addr/1024>K" and, with
// --pass-memmap-cmdline, " memmap=exactmap" plus " memmap=<size>K@<start>K" per RAM range
// (skipping ranges under 100 KiB) and " memmap=<size>K#<start>K" per ACPI/NVS range, sizes
// rounded outwards for ACPI. Reserved ranges are not listed: exactmap leaves them unused.
std::string CrashCmdlineSuffix(const std::vector<E820Entry>& map, uint64_t elfcorehdr) {
  std::string suffix = " elfcorehdr=" + std::to_string(elfcorehdr / 1024) + "K";
  suffix += " memmap=exactmap";
  for (const E820Entry& e : map) {
    const uint64_t start_k = e.start / 1024;
    if (e.type == static_cast<uint32_t>(E820Type::Ram)) {
      const uint64_t end_k = (e.start + e.size) / 1024;
      if (end_k - start_k < kMemmapMinRamK) continue;
      suffix += " memmap=" + std::to_string(end_k - start_k) + "K@" + std::to_string(start_k) + "K";
    } else if (e.type == static_cast<uint32_t>(E820Type::Acpi) ||
               e.type == static_cast<uint32_t>(E820Type::Nvs)) {
      const uint64_t end_k = AlignUp(e.start + e.size, 1024) / 1024;
      suffix += " memmap=" + std::to_string(end_k - start_k) + "K#" + std::to_string(start_k) + "K";
    }
  }
  return suffix;
}

struct BootParamsLayout {
  std::size_t efi_map_offset = 0;
  std::size_t setup_data_offset = 0;
  std::size_t size = kBootParamsSize;
};

BootParamsLayout LayOutBootParams(const BootEnvironment& env) {
  BootParamsLayout layout;
  if (!env.efi.present) return layout;
  layout.efi_map_offset = kBootParamsSize;
  layout.setup_data_offset = layout.efi_map_offset + AlignUp(env.efi.memory_map.size(), 16);
  layout.size = layout.setup_data_offset + kSetupDataHeaderSize + kEfiSetupDataSize;
  return layout;
}

void FillE820(Bytes& params, const std::vector<E820Entry>& map) {
  params[kE820EntriesAt] = static_cast<uint8_t>(map.size());
  for (std::size_t i = 0; i < map.size(); ++i) {
    const std::size_t at = kE820TableAt + i * kE820EntrySize;
    PutLe(params, at, map[i].start, 8);
    PutLe(params, at + 8, map[i].size, 8);
    PutLe(params, at + 16, map[i].type, 4);
  }
  // Linux fills the legacy memory-size fields from the RAM entry that spans 1 MiB.
  for (const E820Entry& e : map) {
    if (e.type != static_cast<uint32_t>(E820Type::Ram) || e.size == 0) continue;
    const uint64_t last = e.start + e.size - 1;
    if (e.start > kLowMemoryEnd || last <= kLowMemoryEnd) continue;
    const uint64_t mem_k = (last >> 10) - (kLowMemoryEnd >> 10);
    PutLe(params, kExtMemKAt, std::min<uint64_t>(mem_k, 0xfc00), 2);
    PutLe(params, kAltMemKAt, std::min<uint64_t>(mem_k, UINT32_MAX), 4);
  }
}

void FillEfi(Bytes& params, const BootEnvironment& env, const BootParamsLayout& layout,
             uint64_t params_addr) {
  const EfiEnvironment& efi = env.efi;
  const uint64_t memmap = params_addr + layout.efi_map_offset;
  PutLe(params, kEfiInfoAt + 0x00, kEfiLoaderSignature64, 4);
  PutLe(params, kEfiInfoAt + 0x04, efi.system_table & 0xffffffff, 4);
  PutLe(params, kEfiInfoAt + 0x08, efi.descriptor_size, 4);
  PutLe(params, kEfiInfoAt + 0x0c, efi.descriptor_version, 4);
  PutLe(params, kEfiInfoAt + 0x10, memmap & 0xffffffff, 4);
  PutLe(params, kEfiInfoAt + 0x14, efi.memory_map.size(), 4);
  PutLe(params, kEfiInfoAt + 0x18, efi.system_table >> 32, 4);
  PutLe(params, kEfiInfoAt + 0x1c, memmap >> 32, 4);
  std::copy(efi.memory_map.begin(), efi.memory_map.end(), params.begin() + layout.efi_map_offset);

  const std::size_t sd = layout.setup_data_offset;
  PutLe(params, sd + 0, 0, 8);  // next: the only entry (a kernel file's own setup_data is not trusted)
  PutLe(params, sd + 8, kSetupEfi, 4);
  PutLe(params, sd + 12, kEfiSetupDataSize, 4);
  PutLe(params, sd + kSetupDataHeaderSize + 0, efi.fw_vendor, 8);
  PutLe(params, sd + kSetupDataHeaderSize + 16, efi.config_tables, 8);
  PutLe(params, sd + kSetupDataHeaderSize + 24, efi.smbios, 8);
  PutLe(params, kSetupDataAt, params_addr + sd, 8);
}

}  // namespace

LoaderResult ProbeBzImage(std::span<const uint8_t> kernel) {
  if (std::optional<LoaderResult> failure = Probe(kernel)) return std::move(*failure);
  return {};
}

LoaderResult LoadBzImage(const LoaderInput& input, const BootEnvironment& env) {
  if (std::optional<LoaderResult> failure = Probe(input.kernel)) return std::move(*failure);
  KernelHeader header;
  if (std::optional<LoaderResult> failure = ReadKernelHeader(input.kernel, header))
    return std::move(*failure);
  if (std::optional<LoaderResult> failure = CheckEnvironment(input, env)) return std::move(*failure);

  const uint64_t limit = env.allow_above_4g ? UINT64_MAX : kFourGiB;
  Placer placer(FreeMemory(env));
  LoadedBzImage image;

  // Kernel: at pref_address when that memory is free, else the lowest kernel_alignment-aligned
  // address; a non-relocatable kernel only runs at pref_address.
  const std::span<const uint8_t> payload = input.kernel.subspan(header.setup_size);
  const uint64_t kernel_size = PageAlign(header.init_size);
  const uint64_t kernel_align = std::max(header.kernel_alignment, kLoaderPageSize);
  const uint64_t pref = header.pref_address;
  if (pref >= kMinKernelLoadAddr && pref % kernel_align == 0 && pref <= limit &&
      kernel_size <= limit - pref && placer.Contains(pref, kernel_size)) {
    image.kernel_maddr = pref;
    placer.Take(pref, kernel_size);
  } else if (!header.relocatable) {
    return Fail(ENOMEM, "kernel is not relocatable and its pref_address is not free in the window");
  } else if (std::optional<LoaderResult> failure =
                 Place(placer, env,
                       {kernel_size, kernel_align, kMinKernelLoadAddr, limit, false, "kernel"},
                       image.kernel_maddr)) {
    return std::move(*failure);
  }
  image.entry_maddr = image.kernel_maddr + kEntry64Offset;
  image.segments.push_back({SegmentKind::Kernel, Bytes(payload.begin(), payload.end()),
                            image.kernel_maddr, kernel_size});

  // Initrd: high, like Linux; initrd_addr_max applies unless loading above 4 GiB is allowed
  // (the probe required XLF_CAN_BE_LOADED_ABOVE_4G).
  if (!input.initrd.empty()) {
    const uint64_t initrd_limit =
        env.allow_above_4g ? UINT64_MAX : std::min<uint64_t>(limit, uint64_t{header.initrd_addr_max} + 1);
    if (std::optional<LoaderResult> failure =
            Place(placer, env,
                  {PageAlign(input.initrd.size()), kLoaderPageSize, kMinInitrdLoadAddr,
                   initrd_limit, true, "initrd"},
                  image.initrd_maddr))
      return std::move(*failure);
    image.segments.push_back({SegmentKind::Initrd, Bytes(input.initrd.begin(), input.initrd.end()),
                              image.initrd_maddr, PageAlign(input.initrd.size())});
  }

  std::vector<E820Entry> e820 = env.e820;
  std::string cmdline(reinterpret_cast<const char*>(input.cmdline.data()),
                      std::find(input.cmdline.begin(), input.cmdline.end(), 0) - input.cmdline.begin());
  if (env.crash) {
    Bytes header_bytes = BuildElfCoreHeader(env.crash_env);
    image.elfcorehdr_size = header_bytes.size();
    const uint64_t size = PageAlign(header_bytes.size());
    if (std::optional<LoaderResult> failure =
            Place(placer, env, {size, kLoaderPageSize, 0, limit, true, "ELF core header"},
                  image.elfcorehdr_maddr))
      return std::move(*failure);
    image.segments.push_back(
        {SegmentKind::ElfCoreHdr, std::move(header_bytes), image.elfcorehdr_maddr, size});
    e820 = CrashE820(env, image.elfcorehdr_maddr, size);
    if (e820.size() > kE820MaxEntries)
      return Fail(EINVAL, "crash memory map has more entries than boot_params holds (128)");
    cmdline += CrashCmdlineSuffix(e820, image.elfcorehdr_maddr);
  }
  // cmdline_size excludes the terminating NUL (boot.rst).
  if (cmdline.size() > header.cmdline_size)
    return Fail(E2BIG, "command line longer than the kernel's cmdline_size");

  const BootParamsLayout layout = LayOutBootParams(env);
  if (std::optional<LoaderResult> failure =
          Place(placer, env,
                {PageAlign(layout.size), kLoaderPageSize, kMinBootParamAddr, limit, true, "boot_params"},
                image.boot_params_maddr))
    return std::move(*failure);
  if (std::optional<LoaderResult> failure =
          Place(placer, env,
                {PageAlign(cmdline.size() + 1), kLoaderPageSize, kMinBootParamAddr, limit, true,
                 "command line"},
                image.cmdline_maddr))
    return std::move(*failure);

  Bytes params(layout.size, 0);
  std::copy(input.kernel.begin() + kSetupSectsAt, input.kernel.begin() + header.header_end,
            params.begin() + kSetupSectsAt);
  params[kTypeOfLoaderAt] = kKexecLoaderType;
  params[kLoadFlagsAt] = 0;  // as Linux's kexec_file: no heap, no KEEP_SEGMENTS, not quiet
  PutLe(params, kSetupDataAt, 0, 8);
  PutLe(params, kRamdiskImageAt, image.initrd_maddr & 0xffffffff, 4);
  PutLe(params, kRamdiskSizeAt, input.initrd.size() & 0xffffffff, 4);
  PutLe(params, kExtRamdiskImageAt, image.initrd_maddr >> 32, 4);
  PutLe(params, kExtRamdiskSizeAt, uint64_t{input.initrd.size()} >> 32, 4);
  PutLe(params, kCmdLinePtrAt, image.cmdline_maddr & 0xffffffff, 4);
  PutLe(params, kExtCmdLinePtrAt, image.cmdline_maddr >> 32, 4);
  PutLe(params, kAcpiRsdpAddrAt, env.acpi_rsdp_addr, 8);
  params[kSecureBootAt] = env.secure_boot ? kSecureBootEnabled : kSecureBootDisabled;
  FillE820(params, e820);
  if (env.efi.present) FillEfi(params, env, layout, image.boot_params_maddr);
  image.segments.push_back({SegmentKind::BootParams, std::move(params), image.boot_params_maddr,
                            PageAlign(layout.size)});

  Bytes cmdline_bytes(cmdline.begin(), cmdline.end());
  cmdline_bytes.push_back(0);
  image.segments.push_back({SegmentKind::Cmdline, std::move(cmdline_bytes), image.cmdline_maddr,
                            PageAlign(cmdline.size() + 1)});
  image.cmdline = std::move(cmdline);

  std::sort(image.segments.begin(), image.segments.end(),
            [](const Segment& a, const Segment& b) { return a.dest_maddr < b.dest_maddr; });
  LoaderResult result;
  result.image = std::move(image);
  return result;
}

}  // namespace hvsig::hv
