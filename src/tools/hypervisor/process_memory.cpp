#include "tools/hypervisor/process_memory.h"

#include <sys/uio.h>

#include <cerrno>

namespace hvsig::hypervisor {
namespace {

// x86-64 with 4-level paging: user space ends here; above is non-canonical, then the kernel.
constexpr uint64_t kUserEnd = 0x0000800000000000ull;

enum class Direction { FromGuest, ToGuest };

// Moves every byte or fails: a partial transfer stops at the first unmapped page.
int Transfer(pid_t pid, Direction direction, void* local, uint64_t remote, size_t length) {
  auto* bytes = static_cast<uint8_t*>(local);
  size_t done = 0;
  while (done < length) {
    iovec local_iov{bytes + done, length - done};
    iovec remote_iov{reinterpret_cast<void*>(remote + done), length - done};
    const ssize_t n = direction == Direction::FromGuest
                          ? process_vm_readv(pid, &local_iov, 1, &remote_iov, 1, 0)
                          : process_vm_writev(pid, &local_iov, 1, &remote_iov, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -EFAULT;
    done += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

bool ProcessMemory::InUserHalf(uint64_t addr, uint64_t length) {
  return addr < kUserEnd && length <= kUserEnd - addr;
}

bool ProcessMemory::RangeOk(void*, uint64_t addr, uint64_t length) {
  return InUserHalf(addr, length);
}

int ProcessMemory::CopyFrom(void* opaque, void* dst, uint64_t addr, size_t length) {
  if (length == 0) return 0;
  if (!InUserHalf(addr, length)) return -EFAULT;
  return Transfer(static_cast<ProcessMemory*>(opaque)->pid_, Direction::FromGuest, dst, addr, length);
}

int ProcessMemory::CopyTo(void* opaque, uint64_t addr, const void* src, size_t length) {
  if (length == 0) return 0;
  if (!InUserHalf(addr, length)) return -EFAULT;
  return Transfer(static_cast<ProcessMemory*>(opaque)->pid_, Direction::ToGuest,
                  const_cast<void*>(src), addr, length);
}

}  // namespace hvsig::hypervisor
