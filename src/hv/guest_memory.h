// The only way the kexec model touches the caller's memory, shaped like Xen's guest-access
// primitives: copy_from_guest / copy_to_guest copy whole ranges or fail with -EFAULT, and
// guest_range_ok is the cheap address-range check (access_ok) that comes before any copy.
// A table of function pointers, so the op handlers need no virtual dispatch and the embedder
// (a hypervisor, or the tests' simulated guest) supplies the implementation.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>

namespace hvsig::hv {

struct GuestMemory {
  // Each returns 0 or -EFAULT. A failed copy_from may have written part of dst.
  int (*copy_from)(void* opaque, void* dst, uint64_t guest_addr, size_t length);
  int (*copy_to)(void* opaque, uint64_t guest_addr, const void* src, size_t length);
  bool (*range_ok)(void* opaque, uint64_t guest_addr, uint64_t length);
  void* opaque;
};

inline int copy_from_guest(const GuestMemory& guest, void* dst, uint64_t guest_addr, size_t length) {
  return guest.copy_from(guest.opaque, dst, guest_addr, length) == 0 ? 0 : -EFAULT;
}

inline int copy_to_guest(const GuestMemory& guest, uint64_t guest_addr, const void* src, size_t length) {
  return guest.copy_to(guest.opaque, guest_addr, src, length) == 0 ? 0 : -EFAULT;
}

inline bool guest_range_ok(const GuestMemory& guest, uint64_t guest_addr, uint64_t length) {
  return guest.range_ok(guest.opaque, guest_addr, length);
}

}  // namespace hvsig::hv
