// Xen's copy_from_guest / copy_to_guest for a dom0 process on hvsig-hypervisor: the caller's
// memory, reached with process_vm_readv / process_vm_writev. A guest handle is a user-space
// address of the calling process; anything the kernel half or non-canonical is rejected before
// a copy, and a copy that does not move every byte is -EFAULT.
#pragma once

#include <sys/types.h>

#include "hv/guest_memory.h"

namespace hvsig::hypervisor {

class ProcessMemory {
 public:
  explicit ProcessMemory(pid_t pid) : pid_(pid) {}
  hv::GuestMemory Memory() { return hv::GuestMemory{CopyFrom, CopyTo, RangeOk, this}; }

  // access_ok: [addr, addr + length) lies in the lower canonical half, without wrapping.
  static bool InUserHalf(uint64_t addr, uint64_t length);

 private:
  static int CopyFrom(void* opaque, void* dst, uint64_t addr, size_t length);
  static int CopyTo(void* opaque, uint64_t addr, const void* src, size_t length);
  static bool RangeOk(void* opaque, uint64_t addr, uint64_t length);

  pid_t pid_;
};

}  // namespace hvsig::hypervisor
