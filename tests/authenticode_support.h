// Helpers shared by the PE/Authenticode tests (pe_test.cpp, authenticode_test.cpp): file I/O,
// little-endian field access, subprocesses, and a PE field locator written independently of
// the core so that tests can name the offsets the core must report.
#pragma once

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace hvsig::test {

using Bytes = std::vector<uint8_t>;

inline Bytes ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot read " + path);
  return Bytes(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

inline void WriteFile(const std::string& path, const Bytes& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!file) throw std::runtime_error("cannot write " + path);
}

inline bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

inline uint16_t GetLe16(const Bytes& b, uint64_t at) {
  return static_cast<uint16_t>(b.at(at) | (b.at(at + 1) << 8));
}
inline uint32_t GetLe32(const Bytes& b, uint64_t at) {
  return static_cast<uint32_t>(GetLe16(b, at)) | (static_cast<uint32_t>(GetLe16(b, at + 2)) << 16);
}
inline void PutLe16(Bytes& b, uint64_t at, uint16_t v) {
  b.at(at) = static_cast<uint8_t>(v);
  b.at(at + 1) = static_cast<uint8_t>(v >> 8);
}
inline void PutLe32(Bytes& b, uint64_t at, uint32_t v) {
  PutLe16(b, at, static_cast<uint16_t>(v));
  PutLe16(b, at + 2, static_cast<uint16_t>(v >> 16));
}

// Where the fields the checks look at sit in a (well-formed) PE file, per the PE/COFF spec.
struct PeFields {
  uint64_t e_lfanew_at = 0x3c;
  uint32_t e_lfanew = 0;
  uint64_t section_count_at = 0;    // COFF NumberOfSections
  uint64_t optional_size_at = 0;    // COFF SizeOfOptionalHeader
  uint64_t optional = 0;            // optional header (its Magic)
  bool pe32_plus = false;
  uint64_t size_of_headers_at = 0;
  uint64_t checksum_at = 0;
  uint64_t rva_count_at = 0;        // NumberOfRvaAndSizes
  uint64_t security_dir_at = 0;     // data directory 4: {file offset, size}
  uint64_t section_table = 0;
  uint16_t section_count = 0;
  uint32_t cert_table_offset = 0;
  uint32_t cert_table_size = 0;

  uint64_t section_header(uint16_t i) const { return section_table + uint64_t{i} * 40; }
  uint64_t cert_table_end() const { return uint64_t{cert_table_offset} + cert_table_size; }
};

inline PeFields LocateFields(const Bytes& b) {
  PeFields f;
  f.e_lfanew = GetLe32(b, f.e_lfanew_at);
  const uint64_t coff = uint64_t{f.e_lfanew} + 4;
  f.section_count_at = coff + 2;
  f.optional_size_at = coff + 16;
  f.section_count = GetLe16(b, f.section_count_at);
  f.optional = coff + 20;
  f.pe32_plus = GetLe16(b, f.optional) == 0x20b;
  f.size_of_headers_at = f.optional + 60;
  f.checksum_at = f.optional + 64;
  f.rva_count_at = f.optional + (f.pe32_plus ? 108 : 92);
  f.security_dir_at = f.rva_count_at + 4 + 4 * 8;
  f.section_table = f.optional + GetLe16(b, f.optional_size_at);
  f.cert_table_offset = GetLe32(b, f.security_dir_at);
  f.cert_table_size = GetLe32(b, f.security_dir_at + 4);
  return f;
}

// Length of the DER element (definite length) starting at `at`.
inline uint64_t DerElementLength(const Bytes& b, uint64_t at) {
  const uint8_t first = b.at(at + 1);
  if (first < 0x80) return 2 + first;
  const unsigned count = first & 0x7f;
  uint64_t length = 0;
  for (unsigned i = 0; i < count; ++i) length = (length << 8) | b.at(at + 2 + i);
  return 2 + count + length;
}

inline std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal
  std::string out;     // stdout
};

// Runs a /bin/sh command line; stderr goes to the test log.
inline CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.out.append(buffer, n);
  const int status = pclose(pipe);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

// Holds an exclusive flock on a file while alive: serializes one-time work between the test
// processes ctest runs in parallel.
class FileLock {
 public:
  explicit FileLock(const std::string& path) : fd_(open(path.c_str(), O_CREAT | O_RDWR, 0644)) {
    if (fd_ < 0 || flock(fd_, LOCK_EX) != 0) throw std::runtime_error("cannot lock " + path);
  }
  ~FileLock() { close(fd_); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

}  // namespace hvsig::test
