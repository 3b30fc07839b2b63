// An ImageSource over a file: bounded memory (one chunk buffer), one pread per view.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hvsig/image.h"

namespace hvsig::tools {

class FileImage {
 public:
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
  int fd_ = -1;
  uint64_t size_ = 0;
  std::vector<uint8_t> buffer_;
};

// Reads a whole (small) file: certificates, signature lists.
bool ReadWholeFile(const std::string& path, std::vector<uint8_t>& out, std::string& error);

std::string Hex(const uint8_t* data, size_t length);

}  // namespace hvsig::tools
