// The hv tests' simulated control domain: guest memory with fault injection and a hook after
// each copy (to change memory behind the hypervisor's back), a standard machine, and helpers
// that put ABI structs into guest memory and issue ops.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <map>
#include <vector>

#include "hv/kexec.h"
#include "hvsig/crypto_builtin.h"
#include "hvsig/xen/kexec_file.h"

namespace hvsig::hv::test {

using Bytes = std::vector<uint8_t>;

class SimGuest {
 public:
  // Allocations are page-aligned with an unmapped page between them, so overruns fault.
  uint64_t Alloc(uint64_t size) {
    const uint64_t addr = next_;
    regions_[addr] = Bytes(static_cast<size_t>(size), 0);
    next_ += ((size + 4095) / 4096 + 1) * 4096;
    return addr;
  }
  uint64_t Put(const Bytes& bytes) {
    const uint64_t addr = Alloc(bytes.size());
    if (!bytes.empty()) std::memcpy(Data(addr), bytes.data(), bytes.size());
    return addr;
  }
  template <typename T>
  uint64_t PutStruct(const T& value) {
    const uint64_t addr = Alloc(sizeof value);
    std::memcpy(Data(addr), &value, sizeof value);
    return addr;
  }
  template <typename T>
  T Get(uint64_t addr) {
    T value;
    std::memcpy(&value, Data(addr), sizeof value);
    return value;
  }
  // The byte at addr (inside some allocation), or nullptr.
  uint8_t* Data(uint64_t addr, uint64_t length = 1) {
    auto it = regions_.upper_bound(addr);
    if (it == regions_.begin()) return nullptr;
    --it;
    const uint64_t offset = addr - it->first;
    if (offset > it->second.size() || length > it->second.size() - offset) return nullptr;
    return it->second.data() + offset;
  }

  GuestMemory Memory() { return GuestMemory{CopyFrom, CopyTo, RangeOk, this}; }

  // Fault injection: the n-th copy_from (0-based) faults; -1 never.
  long fail_copy_from = -1;
  long fail_copy_to = -1;
  long copies_from = 0;
  long copies_to = 0;
  std::vector<std::pair<uint64_t, uint64_t>> reads;  // (addr, length) of every copy_from
  std::function<void(uint64_t addr, uint64_t length)> after_copy_from;

 private:
  static int CopyFrom(void* opaque, void* dst, uint64_t addr, size_t length) {
    auto* self = static_cast<SimGuest*>(opaque);
    const long n = self->copies_from++;
    self->reads.emplace_back(addr, length);
    if (n == self->fail_copy_from) return -1;
    uint8_t* src = self->Data(addr, length);
    if (src == nullptr) return -1;
    std::memcpy(dst, src, length);
    if (self->after_copy_from) self->after_copy_from(addr, length);
    return 0;
  }
  static int CopyTo(void* opaque, uint64_t addr, const void* src, size_t length) {
    auto* self = static_cast<SimGuest*>(opaque);
    const long n = self->copies_to++;
    if (n == self->fail_copy_to) return -1;
    uint8_t* dst = self->Data(addr, length);
    if (dst == nullptr) return -1;
    std::memcpy(dst, src, length);
    return 0;
  }
  static bool RangeOk(void*, uint64_t addr, uint64_t length) {
    return addr + length >= addr && addr + length <= (1ull << 47);
  }

  std::map<uint64_t, Bytes> regions_;
  uint64_t next_ = 0x10000000;
};

constexpr uint64_t kCrashStart = 0x20000000;
constexpr uint64_t kCrashSize = 0x10000000;  // 256 MiB

inline MachineConfig StandardMachine() {
  MachineConfig m;
  m.e820 = {
      {0x0, 0x9fc00, 1},          {0x9fc00, 0x400, 2},          {0xf0000, 0x10000, 2},
      {0x100000, 0x7ff00000, 1},  {0x80000000, 0x10000000, 2},  {0x100000000, 0x80000000, 1},
  };
  m.crash = {kCrashStart, kCrashSize};
  m.cpus = 4;
  m.efi.present = true;
  m.efi.system_table = 0x7ee0f018;
  m.efi.descriptor_size = 48;
  m.efi.descriptor_version = 1;
  m.efi.memory_map.assign(3 * 48, 0);
  for (int i = 0; i < 3; ++i) m.efi.memory_map[i * 48] = 7;  // EfiConventionalMemory
  m.acpi_rsdp = 0x7fb7e014;
  m.mode = policy::Mode::Off;
  return m;
}

// One op through the hypercall entry (continuations retried as a guest would).
template <typename T>
long Op(Kexec& kexec, SimGuest& guest, unsigned long op, const T& arg) {
  const uint64_t addr = guest.PutStruct(arg);
  return kexec.Hypercall(op, addr, guest.Memory());
}

inline long Status(Kexec& kexec, SimGuest& guest, uint8_t type) {
  xen_kexec_status_t s{type};
  return Op(kexec, guest, KEXEC_CMD_kexec_status, s);
}
inline long Unload(Kexec& kexec, SimGuest& guest, uint8_t type) {
  xen_kexec_unload_t u{type};
  return Op(kexec, guest, KEXEC_CMD_kexec_unload, u);
}
inline long Exec(Kexec& kexec, SimGuest& guest, int32_t type) {
  xen_kexec_exec_t e{type};
  return Op(kexec, guest, KEXEC_CMD_kexec, e);
}

struct LegacySegment {
  Bytes data;
  uint64_t dest;
  uint64_t dest_size;
  bool null_buf = false;
};

// KEXEC_CMD_kexec_load with segments placed in guest memory.
inline long LegacyLoad(Kexec& kexec, SimGuest& guest, uint8_t type, uint64_t entry,
                       const std::vector<LegacySegment>& segments, uint16_t arch = KEXEC_EM_X86_64,
                       uint32_t nr_override = 0) {
  std::vector<xen_kexec_segment_t> table;
  for (const LegacySegment& s : segments) {
    table.push_back({s.null_buf ? 0 : guest.Put(s.data), s.data.size(), s.dest, s.dest_size});
  }
  const uint64_t table_addr = guest.Alloc(std::max<size_t>(1, table.size()) * sizeof(xen_kexec_segment_t));
  if (!table.empty()) std::memcpy(guest.Data(table_addr), table.data(), table.size() * sizeof table[0]);
  xen_kexec_load_t load{};
  load.type = type;
  load.arch = arch;
  load.nr_segments = nr_override ? nr_override : static_cast<uint32_t>(table.size());
  load.segments = table_addr;
  load.entry_maddr = entry;
  return Op(kexec, guest, KEXEC_CMD_kexec_load, load);
}

// A small valid legacy image of `type` (one 2-page segment).
inline long SimpleLegacyLoad(Kexec& kexec, SimGuest& guest, uint8_t type, uint8_t fill = 0x5a) {
  const uint64_t dest = type == KEXEC_TYPE_CRASH ? kCrashStart + 0x100000 : 0x1000000;
  return LegacyLoad(kexec, guest, type, dest, {{Bytes(5000, fill), dest, 0x2000}});
}

struct FileBuffers {
  Bytes kernel, initrd, cmdline, initrd_sig;
};

// Puts the argument and the buffers in guest memory; returns the argument's address.
inline uint64_t PutFileLoad(SimGuest& guest, const FileBuffers& b, uint8_t type, uint32_t flags) {
  xen_kexec_file_load_t a{};
  a.type = type;
  a.flags = flags;
  auto put = [&](const Bytes& bytes, xen_kexec_file_buffer_t& buffer) {
    buffer.size = bytes.size();
    buffer.h = bytes.empty() ? 0 : guest.Put(bytes);
  };
  put(b.kernel, a.kernel);
  put(b.initrd, a.initrd);
  put(b.cmdline, a.cmdline);
  put(b.initrd_sig, a.initrd_sig);
  return guest.PutStruct(a);
}

inline Bytes Cmdline(const std::string& text) {
  Bytes b(text.size() + 1, 0);  // the final NUL (no push_back: GCC 12 -Wstringop-overflow)
  std::memcpy(b.data(), text.data(), text.size());
  return b;
}

// A minimal bzImage (boot protocol 2.15, 64-bit, relocatable) the loader accepts: setup
// header in a 2-sector real-mode part, then `payload` bytes of protected-mode "kernel".
inline Bytes MinimalBzImage(size_t payload = 8192, uint8_t fill = 0x90) {
  Bytes b(1024 + payload, fill);
  std::memset(b.data(), 0, 1024);
  auto put16 = [&](size_t at, uint16_t v) { b[at] = v & 0xff; b[at + 1] = v >> 8; };
  auto put32 = [&](size_t at, uint32_t v) { put16(at, v & 0xffff); put16(at + 2, v >> 16); };
  b[0x1f1] = 1;                      // setup_sects
  put32(0x1f4, static_cast<uint32_t>(payload / 16));  // syssize
  put16(0x1fe, 0xaa55);              // boot_flag
  std::memcpy(&b[0x202], "HdrS", 4);
  put16(0x206, 0x020f);              // version
  b[0x211] = 0x01;                   // loadflags: LOADED_HIGH
  put32(0x214, 0x100000);            // code32_start
  put32(0x22c, 0x7fffffff);          // initrd_addr_max
  put32(0x230, 0x200000);            // kernel_alignment
  b[0x234] = 1;                      // relocatable_kernel
  b[0x235] = 21;                     // min_alignment (2 MiB)
  put16(0x236, 0x0003);              // xloadflags: KERNEL_64 | CAN_BE_LOADED_ABOVE_4G
  put32(0x238, 2047);                // cmdline_size
  put32(0x258, 0x1000000);           // pref_address (low dword)
  put32(0x260, static_cast<uint32_t>(((payload + 0x200000) + 4095) & ~4095u));  // init_size
  return b;
}

}  // namespace hvsig::hv::test
