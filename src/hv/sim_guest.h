// A simulated control domain for the kexec model (hosted): guest memory with fault injection and
// a hook after each copy (to change memory behind the hypervisor's back), a standard EFI
// machine, and helpers that marshal the ABI structs into guest memory and issue ops through
// Kexec::Hypercall, as a dom0 kexec tool would. Shared by the hv tests and hvsig-model-demo.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "hv/kexec.h"
#include "hvsig/xen/kexec_file.h"

namespace hvsig::hv::sim {

using Bytes = std::vector<uint8_t>;

class SimGuest {
 public:
  // Allocations are page-aligned with an unmapped page between them, so overruns fault.
  uint64_t Alloc(uint64_t size);
  uint64_t Put(const Bytes& bytes);
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
  // The byte at addr (inside some allocation, with `length` bytes after it), or nullptr.
  uint8_t* Data(uint64_t addr, uint64_t length = 1);

  GuestMemory Memory() { return GuestMemory{CopyFrom, CopyTo, RangeOk, this}; }

  // Fault injection: the n-th copy_from (0-based) faults; -1 never.
  long fail_copy_from = -1;
  long fail_copy_to = -1;
  long copies_from = 0;
  long copies_to = 0;
  std::vector<std::pair<uint64_t, uint64_t>> reads;  // (addr, length) of every copy_from
  std::function<void(uint64_t addr, uint64_t length)> after_copy_from;

 private:
  static int CopyFrom(void* opaque, void* dst, uint64_t addr, size_t length);
  static int CopyTo(void* opaque, uint64_t addr, const void* src, size_t length);
  static bool RangeOk(void* opaque, uint64_t addr, uint64_t length);

  std::map<uint64_t, Bytes> regions_;
  uint64_t next_ = 0x10000000;
};

inline constexpr uint64_t kCrashStart = 0x20000000;
inline constexpr uint64_t kCrashSize = 0x10000000;  // 256 MiB

// A 4 GiB-class EFI machine: six e820 entries, crashkernel at kCrashStart, 4 CPUs, an EFI
// memory map of three descriptors, an ACPI RSDP; Secure Boot off and mode off (callers set both).
MachineConfig StandardMachine();

// One op through the hypercall entry (continuations retried as a guest would).
template <typename T>
long Op(Kexec& kexec, SimGuest& guest, unsigned long op, const T& arg) {
  const uint64_t addr = guest.PutStruct(arg);
  return kexec.Hypercall(op, addr, guest.Memory());
}

long Status(Kexec& kexec, SimGuest& guest, uint8_t type);
long Unload(Kexec& kexec, SimGuest& guest, uint8_t type);
long Exec(Kexec& kexec, SimGuest& guest, int32_t type);

struct LegacySegment {
  Bytes data;
  uint64_t dest;
  uint64_t dest_size;
  bool null_buf = false;
};

// KEXEC_CMD_kexec_load with segments placed in guest memory. nr_override, if not 0, replaces
// the segment count the argument claims.
long LegacyLoad(Kexec& kexec, SimGuest& guest, uint8_t type, uint64_t entry,
                const std::vector<LegacySegment>& segments, uint16_t arch = KEXEC_EM_X86_64,
                uint32_t nr_override = 0);

struct FileBuffers {
  Bytes kernel, initrd, cmdline, initrd_sig;
};

// Puts the KEXEC_CMD_kexec_file_load argument and its buffers in guest memory (an empty buffer
// gets handle 0, size 0); returns the argument's address, where the OUT fields land.
uint64_t PutFileLoad(SimGuest& guest, const FileBuffers& buffers, uint8_t type, uint32_t flags);

// `text` with its terminating NUL, as the file-load op wants a command line.
Bytes Cmdline(const std::string& text);

}  // namespace hvsig::hv::sim
