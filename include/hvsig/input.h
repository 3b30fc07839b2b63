// Non-owning views over bytes. Nothing in the core owns or allocates input memory: an Input
// is a (pointer, length) pair into storage the embedder controls.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace hvsig {

class Input {
 public:
  constexpr Input() = default;
  constexpr Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  template <size_t N>
  constexpr explicit Input(const uint8_t (&array)[N]) : data_(array), size_(N) {}

  constexpr const uint8_t* data() const { return data_; }
  constexpr size_t size() const { return size_; }
  constexpr bool empty() const { return size_ == 0; }
  constexpr uint8_t operator[](size_t i) const { return data_[i]; }
  constexpr const uint8_t* begin() const { return data_; }
  constexpr const uint8_t* end() const { return data_ + size_; }

  // Bounds-checked sub-view; false (and out untouched) if [offset, offset+length) is not inside.
  constexpr bool Slice(size_t offset, size_t length, Input& out) const {
    if (offset > size_ || length > size_ - offset) return false;
    out = Input(data_ + offset, length);
    return true;
  }

  bool operator==(const Input& other) const {
    return size_ == other.size_ && (size_ == 0 || __builtin_memcmp(data_, other.data_, size_) == 0);
  }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Caller-owned output storage, BearSSL style: the core writes into it and reports the length.
struct MutableBytes {
  uint8_t* data;
  size_t capacity;
};

}  // namespace hvsig
