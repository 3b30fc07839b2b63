// The hypercall path of a dom0 program: libxencall.so.1, found by its soname at run time, so a
// real Xen dom0 uses Debian's library (privcmd) and hvsig-dom0 uses ours (hvsig-hypervisor).
// Arguments that Xen reads through guest handles live in hypercall buffers from
// xencall_alloc_buffer, as libxenctrl keeps them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace hvsig::kexec_cli {

class XenCall;

// One hypercall buffer; freed with the object. Moves, never copies.
class HypercallBuffer {
 public:
  HypercallBuffer() = default;
  HypercallBuffer(HypercallBuffer&& other) noexcept;
  HypercallBuffer& operator=(HypercallBuffer&& other) noexcept;
  HypercallBuffer(const HypercallBuffer&) = delete;
  HypercallBuffer& operator=(const HypercallBuffer&) = delete;
  ~HypercallBuffer();

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // The guest handle Xen is given: the buffer's address in this process.
  uint64_t handle() const { return reinterpret_cast<uintptr_t>(data_); }
  template <typename T>
  T* as() const { return reinterpret_cast<T*>(data_); }

 private:
  friend class XenCall;
  const XenCall* owner_ = nullptr;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

class XenCall {
 public:
  XenCall() = default;
  XenCall(const XenCall&) = delete;
  XenCall& operator=(const XenCall&) = delete;
  ~XenCall();

  // dlopen("libxencall.so.1"), its symbols, xencall_open. False with what failed (the loader's
  // message, or the library's own log message when xencall_open fails).
  bool Open(std::string& error);

  // A zero-filled buffer of size bytes (at least one); false with errno's text if none.
  bool Allocate(size_t size, HypercallBuffer& out, std::string& error) const;

  // The hypercall's return value: >= 0, or -errno (xencall2 returns -1 and sets errno, as
  // privcmd's ioctl does).
  long Call2(unsigned op, uint64_t arg1, uint64_t arg2) const;

 private:
  friend class HypercallBuffer;
  void Free(void* p) const;

  using OpenFn = void* (*)(void* logger, unsigned flags);
  using CloseFn = int (*)(void* handle);
  using Call2Fn = int (*)(void* handle, unsigned op, uint64_t arg1, uint64_t arg2);
  using AllocFn = void* (*)(void* handle, size_t size);
  using FreeFn = void (*)(void* handle, void* p);

  void* library_ = nullptr;
  void* handle_ = nullptr;
  OpenFn open_ = nullptr;
  CloseFn close_ = nullptr;
  Call2Fn call2_ = nullptr;
  AllocFn alloc_ = nullptr;
  FreeFn free_ = nullptr;
};

}  // namespace hvsig::kexec_cli
