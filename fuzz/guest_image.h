// Guest memory for the hypercall targets, backed by the fuzz input: the whole input (a writable
// copy) is the guest's memory at kGuestBase, so the op arguments, the buffers they point to and
// every guest pointer and size in them come from the fuzzer. Its first 40 bytes say what to
// call (the layout is the targets'; fuzz/make-corpus.py writes seeds in it):
//   [0]      machine configuration bits (each target documents its own)
//   [1..4]   up to four ops, one byte each
//   [8..40)  each op's argument address, little-endian 64-bit guest addresses
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "hv/guest_memory.h"

namespace hvsig::fuzz {

inline constexpr uint64_t kGuestBase = 0x10000;
inline constexpr size_t kGuestOps = 4;
inline constexpr size_t kGuestHeaderSize = 40;

class GuestImage {
 public:
  GuestImage(const uint8_t* data, size_t size) : bytes_(data, data + size) {
    if (bytes_.size() < kGuestHeaderSize) bytes_.resize(kGuestHeaderSize);
  }
  uint8_t config() const { return bytes_[0]; }
  uint8_t op(size_t i) const { return bytes_[1 + i]; }
  uint64_t arg(size_t i) const {
    uint64_t value;
    std::memcpy(&value, bytes_.data() + 8 + 8 * i, sizeof value);
    return value;
  }
  hv::GuestMemory Memory() { return hv::GuestMemory{CopyFrom, CopyTo, RangeOk, this}; }

 private:
  bool Inside(uint64_t addr, uint64_t length) const {
    return addr >= kGuestBase && addr - kGuestBase <= bytes_.size() &&
           length <= bytes_.size() - (addr - kGuestBase);
  }
  static int CopyFrom(void* opaque, void* dst, uint64_t addr, size_t length) {
    auto* self = static_cast<GuestImage*>(opaque);
    if (!self->Inside(addr, length)) return -EFAULT;
    if (length != 0) std::memcpy(dst, self->bytes_.data() + (addr - kGuestBase), length);
    return 0;
  }
  static int CopyTo(void* opaque, uint64_t addr, const void* src, size_t length) {
    auto* self = static_cast<GuestImage*>(opaque);
    if (!self->Inside(addr, length)) return -EFAULT;
    if (length != 0) std::memcpy(self->bytes_.data() + (addr - kGuestBase), src, length);
    return 0;
  }
  static bool RangeOk(void* opaque, uint64_t addr, uint64_t length) {
    return static_cast<GuestImage*>(opaque)->Inside(addr, length);
  }

  std::vector<uint8_t> bytes_;
};

}  // namespace hvsig::fuzz
