// bzImage loader for KEXEC_CMD_kexec_file_load: turns a verified x86-64 bzImage, an initrd and
// a command line into kexec segments, the way Linux's arch/x86/kernel/kexec-bzimage64.c does
// for its own kexec_file_load (boot protocol: Documentation/arch/x86/boot.rst).
//
// The file-load op calls this after it has copied the guest buffers into hypervisor-owned
// memory and verified the kernel. The loader only reads its inputs and returns owned segment
// buffers; it keeps no state, so a failure leaves nothing behind.
//
// Every segment obeys Xen's load rules (xen/common/kexec.c): at most 15 segments, dest_maddr and
// dest_size page-aligned, no two segments overlapping, buf.size() <= dest_size (Xen zero-fills
// the tail). For crash images every segment and the entry lie inside the crash range.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace hvsig::hv {

inline constexpr uint64_t kLoaderPageSize = 4096;
inline constexpr std::size_t kLoaderMaxSegments = 15;  // Xen: nr_segments >= 16 is -EINVAL
inline constexpr uint16_t kLoaderArchX86_64 = 62;      // EM_X86_64, for xen_kexec_load_t.arch

// E820 types as the boot protocol numbers them (boot_params.e820_table[].type).
enum class E820Type : uint32_t {
  Ram = 1,
  Reserved = 2,
  Acpi = 3,       // ACPI reclaimable
  Nvs = 4,        // ACPI NVS
  Unusable = 5,
  Pmem = 7,
};

struct E820Entry {
  uint64_t start = 0;
  uint64_t size = 0;
  uint32_t type = 0;  // an E820Type value; other values are passed through unchanged
};

struct MemoryRange {
  uint64_t start = 0;
  uint64_t size = 0;
};

// The EFI state the next kernel needs to keep using EFI runtime services (boot_params.efi_info
// and a SETUP_EFI setup_data entry, as Linux's kexec_file fills them).
struct EfiEnvironment {
  bool present = false;                  // false: efi_info stays zero, no SETUP_EFI
  uint64_t system_table = 0;             // efi_info.efi_systab{,_hi}
  std::vector<uint8_t> memory_map;       // raw EFI memory descriptors, copied into boot_params' segment
  uint32_t descriptor_size = 0;          // efi_info.efi_memdesc_size (must divide memory_map.size())
  uint32_t descriptor_version = 0;       // efi_info.efi_memdesc_version
  // struct efi_setup_data (arch/x86/include/asm/efi.h) carried by SETUP_EFI.
  uint64_t fw_vendor = 0;
  uint64_t config_tables = 0;
  uint64_t smbios = 0;
};

// What a crash (kdump) kernel needs to find the crashed system (ELF core header contents).
struct CrashEnvironment {
  std::vector<MemoryRange> cpu_notes;          // per-CPU crash notes, index = CPU number (one PT_NOTE each)
  MemoryRange vmcoreinfo;                      // one PT_NOTE; size 0 = none
  std::vector<MemoryRange> ram_outside_crash;  // one PT_LOAD each (System RAM minus the crash region)
};

struct BootEnvironment {
  std::vector<E820Entry> e820;  // the machine's map; at most 128 entries reach boot_params
  // Where segments may go. Default images: intersected with e820 RAM. Crash images: the crash
  // range (reserved at boot, so it is RAM for the crash kernel whatever e820 calls it).
  MemoryRange window;
  bool secure_boot = false;     // -> boot_params.secure_boot (efi_secureboot_mode: 3 = enabled, 2 = disabled)
  EfiEnvironment efi;
  uint64_t acpi_rsdp_addr = 0;  // -> boot_params.acpi_rsdp_addr (0 = let the kernel search)
  bool allow_above_4g = false;  // may segments (initrd included) be placed at or above 4 GiB
  bool crash = false;           // KEXEC_TYPE_CRASH: use crash_env, window = crash range
  CrashEnvironment crash_env;
};

struct LoaderInput {
  std::span<const uint8_t> kernel;
  std::span<const uint8_t> initrd;   // empty = no initrd (ramdisk fields stay zero)
  std::span<const uint8_t> cmdline;  // empty, or ending in NUL; content stops at the first NUL
};

enum class SegmentKind : uint8_t {
  Kernel,       // protected-mode kernel; dest_size covers init_size
  Initrd,
  BootParams,   // zero page, followed by the EFI memory map and setup_data when EFI is present
  Cmdline,      // final command line, NUL-terminated
  ElfCoreHdr,   // crash images only
};

struct Segment {
  SegmentKind kind = SegmentKind::Kernel;
  std::vector<uint8_t> buf;  // buf.size() <= dest_size
  uint64_t dest_maddr = 0;   // page-aligned
  uint64_t dest_size = 0;    // page-aligned
};

struct LoadedBzImage {
  std::vector<Segment> segments;  // ascending dest_maddr, non-overlapping
  uint64_t entry_maddr = 0;       // 64-bit entry: kernel load address + 0x200
  uint64_t boot_params_maddr = 0; // passed in %rsi at the 64-bit entry
  uint64_t kernel_maddr = 0;
  uint64_t initrd_maddr = 0;      // 0 when there is no initrd
  uint64_t cmdline_maddr = 0;
  uint64_t elfcorehdr_maddr = 0;  // crash images only
  uint64_t elfcorehdr_size = 0;
  std::string cmdline;            // the command line handed to the kernel (without the NUL)
};

struct LoaderResult {
  // 0 on success, else a positive errno:
  //   ELIBBAD  malformed or unsupported bzImage (probe failure, header inconsistent with the file)
  //   E2BIG    the command line (with what a crash load appends) exceeds the kernel's cmdline_size,
  //            a segment is larger than the whole window, or a crash header would need 0xffff or
  //            more program headers
  //   ENOMEM   the segments do not fit in the free RAM of the window
  //   EINVAL   inconsistent environment (cmdline without NUL, empty or wrapping window, EFI
  //            memory map empty or not a multiple of its descriptor size, more than 128 e820
  //            entries, a crash RAM range that wraps or overlaps the crash region)
  int error = 0;
  std::string reason;  // names the failed check; empty on success
  LoadedBzImage image;
};

// Linux's bzImage64_probe() checks (plus the length checks they imply), without loading.
LoaderResult ProbeBzImage(std::span<const uint8_t> kernel);

// Probes, then builds all segments. Pure: reads only its arguments.
LoaderResult LoadBzImage(const LoaderInput& input, const BootEnvironment& env);

}  // namespace hvsig::hv
