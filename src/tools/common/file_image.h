// An ImageSource over a file, read through a sliding mmap window so that hashing a large image
// costs neither a copy per byte nor memory that grows with the file:
//  - a view maps the kWindowBytes-aligned window holding its offset (and ends at the window's
//    end), so the pages of a 1 GiB image are mapped straight from the page cache, never copied;
//  - moving to another window unmaps the previous one, so the mapped (resident) part of the
//    file is one window whatever its size;
//  - each new window is mapped MADV_SEQUENTIAL and the next window is announced with
//    POSIX_FADV_WILLNEED, so on a cold cache the kernel reads ahead while the core hashes.
// If the file cannot be mapped, views fall back to pread into one window-sized buffer.
// A file truncated by someone else while mapped ends the process with SIGBUS, as for any
// mmap reader; the image must not change while it is verified anyway.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hvsig/image.h"

namespace hvsig::tools {

class FileImage {
 public:
  static constexpr size_t kWindowBytes = size_t{8} << 20;

  FileImage() = default;
  FileImage(const FileImage&) = delete;
  FileImage& operator=(const FileImage&) = delete;
  ~FileImage();

  // False with a message in error if the file cannot be opened or is not a regular file.
  bool Open(const std::string& path, std::string& error);
  ImageSource Source() { return ImageSource{size_, View, this}; }
  uint64_t size() const { return size_; }
  // Reads [offset, offset+length) into a vector (for certificate-table entries).
  bool ReadRange(uint64_t offset, uint64_t length, std::vector<uint8_t>& out);

 private:
  static Result View(void* opaque, uint64_t offset, size_t max_length, Input& chunk);
  bool MapWindow(uint64_t start);
  void Unmap();
  Result ReadIntoBuffer(uint64_t offset, size_t max_length, Input& chunk);

  int fd_ = -1;
  uint64_t size_ = 0;
  // The mapped window [window_start_, window_start_ + window_length_), or none.
  const uint8_t* window_ = nullptr;
  uint64_t window_start_ = 0;
  size_t window_length_ = 0;
  bool mapping_failed_ = false;
  std::vector<uint8_t> buffer_;  // only after mapping failed
};

// Reads a whole (small) file: certificates, signature lists.
bool ReadWholeFile(const std::string& path, std::vector<uint8_t>& out, std::string& error);

std::string Hex(const uint8_t* data, size_t length);

}  // namespace hvsig::tools
