// bzImage loader and ELF core header (src/hv/bzimage_loader.h): probes, segment layout under
// Xen's load rules, every zero-page field against the boot protocol (boot.rst, zero-page.rst)
// and the kernel's own setup header, crash images and `readelf -l` on their ELF core header.
// "*Debian*" tests load Debian's signed kernel (fixture authenticode_binaries); the others use
// a synthetic bzImage header built here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "authenticode_support.h"
#include "hv/bzimage_loader.h"

namespace hvsig::hv {
namespace {

using test::Bytes;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

uint64_t Le(const Bytes& b, uint64_t at, unsigned width) {
  uint64_t v = 0;
  for (unsigned i = width; i-- > 0;) v = (v << 8) | b.at(at + i);
  return v;
}
void Put(Bytes& b, uint64_t at, uint64_t v, unsigned width) {
  for (unsigned i = 0; i < width; ++i) b.at(at + i) = static_cast<uint8_t>(v >> (8 * i));
}

// The setup header fields as boot.rst places them, read here without the loader's code.
struct Hdr {
  uint64_t setup_size, header_end, kernel_alignment, pref_address, init_size, initrd_addr_max,
      cmdline_size;
  bool relocatable;
};
Hdr ReadHdr(const Bytes& k) {
  Hdr h;
  const uint64_t sects = k.at(0x1f1) == 0 ? 4 : k.at(0x1f1);
  h.setup_size = (sects + 1) * 512;
  h.header_end = 0x202 + k.at(0x201);
  h.initrd_addr_max = Le(k, 0x22c, 4);
  h.kernel_alignment = Le(k, 0x230, 4);
  h.relocatable = k.at(0x234) != 0;
  h.cmdline_size = Le(k, 0x238, 4);
  h.pref_address = Le(k, 0x258, 8);
  h.init_size = Le(k, 0x260, 4);
  return h;
}

// A bzImage with only the header a 64-bit loader reads: protocol 2.15, 4 setup sectors,
// relocatable, 2 MiB alignment, a 64 KiB "payload" and 4 MiB init_size.
Bytes SyntheticKernel() {
  Bytes k(5 * 512 + 64 * 1024, 0);
  for (std::size_t i = 5 * 512; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i * 7 + 3);
  k[0x1f1] = 4;
  Put(k, 0x1fe, 0xaa55, 2);
  k[0x200] = 0xeb;
  k[0x201] = 0x6a;
  std::copy_n("HdrS", 4, k.begin() + 0x202);
  Put(k, 0x206, 0x020f, 2);
  k[0x211] = 0x01;  // LOADED_HIGH
  Put(k, 0x22c, 0x7fffffff, 4);
  Put(k, 0x230, 0x200000, 4);
  k[0x234] = 1;
  Put(k, 0x236, 0x03, 2);  // XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
  Put(k, 0x238, 2047, 4);
  Put(k, 0x258, 0x1000000, 8);
  Put(k, 0x260, 4 * kMiB, 4);
  return k;
}

Bytes DebianKernel() {
  return test::ReadFile(std::string(HVSIG_TEST_CACHE) + "/authenticode/vmlinuz");
}

// A deterministic stand-in for an initramfs: the loader treats it as opaque bytes.
Bytes MakeInitrd(std::size_t size) {
  Bytes b(size);
  uint32_t x = 0x12345678;
  for (auto& c : b) {
    x = x * 1103515245 + 12345;
    c = static_cast<uint8_t>(x >> 16);
  }
  return b;
}

Bytes Cmdline(const std::string& s) {
  Bytes b(s.begin(), s.end());
  b.push_back(0);
  return b;
}

constexpr uint32_t kRam = 1, kReserved = 2, kAcpi = 3, kNvs = 4;

// A PC-like machine: 640 KiB low RAM, BIOS holes, RAM to ~2 GiB, ACPI tables, NVS, the
// IOAPIC/LAPIC window, and 2 GiB above 4 GiB.
std::vector<E820Entry> MachineE820() {
  return {{0x0, 0x9fc00, kRam},
          {0x9fc00, 0x400, kReserved},
          {0xf0000, 0x10000, kReserved},
          {0x100000, 0x7fe00000 - 0x100000, kRam},
          {0x7fe00000, 0x100000, kAcpi},
          {0x7ff00000, 0x100000, kNvs},
          {0xfec00000, 0x1400000, kReserved},
          {4 * kGiB, 2 * kGiB, kRam}};
}

BootEnvironment DefaultEnv() {
  BootEnvironment env;
  env.e820 = MachineE820();
  env.window = {0, 6 * kGiB};
  env.acpi_rsdp_addr = 0x7fe00014;
  return env;
}

void AddEfi(BootEnvironment& env) {
  env.efi.present = true;
  env.efi.system_table = 0x1'7ff3'f018;  // above 4 GiB so efi_systab_hi is exercised
  env.efi.descriptor_size = 48;
  env.efi.descriptor_version = 1;
  env.efi.memory_map = MakeInitrd(48 * 5);
  env.efi.fw_vendor = 0x7ff3f100;
  env.efi.config_tables = 0x7ff3f200;
  env.efi.smbios = 0x7ff3f300;
}

constexpr MemoryRange kCrashRange{512 * kMiB, 256 * kMiB};

// What the hypervisor passes for a crash load: per-CPU notes, vmcoreinfo, and the RAM of the
// machine map outside the crash region. A fragmented low memory adds a 4 KiB RAM entry, which
// kexec-tools leaves out of memmap= (under 100 KiB).
BootEnvironment CrashEnv(unsigned cpus, bool fragmented_low_memory = false) {
  BootEnvironment env = DefaultEnv();
  if (fragmented_low_memory) {
    env.e820[0] = {0x1000, 0x9ec00, kRam};
    env.e820.insert(env.e820.begin(), {{0x0, 0x1000, kRam}});
  }
  env.crash = true;
  env.window = kCrashRange;
  for (unsigned cpu = 0; cpu < cpus; ++cpu)
    env.crash_env.cpu_notes.push_back({0x7f000000 + cpu * 0x400, 0x3a8});
  env.crash_env.vmcoreinfo = {0x7f100000, 0x1000};
  const uint64_t crash_end = kCrashRange.start + kCrashRange.size;
  for (const E820Entry& e : env.e820) {
    if (e.type != kRam) continue;
    const uint64_t end = e.start + e.size;
    if (end <= kCrashRange.start || e.start >= crash_end) {
      env.crash_env.ram_outside_crash.push_back({e.start, e.size});
      continue;
    }
    if (e.start < kCrashRange.start)
      env.crash_env.ram_outside_crash.push_back({e.start, kCrashRange.start - e.start});
    if (end > crash_end) env.crash_env.ram_outside_crash.push_back({crash_end, end - crash_end});
  }
  return env;
}

const Segment& Find(const LoadedBzImage& image, SegmentKind kind) {
  for (const Segment& s : image.segments)
    if (s.kind == kind) return s;
  throw std::runtime_error("segment missing");
}

bool InsideRam(const std::vector<E820Entry>& map, uint64_t start, uint64_t size) {
  for (const E820Entry& e : map)
    if (e.type == kRam && start >= e.start && start + size <= e.start + e.size) return true;
  return false;
}

// Xen's load rules (xen/common/kexec.c) plus the window: at most 15 segments, page-aligned
// destination and size, no overlap, buf <= dest, every segment in the window.
void ExpectXenSegmentRules(const LoadedBzImage& image, const MemoryRange& window) {
  ASSERT_LE(image.segments.size(), 15u);
  for (std::size_t i = 0; i < image.segments.size(); ++i) {
    const Segment& s = image.segments[i];
    EXPECT_EQ(s.dest_maddr % kPage, 0u) << i;
    EXPECT_EQ(s.dest_size % kPage, 0u) << i;
    EXPECT_GT(s.dest_size, 0u) << i;
    EXPECT_LE(s.buf.size(), s.dest_size) << i;
    EXPECT_GE(s.dest_maddr, window.start) << i;
    EXPECT_LE(s.dest_maddr + s.dest_size, window.start + window.size) << i;
    for (std::size_t j = i + 1; j < image.segments.size(); ++j) {
      const Segment& t = image.segments[j];
      EXPECT_TRUE(s.dest_maddr + s.dest_size <= t.dest_maddr || t.dest_maddr + t.dest_size <= s.dest_maddr)
          << i << " overlaps " << j;
    }
  }
}

// The boot_params fields a loader writes outside the setup header (zero-page.rst offsets).
const std::vector<std::pair<uint64_t, unsigned>> kWrittenFields = {
    {0x002, 2},   // screen_info.ext_mem_k
    {0x070, 8},   // acpi_rsdp_addr
    {0x0c0, 4},   // ext_ramdisk_image
    {0x0c4, 4},   // ext_ramdisk_size
    {0x0c8, 4},   // ext_cmd_line_ptr
    {0x1c0, 32},  // efi_info
    {0x1e0, 4},   // alt_mem_k
    {0x1e8, 1},   // e820_entries
    {0x1ec, 1},   // secure_boot
};

struct Loaded {
  LoaderResult result;
  Bytes kernel, initrd, cmdline;
  BootEnvironment env;
};

// Checks every zero-page byte: the setup header is the kernel's except the fields a loader
// writes, the other written fields hold what the environment and the placement say, and the
// rest of the page is zero.
void ExpectZeroPage(const Loaded& l, const std::vector<E820Entry>& expected_e820) {
  const LoadedBzImage& image = l.result.image;
  const Hdr h = ReadHdr(l.kernel);
  const Segment& bp = Find(image, SegmentKind::BootParams);
  ASSERT_EQ(bp.dest_maddr, image.boot_params_maddr);
  ASSERT_GE(bp.buf.size(), 4096u);
  const Bytes& p = bp.buf;

  // Setup header: copied for 0x202 + kernel[0x201] bytes; loader-written fields differ.
  const std::set<uint64_t> loader_fields = {0x210, 0x211, 0x218, 0x219, 0x21a, 0x21b, 0x21c,
                                            0x21d, 0x21e, 0x21f, 0x228, 0x229, 0x22a, 0x22b,
                                            0x250, 0x251, 0x252, 0x253, 0x254, 0x255, 0x256,
                                            0x257};
  for (uint64_t at = 0x1f1; at < h.header_end; ++at)
    if (!loader_fields.count(at)) {
      EXPECT_EQ(p[at], l.kernel[at]) << "setup header byte " << at;
    }
  for (uint64_t at = h.header_end; at < 0x290; ++at) EXPECT_EQ(p[at], 0) << at;
  EXPECT_EQ(p[0x210], 0xd0) << "type_of_loader: kexec (0xD)";
  EXPECT_EQ(p[0x211], 0) << "loadflags cleared like Linux's kexec_file";

  // Initrd (boot.rst: ramdisk_image/size + ext_ramdisk_* high halves).
  const uint64_t initrd_addr = Le(p, 0x218, 4) | (Le(p, 0x0c0, 4) << 32);
  const uint64_t initrd_size = Le(p, 0x21c, 4) | (Le(p, 0x0c4, 4) << 32);
  EXPECT_EQ(initrd_addr, image.initrd_maddr);
  EXPECT_EQ(initrd_size, l.initrd.size());
  if (!l.initrd.empty()) {
    const Segment& rd = Find(image, SegmentKind::Initrd);
    EXPECT_EQ(rd.dest_maddr, initrd_addr);
    EXPECT_EQ(rd.buf, l.initrd);
    if (!l.env.allow_above_4g) {
      EXPECT_LE(initrd_addr + initrd_size - 1, h.initrd_addr_max);
    }
  } else {
    EXPECT_EQ(initrd_addr, 0u);
  }

  // Command line: cmd_line_ptr + ext_cmd_line_ptr point at the NUL-terminated final cmdline.
  const uint64_t cmdline_addr = Le(p, 0x228, 4) | (Le(p, 0x0c8, 4) << 32);
  const Segment& cl = Find(image, SegmentKind::Cmdline);
  EXPECT_EQ(cl.dest_maddr, cmdline_addr);
  EXPECT_EQ(cmdline_addr, image.cmdline_maddr);
  ASSERT_FALSE(cl.buf.empty());
  EXPECT_EQ(cl.buf.back(), 0);
  EXPECT_EQ(std::string(cl.buf.begin(), cl.buf.end() - 1), image.cmdline);
  EXPECT_LE(image.cmdline.size(), h.cmdline_size);

  // E820 table.
  ASSERT_EQ(p[0x1e8], expected_e820.size());
  for (std::size_t i = 0; i < expected_e820.size(); ++i) {
    const uint64_t at = 0x2d0 + i * 20;
    EXPECT_EQ(Le(p, at, 8), expected_e820[i].start) << i;
    EXPECT_EQ(Le(p, at + 8, 8), expected_e820[i].size) << i;
    EXPECT_EQ(Le(p, at + 16, 4), expected_e820[i].type) << i;
  }
  for (uint64_t at = 0x2d0 + expected_e820.size() * 20; at < 0xcd0; ++at) EXPECT_EQ(p[at], 0) << at;

  // Legacy memory sizes: the RAM entry spanning 1 MiB, in KiB above 1 MiB (ext_mem_k capped at 64M).
  uint64_t mem_k = 0;
  for (const E820Entry& e : expected_e820)
    if (e.type == kRam && e.start <= kMiB && e.start + e.size - 1 > kMiB)
      mem_k = ((e.start + e.size - 1) >> 10) - (kMiB >> 10);
  EXPECT_EQ(Le(p, 0x002, 2), std::min<uint64_t>(mem_k, 0xfc00));
  EXPECT_EQ(Le(p, 0x1e0, 4), mem_k);

  EXPECT_EQ(Le(p, 0x070, 8), l.env.acpi_rsdp_addr);
  // include/linux/efi.h: enum efi_secureboot_mode { unset, unknown, disabled, enabled }.
  EXPECT_EQ(p[0x1ec], l.env.secure_boot ? 3 : 2) << "efi_secureboot_mode enabled/disabled";

  // EFI: efi_info and the SETUP_EFI setup_data chain.
  const uint64_t setup_data = Le(p, 0x250, 8);
  if (l.env.efi.present) {
    EXPECT_EQ(std::string(p.begin() + 0x1c0, p.begin() + 0x1c4), "EL64");
    EXPECT_EQ(Le(p, 0x1c4, 4) | (Le(p, 0x1d8, 4) << 32), l.env.efi.system_table);
    EXPECT_EQ(Le(p, 0x1c8, 4), l.env.efi.descriptor_size);
    EXPECT_EQ(Le(p, 0x1cc, 4), l.env.efi.descriptor_version);
    EXPECT_EQ(Le(p, 0x1d4, 4), l.env.efi.memory_map.size());
    const uint64_t memmap = Le(p, 0x1d0, 4) | (Le(p, 0x1dc, 4) << 32);
    ASSERT_GE(memmap, bp.dest_maddr + 4096);
    ASSERT_LE(memmap - bp.dest_maddr + l.env.efi.memory_map.size(), bp.buf.size());
    EXPECT_TRUE(std::equal(l.env.efi.memory_map.begin(), l.env.efi.memory_map.end(),
                           p.begin() + (memmap - bp.dest_maddr)));
    // Walk the chain: every entry inside the boot_params segment, exactly one SETUP_EFI.
    int efi_entries = 0, entries = 0;
    for (uint64_t sd = setup_data; sd != 0; ++entries) {
      ASSERT_LT(entries, 8);
      ASSERT_GE(sd, bp.dest_maddr + 4096);
      const uint64_t off = sd - bp.dest_maddr;
      ASSERT_LE(off + 16, p.size());
      const uint64_t type = Le(p, off + 8, 4), len = Le(p, off + 12, 4);
      ASSERT_LE(off + 16 + len, p.size());
      if (type == 4) {
        ++efi_entries;
        EXPECT_EQ(len, 96u) << "sizeof(struct efi_setup_data)";
        EXPECT_EQ(Le(p, off + 16, 8), l.env.efi.fw_vendor);
        EXPECT_EQ(Le(p, off + 24, 8), 0u);
        EXPECT_EQ(Le(p, off + 32, 8), l.env.efi.config_tables);
        EXPECT_EQ(Le(p, off + 40, 8), l.env.efi.smbios);
        for (uint64_t r = off + 48; r < off + 16 + len; ++r) EXPECT_EQ(p[r], 0);
      }
      sd = Le(p, off, 8);
    }
    EXPECT_EQ(efi_entries, 1);
  } else {
    for (uint64_t at = 0x1c0; at < 0x1e0; ++at) EXPECT_EQ(p[at], 0) << "efi_info " << at;
    EXPECT_EQ(setup_data, 0u);
    EXPECT_EQ(bp.buf.size(), 4096u);
  }

  // Everything else in the page is zero.
  for (uint64_t at = 0; at < 0x1f1; ++at) {
    bool written = false;
    for (const auto& [off, width] : kWrittenFields) written |= at >= off && at < off + width;
    if (!written) {
      EXPECT_EQ(p[at], 0) << "byte " << at;
    }
  }
  for (uint64_t at = 0xcd0; at < 4096; ++at) EXPECT_EQ(p[at], 0) << "byte " << at;
}

Loaded Load(Bytes kernel, Bytes initrd, const std::string& cmdline, BootEnvironment env) {
  Loaded l{{}, std::move(kernel), std::move(initrd), Cmdline(cmdline), std::move(env)};
  l.result = LoadBzImage({l.kernel, l.initrd, l.cmdline}, l.env);
  return l;
}

void ExpectKernelSegment(const Loaded& l) {
  const LoadedBzImage& image = l.result.image;
  const Hdr h = ReadHdr(l.kernel);
  const Segment& k = Find(image, SegmentKind::Kernel);
  EXPECT_EQ(k.dest_maddr, image.kernel_maddr);
  EXPECT_EQ(k.dest_maddr % h.kernel_alignment, 0u);
  EXPECT_GE(k.dest_size, h.init_size) << "init_size room from the load address";
  EXPECT_TRUE(std::equal(k.buf.begin(), k.buf.end(), l.kernel.begin() + h.setup_size));
  EXPECT_EQ(k.buf.size(), l.kernel.size() - h.setup_size);
  EXPECT_EQ(image.entry_maddr, k.dest_maddr + 0x200) << "64-bit entry";
}

// ---- probes ---------------------------------------------------------------------------------

TEST(HvLoaderProbe, SyntheticKernelPasses) {
  const Bytes k = SyntheticKernel();
  const LoaderResult r = ProbeBzImage(k);
  EXPECT_EQ(r.error, 0) << r.reason;
  EXPECT_TRUE(r.reason.empty());
}

TEST(HvLoaderProbe, EachProbeCheckHasItsOwnReason) {
  struct Case {
    const char* name;
    void (*mutate)(Bytes&);
  };
  const Case cases[] = {
      {"short", [](Bytes& k) { k.resize(1023); }},
      {"no HdrS", [](Bytes& k) { k[0x202] = 'h'; }},
      {"bad boot_flag", [](Bytes& k) { Put(k, 0x1fe, 0xaa56, 2); }},
      {"protocol 2.11", [](Bytes& k) { Put(k, 0x206, 0x020b, 2); }},
      {"no LOADED_HIGH", [](Bytes& k) { k[0x211] &= ~1; }},
      {"no XLF_KERNEL_64", [](Bytes& k) { Put(k, 0x236, 0x02, 2); }},
      {"no XLF_CAN_BE_LOADED_ABOVE_4G", [](Bytes& k) { Put(k, 0x236, 0x01, 2); }},
  };
  std::set<std::string> reasons;
  for (const Case& c : cases) {
    Bytes k = SyntheticKernel();
    c.mutate(k);
    const LoaderResult probe = ProbeBzImage(k);
    EXPECT_EQ(probe.error, ELIBBAD) << c.name;
    EXPECT_FALSE(probe.reason.empty()) << c.name;
    reasons.insert(probe.reason);
    const Bytes initrd = MakeInitrd(1000), cmdline = Cmdline("x");
    const LoaderResult load = LoadBzImage({k, initrd, cmdline}, DefaultEnv());
    EXPECT_EQ(load.error, ELIBBAD) << c.name;
    EXPECT_EQ(load.reason, probe.reason) << c.name;
    EXPECT_TRUE(load.image.segments.empty()) << c.name;
  }
  EXPECT_EQ(reasons.size(), std::size(cases)) << "reasons must be distinct";
  // Exactly 1024 bytes is long enough for the probe.
  Bytes k = SyntheticKernel();
  k.resize(1024);
  EXPECT_EQ(ProbeBzImage(k).error, 0);
}

TEST(HvLoaderProbe, ProtocolBoundaryAndSetupSectsZero) {
  Bytes k = SyntheticKernel();
  Put(k, 0x206, 0x020c, 2);
  EXPECT_EQ(ProbeBzImage(k).error, 0) << "2.12 is the minimum";
  // setup_sects 0 means 4: the payload starts at 5 * 512 either way.
  k[0x1f1] = 0;
  const Loaded l = Load(k, {}, "quiet", DefaultEnv());
  ASSERT_EQ(l.result.error, 0) << l.result.reason;
  ExpectKernelSegment(l);
}

TEST(HvLoaderProbe, LoadTimeHeaderChecksAreElibbad) {
  struct Case {
    const char* name;
    void (*mutate)(Bytes&);
  };
  const Case cases[] = {
      {"nothing after setup", [](Bytes& k) { k.resize(5 * 512); }},
      {"setup_sects past the end", [](Bytes& k) { k[0x1f1] = 200; }},
      {"setup header past 0x290", [](Bytes& k) { k[0x201] = 0x90; }},
      {"kernel_alignment 0", [](Bytes& k) { Put(k, 0x230, 0, 4); }},
      {"kernel_alignment not a power of two", [](Bytes& k) { Put(k, 0x230, 0x300000, 4); }},
      {"init_size below the payload", [](Bytes& k) { Put(k, 0x260, 4096, 4); }},
  };
  std::set<std::string> reasons;
  for (const Case& c : cases) {
    Bytes k = SyntheticKernel();
    c.mutate(k);
    EXPECT_EQ(ProbeBzImage(k).error, 0) << c.name << ": not a probe check";
    const Loaded l = Load(k, {}, "x", DefaultEnv());
    EXPECT_EQ(l.result.error, ELIBBAD) << c.name;
    reasons.insert(l.result.reason);
  }
  EXPECT_EQ(reasons.size(), 4u) << "the truncation and the kernel_alignment pairs share a check";
}

// ---- environment and size failures --------------------------------------------------------

TEST(HvLoaderLimits, BadInputsAreEinval) {
  const Bytes k = SyntheticKernel();
  const Bytes no_nul = {'a', 'b'};
  EXPECT_EQ(LoadBzImage({k, {}, no_nul}, DefaultEnv()).error, EINVAL);
  BootEnvironment env = DefaultEnv();
  env.window = {0, 0};
  EXPECT_EQ(Load(k, {}, "x", env).result.error, EINVAL);
  env = DefaultEnv();
  env.window = {UINT64_MAX - kPage, 2 * kPage};
  EXPECT_EQ(Load(k, {}, "x", env).result.error, EINVAL);
  env = DefaultEnv();
  AddEfi(env);
  env.efi.memory_map.pop_back();
  EXPECT_EQ(Load(k, {}, "x", env).result.error, EINVAL) << "memmap not a multiple of desc size";
  env = DefaultEnv();
  env.e820.assign(129, {0, kPage, kReserved});
  EXPECT_EQ(Load(k, {}, "x", env).result.error, EINVAL);
  env = CrashEnv(2);
  env.crash_env.ram_outside_crash.push_back({kCrashRange.start + kPage, kPage});
  EXPECT_EQ(Load(k, {}, "x", env).result.error, EINVAL) << "PT_LOAD inside the crash region";
  // An empty cmdline buffer is an empty command line.
  const LoaderResult empty = LoadBzImage({k, {}, {}}, DefaultEnv());
  ASSERT_EQ(empty.error, 0) << empty.reason;
  EXPECT_EQ(empty.image.cmdline, "");
}

TEST(HvLoaderLimits, CmdlineLongerThanCmdlineSizeIsE2big) {
  const Bytes k = SyntheticKernel();
  const uint64_t max = ReadHdr(k).cmdline_size;
  const Loaded fits = Load(k, {}, std::string(max, 'a'), DefaultEnv());
  EXPECT_EQ(fits.result.error, 0) << "cmdline_size excludes the NUL";
  EXPECT_EQ(Load(k, {}, std::string(max + 1, 'a'), DefaultEnv()).result.error, E2BIG);
  // A crash load appends elfcorehdr= and memmap=, which count too.
  EXPECT_EQ(Load(k, {}, std::string(max - 10, 'a'), CrashEnv(1)).result.error, E2BIG);
}

TEST(HvLoaderLimits, WindowTooSmall) {
  const Bytes k = SyntheticKernel();
  const uint64_t init = ReadHdr(k).init_size;
  BootEnvironment env = DefaultEnv();
  env.window = {16 * kMiB, init - kPage};
  const Loaded too_small = Load(k, {}, "x", env);
  EXPECT_EQ(too_small.result.error, E2BIG) << too_small.result.reason;
  // Every segment fits the window on its own, but not all of them together.
  env.window = {16 * kMiB, init + kPage};
  const Loaded crowded = Load(k, MakeInitrd(3 * kPage), "x", env);
  EXPECT_EQ(crowded.result.error, ENOMEM) << crowded.result.reason;
  EXPECT_TRUE(crowded.result.image.segments.empty());
  // No RAM in the window at all: it covers the IOAPIC/LAPIC reservation only.
  env.window = {0xfec00000, 0x1400000};
  EXPECT_EQ(Load(k, {}, "x", env).result.error, ENOMEM);
}

TEST(HvLoaderLimits, NonRelocatableKernelNeedsPrefAddress) {
  Bytes k = SyntheticKernel();
  k[0x234] = 0;
  BootEnvironment env = DefaultEnv();
  const Loaded ok = Load(k, {}, "x", env);
  ASSERT_EQ(ok.result.error, 0) << ok.result.reason;
  EXPECT_EQ(ok.result.image.kernel_maddr, ReadHdr(k).pref_address);
  env.window = {64 * kMiB, 64 * kMiB};
  EXPECT_EQ(Load(k, {}, "x", env).result.error, ENOMEM);
}

// ---- synthetic kernel: placement ---------------------------------------------------------

TEST(HvLoaderLayout, SyntheticDefaultBelow4G) {
  BootEnvironment env = DefaultEnv();
  const Loaded l = Load(SyntheticKernel(), MakeInitrd(300000), "console=ttyS0", env);
  ASSERT_EQ(l.result.error, 0) << l.result.reason;
  ExpectXenSegmentRules(l.result.image, env.window);
  ExpectKernelSegment(l);
  EXPECT_EQ(l.result.image.kernel_maddr, ReadHdr(l.kernel).pref_address) << "pref_address was free";
  for (const Segment& s : l.result.image.segments) {
    EXPECT_LE(s.dest_maddr + s.dest_size, 4 * kGiB);
    EXPECT_TRUE(InsideRam(env.e820, s.dest_maddr, s.dest_size));
  }
  EXPECT_EQ(l.result.image.segments.size(), 4u);
  ExpectZeroPage(l, env.e820);
}

TEST(HvLoaderLayout, AllowAbove4GUsesExtFields) {
  BootEnvironment env = DefaultEnv();
  env.allow_above_4g = true;
  const Loaded l = Load(SyntheticKernel(), MakeInitrd(300000), "console=ttyS0", env);
  ASSERT_EQ(l.result.error, 0) << l.result.reason;
  ExpectXenSegmentRules(l.result.image, env.window);
  const LoadedBzImage& image = l.result.image;
  EXPECT_GE(image.initrd_maddr, 4 * kGiB) << "initrd goes high";
  EXPECT_GE(image.cmdline_maddr, 4 * kGiB);
  EXPECT_GE(image.boot_params_maddr, 4 * kGiB);
  const Bytes& p = Find(image, SegmentKind::BootParams).buf;
  EXPECT_NE(Le(p, 0x0c0, 4), 0u);
  EXPECT_NE(Le(p, 0x0c8, 4), 0u);
  ExpectZeroPage(l, env.e820);
}

TEST(HvLoaderLayout, ReservedRangeInsideRamIsAvoided) {
  BootEnvironment env = DefaultEnv();
  // The firmware reports RAM over the kernel's pref_address but also a reservation there.
  env.e820.push_back({0x1000000, 0x10000, kReserved});
  const Loaded l = Load(SyntheticKernel(), {}, "x", env);
  ASSERT_EQ(l.result.error, 0) << l.result.reason;
  for (const Segment& s : l.result.image.segments)
    EXPECT_TRUE(s.dest_maddr >= 0x1010000 || s.dest_maddr + s.dest_size <= 0x1000000);
  EXPECT_NE(l.result.image.kernel_maddr, 0x1000000u);
  ExpectKernelSegment(l);
}

TEST(HvLoaderLayout, SecureBootAndEfi) {
  for (const bool secure : {false, true}) {
    for (const bool efi : {false, true}) {
      BootEnvironment env = DefaultEnv();
      env.secure_boot = secure;
      if (efi) AddEfi(env);
      const Loaded l = Load(SyntheticKernel(), MakeInitrd(5000), "ro", env);
      ASSERT_EQ(l.result.error, 0) << l.result.reason;
      ExpectXenSegmentRules(l.result.image, env.window);
      ExpectZeroPage(l, env.e820);
    }
  }
}

// ---- Debian kernel ------------------------------------------------------------------------

TEST(HvLoaderDebian, ProbeAndDefaultImage) {
  const Bytes kernel = DebianKernel();
  EXPECT_EQ(ProbeBzImage(kernel).error, 0) << ProbeBzImage(kernel).reason;
  const Hdr h = ReadHdr(kernel);
  EXPECT_GE(Le(kernel, 0x206, 2), 0x020cu);

  BootEnvironment env = DefaultEnv();
  env.secure_boot = true;
  AddEfi(env);
  const std::string cmdline = "root=/dev/vda1 ro console=ttyS0,115200 lockdown=integrity";
  const Loaded l = Load(kernel, MakeInitrd(3 * kMiB + 123), cmdline, env);
  ASSERT_EQ(l.result.error, 0) << l.result.reason;
  const LoadedBzImage& image = l.result.image;
  ExpectXenSegmentRules(image, env.window);
  ExpectKernelSegment(l);
  EXPECT_EQ(image.kernel_maddr, h.pref_address);
  EXPECT_EQ(image.cmdline, cmdline);
  EXPECT_EQ(image.segments.size(), 4u);
  for (const Segment& s : image.segments) {
    EXPECT_TRUE(InsideRam(env.e820, s.dest_maddr, s.dest_size));
    EXPECT_LE(s.dest_maddr + s.dest_size, 4 * kGiB);
  }
  EXPECT_GE(image.initrd_maddr, 16 * kMiB);
  ExpectZeroPage(l, env.e820);
  EXPECT_EQ(Find(image, SegmentKind::BootParams).buf[0x1ec], 3) << "efi_secureboot_mode_enabled: the next kernel stays locked down";
}

TEST(HvLoaderDebian, NoInitrdNoEfiSecureBootOff) {
  BootEnvironment env = DefaultEnv();
  const Loaded l = Load(DebianKernel(), {}, "", env);
  ASSERT_EQ(l.result.error, 0) << l.result.reason;
  ExpectXenSegmentRules(l.result.image, env.window);
  EXPECT_EQ(l.result.image.segments.size(), 3u);
  EXPECT_EQ(l.result.image.initrd_maddr, 0u);
  ExpectZeroPage(l, env.e820);
}

TEST(HvLoaderDebian, WindowTooSmallForInitSize) {
  const Bytes kernel = DebianKernel();
  BootEnvironment env = DefaultEnv();
  env.window = {16 * kMiB, 32 * kMiB};
  const Loaded l = Load(kernel, {}, "x", env);
  EXPECT_EQ(l.result.error, E2BIG) << l.result.reason;
  // Room for the kernel's init_size, none left for a large initrd (above 16 MiB).
  env.window = {16 * kMiB, ((ReadHdr(kernel).init_size + kPage - 1) & ~(kPage - 1)) + 8 * kMiB};
  EXPECT_EQ(Load(kernel, MakeInitrd(9 * kMiB), "x", env).result.error, ENOMEM);
}

// ---- crash images -------------------------------------------------------------------------

std::string Run(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed");
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int status = pclose(pipe);
  if (status != 0) throw std::runtime_error(command + " failed:\n" + out);
  return out;
}

// The crash kernel's memory map, derived here from the machine map: RAM below 1 MiB, the crash
// range minus the ELF header, and the reserved/ACPI/NVS ranges.
std::vector<E820Entry> ExpectedCrashE820(const BootEnvironment& env, const Segment& elfhdr) {
  std::vector<E820Entry> map;
  for (const E820Entry& e : env.e820) {
    if (e.type == kRam && e.start < kMiB)
      map.push_back({e.start, std::min(e.start + e.size, kMiB) - e.start, kRam});
    else if (e.type != kRam)
      map.push_back(e);
  }
  const uint64_t end = env.window.start + env.window.size;
  if (elfhdr.dest_maddr > env.window.start)
    map.push_back({env.window.start, elfhdr.dest_maddr - env.window.start, kRam});
  if (elfhdr.dest_maddr + elfhdr.dest_size < end)
    map.push_back({elfhdr.dest_maddr + elfhdr.dest_size, end - elfhdr.dest_maddr - elfhdr.dest_size, kRam});
  std::sort(map.begin(), map.end(), [](auto& a, auto& b) { return a.start < b.start; });
  return map;
}

void CheckCrashImage(const Loaded& l, const std::string& user_cmdline) {
  const LoadedBzImage& image = l.result.image;
  const BootEnvironment& env = l.env;
  ExpectXenSegmentRules(image, env.window);  // window == crash range: every segment inside it
  EXPECT_GE(image.entry_maddr, env.window.start);
  EXPECT_LT(image.entry_maddr, env.window.start + env.window.size);
  ExpectKernelSegment(l);
  EXPECT_EQ(image.segments.size(), l.initrd.empty() ? 4u : 5u);

  const Segment& elf = Find(image, SegmentKind::ElfCoreHdr);
  EXPECT_EQ(elf.dest_maddr, image.elfcorehdr_maddr);
  EXPECT_EQ(elf.buf.size(), image.elfcorehdr_size);

  // Command line: the user's, then kexec-tools' " elfcorehdr=<KiB>K" and the memmap= list.
  ASSERT_EQ(image.cmdline.rfind(user_cmdline, 0), 0u);
  const std::size_t key = image.cmdline.find(" elfcorehdr=");
  ASSERT_NE(key, std::string::npos) << image.cmdline;
  const std::size_t digits = key + 12;
  const std::size_t k_suffix = image.cmdline.find_first_not_of("0123456789", digits);
  ASSERT_NE(k_suffix, std::string::npos);
  ASSERT_GT(k_suffix, digits);
  ASSERT_EQ(image.cmdline[k_suffix], 'K');
  const std::string elfcorehdr_k = image.cmdline.substr(digits, k_suffix - digits);
  EXPECT_EQ(std::stoull(elfcorehdr_k) * 1024, elf.dest_maddr);
  const std::vector<E820Entry> crash_map = ExpectedCrashE820(env, elf);
  std::string memmap = " memmap=exactmap";
  for (const E820Entry& e : crash_map) {
    if (e.type == kRam && (e.start + e.size) / 1024 - e.start / 1024 >= 100)
      memmap += " memmap=" + std::to_string((e.start + e.size) / 1024 - e.start / 1024) + "K@" +
                std::to_string(e.start / 1024) + "K";
    if (e.type == kAcpi || e.type == kNvs)
      memmap += " memmap=" + std::to_string((e.start + e.size + 1023) / 1024 - e.start / 1024) +
                "K#" + std::to_string(e.start / 1024) + "K";
  }
  EXPECT_EQ(image.cmdline, user_cmdline + " elfcorehdr=" + elfcorehdr_k + "K" + memmap);
  ExpectZeroPage(l, crash_map);

  // readelf accepts the header and lists what the crash environment says.
  const std::string path = ::testing::TempDir() + "/hv_loader_elfcorehdr_" +
                           std::to_string(env.crash_env.cpu_notes.size()) + ".core";
  test::WriteFile(path, elf.buf);
  const std::string header = Run("readelf -h -W '" + path + "' 2>&1");
  EXPECT_NE(header.find("ELF64"), std::string::npos) << header;
  EXPECT_NE(header.find("CORE (Core file)"), std::string::npos) << header;
  EXPECT_NE(header.find("Advanced Micro Devices X86-64"), std::string::npos) << header;
  const std::string phdrs = Run("readelf -l -W '" + path + "' 2>&1");
  EXPECT_EQ(phdrs.find("Warning"), std::string::npos) << phdrs;
  EXPECT_EQ(phdrs.find("Error"), std::string::npos) << phdrs;
  std::vector<std::pair<uint64_t, uint64_t>> notes, loads;
  // readelf -l -W rows: Type Offset VirtAddr PhysAddr FileSiz MemSiz [Flg] Align.
  std::istringstream in(phdrs);
  for (std::string text; std::getline(in, text);) {
    std::istringstream row(text);
    std::vector<std::string> f;
    for (std::string word; row >> word;) f.push_back(word);
    if (f.empty() || (f[0] != "NOTE" && f[0] != "LOAD")) continue;
    ASSERT_GE(f.size(), 7u) << text;
    const uint64_t offset = std::stoull(f[1], nullptr, 16), paddr = std::stoull(f[3], nullptr, 16);
    const uint64_t filesz = std::stoull(f[4], nullptr, 16), memsz = std::stoull(f[5], nullptr, 16);
    EXPECT_EQ(offset, paddr) << text;
    EXPECT_EQ(filesz, memsz) << text;
    (f[0] == "NOTE" ? notes : loads).push_back({paddr, memsz});
    EXPECT_EQ(f.size() == 8 ? f[6] : "", f[0] == "LOAD" ? "RWE" : "") << text;
  }
  std::vector<std::pair<uint64_t, uint64_t>> expected_notes, expected_loads;
  for (const MemoryRange& n : env.crash_env.cpu_notes) expected_notes.push_back({n.start, n.size});
  expected_notes.push_back({env.crash_env.vmcoreinfo.start, env.crash_env.vmcoreinfo.size});
  for (const MemoryRange& r : env.crash_env.ram_outside_crash) expected_loads.push_back({r.start, r.size});
  EXPECT_EQ(notes, expected_notes) << phdrs;
  EXPECT_EQ(loads, expected_loads) << phdrs;
  EXPECT_NE(phdrs.find("There are " + std::to_string(expected_notes.size() + expected_loads.size()) +
                       " program headers"),
            std::string::npos)
      << phdrs;
  // No PT_LOAD reaches into the crash range: the crash kernel's own memory is not dumped.
  for (const auto& [start, size] : loads)
    EXPECT_TRUE(start + size <= env.window.start || start >= env.window.start + env.window.size);
  std::remove(path.c_str());
}

TEST(HvLoaderCrash, SyntheticCrashImage) {
  for (const unsigned cpus : {1u, 4u, 64u}) {
    BootEnvironment env = CrashEnv(cpus, cpus == 4);
    env.secure_boot = true;
    const Loaded l = Load(SyntheticKernel(), MakeInitrd(100000), "console=ttyS0 irqpoll", env);
    ASSERT_EQ(l.result.error, 0) << l.result.reason;
    CheckCrashImage(l, "console=ttyS0 irqpoll");
  }
}

TEST(HvLoaderCrash, CrashRangeTooSmall) {
  BootEnvironment env = CrashEnv(2);
  env.window = {kCrashRange.start, 2 * kMiB};
  env.crash_env.ram_outside_crash = {{0, 0x9fc00}};
  EXPECT_EQ(Load(SyntheticKernel(), {}, "x", env).result.error, E2BIG);
  env.window = {kCrashRange.start, 4 * kMiB};
  EXPECT_EQ(Load(SyntheticKernel(), {}, "x", env).result.error, ENOMEM)
      << "init_size fills the range; nothing left for the other segments";
}

TEST(HvLoaderDebian, CrashImage) {
  BootEnvironment env = CrashEnv(8);
  env.secure_boot = true;
  AddEfi(env);
  const Loaded l = Load(DebianKernel(), MakeInitrd(2 * kMiB), "root=/dev/vda1 irqpoll nr_cpus=1 reset_devices", env);
  ASSERT_EQ(l.result.error, 0) << l.result.reason;
  CheckCrashImage(l, "root=/dev/vda1 irqpoll nr_cpus=1 reset_devices");
  EXPECT_EQ(l.result.image.kernel_maddr % ReadHdr(l.kernel).kernel_alignment, 0u);
}

}  // namespace
}  // namespace hvsig::hv
