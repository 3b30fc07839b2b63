#include "tools/common/file_image.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace hvsig::tools {

FileImage::~FileImage() {
  Unmap();
  if (fd_ >= 0) close(fd_);
}

bool FileImage::Open(const std::string& path, std::string& error) {
  fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = path + ": not a regular file";
    return false;
  }
  size_ = static_cast<uint64_t>(st.st_size);
  return true;
}

void FileImage::Unmap() {
  if (window_ != nullptr) munmap(const_cast<uint8_t*>(window_), window_length_);
  window_ = nullptr;
  window_length_ = 0;
}

bool FileImage::MapWindow(uint64_t start) {
  Unmap();
  const uint64_t left = size_ - start;
  const size_t length = left < kWindowBytes ? static_cast<size_t>(left) : kWindowBytes;
  void* mapped = mmap(nullptr, length, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd_, static_cast<off_t>(start));
  if (mapped == MAP_FAILED) return false;
  // Advice only: a kernel that ignores it reads on demand, which is correct, just slower.
  madvise(mapped, length, MADV_SEQUENTIAL);
  const uint64_t next = start + length;
  if (next < size_) posix_fadvise(fd_, static_cast<off_t>(next), kWindowBytes, POSIX_FADV_WILLNEED);
  window_ = static_cast<const uint8_t*>(mapped);
  window_start_ = start;
  window_length_ = length;
  return true;
}

Result FileImage::ReadIntoBuffer(uint64_t offset, size_t max_length, Input& chunk) {
  buffer_.resize(kWindowBytes);
  const size_t want = max_length < buffer_.size() ? max_length : buffer_.size();
  ssize_t got;
  do {
    got = pread(fd_, buffer_.data(), want, static_cast<off_t>(offset));
  } while (got < 0 && errno == EINTR);
  if (got <= 0) return Result::ImageReadFailed;
  chunk = Input(buffer_.data(), static_cast<size_t>(got));
  return Result::Success;
}

Result FileImage::View(void* opaque, uint64_t offset, size_t max_length, Input& chunk) {
  auto* self = static_cast<FileImage*>(opaque);
  if (offset >= self->size_) return Result::ImageReadFailed;
  if (self->mapping_failed_) return self->ReadIntoBuffer(offset, max_length, chunk);
  const bool inside = self->window_ != nullptr && offset >= self->window_start_ &&
                      offset - self->window_start_ < self->window_length_;
  if (!inside && !self->MapWindow(offset - offset % kWindowBytes)) {
    self->mapping_failed_ = true;
    return self->ReadIntoBuffer(offset, max_length, chunk);
  }
  const size_t position = static_cast<size_t>(offset - self->window_start_);
  const size_t available = self->window_length_ - position;
  chunk = Input(self->window_ + position, max_length < available ? max_length : available);
  return Result::Success;
}

bool FileImage::ReadRange(uint64_t offset, uint64_t length, std::vector<uint8_t>& out) {
  out.resize(length);
  return ReadImage(Source(), offset, out.data(), out.size()) == Result::Success;
}

bool ReadWholeFile(const std::string& path, std::vector<uint8_t>& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) {
    error = path + ": read error";
    return false;
  }
  return true;
}

std::string Hex(const uint8_t* data, size_t length) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(length * 2);
  for (size_t i = 0; i < length; ++i) {
    s.push_back(kDigits[data[i] >> 4]);
    s.push_back(kDigits[data[i] & 15]);
  }
  return s;
}

}  // namespace hvsig::tools
