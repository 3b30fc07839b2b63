// Random access to an image that need not be one contiguous buffer. A tool streams from a file
// with bounded memory; a hypervisor reads from the page list of a kexec image. The core asks
// for (offset, length) views and never holds a pointer past the next request.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hvsig/cf_check.h"
#include "hvsig/input.h"
#include "hvsig/result.h"

namespace hvsig {

struct ImageSource {
  uint64_t size;
  // Returns a view of between 1 and max_length bytes starting at offset (fewer where the
  // backing store is discontiguous, e.g. at a page boundary). The core guarantees
  // offset < size and max_length >= 1; the view stays valid until the next call.
  // Any failure is reported as ImageReadFailed.
  Result (*view)(void* opaque, uint64_t offset, size_t max_length, Input& chunk);
  void* opaque;
};

// Copies exactly length bytes at offset into out (PeTruncated if they are not all inside).
Result ReadImage(const ImageSource& image, uint64_t offset, uint8_t* out, size_t length);

// An ImageSource over one contiguous buffer. Keep the MemoryImage alive while the source is used.
class MemoryImage {
 public:
  explicit MemoryImage(Input bytes) : bytes_(bytes) {}
  ImageSource Source() { return ImageSource{bytes_.size(), View, this}; }

 private:
  HVSIG_CF_CHECK static Result View(void* opaque, uint64_t offset, size_t max_length, Input& chunk);
  Input bytes_;
};

// Lets a hypervisor split long work (hashing hundreds of MB) into hypercall continuations:
// between chunks the core asks should_yield(); if it says yes the operation returns
// Result::Preempted with its progress kept, and the caller calls it again later.
struct PreemptionHook {
  bool (*should_yield)(void* opaque);
  void* opaque;
};

}  // namespace hvsig
