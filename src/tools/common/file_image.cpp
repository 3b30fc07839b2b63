#include "tools/common/file_image.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace hvsig::tools {

namespace {
constexpr size_t kChunkBytes = 1 << 20;
}

FileImage::~FileImage() {
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
  buffer_.resize(kChunkBytes);
  return true;
}

Result FileImage::View(void* opaque, uint64_t offset, size_t max_length, Input& chunk) {
  auto* self = static_cast<FileImage*>(opaque);
  size_t want = max_length < self->buffer_.size() ? max_length : self->buffer_.size();
  ssize_t got;
  do {
    got = pread(self->fd_, self->buffer_.data(), want, static_cast<off_t>(offset));
  } while (got < 0 && errno == EINTR);
  if (got <= 0) return Result::ImageReadFailed;
  chunk = Input(self->buffer_.data(), static_cast<size_t>(got));
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
