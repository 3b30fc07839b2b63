// Helpers shared by the unit tests (hosted C++, GoogleTest, OpenSSL as the oracle): byte
// strings, a DER writer for hand-made encodings, hex and text handling, subprocesses, random
// bytes and OpenSSL digests. One version of each; a test file keeps only what it alone needs.
#pragma once

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "crypto/openssl/openssl_ptr.h"
#include "hvsig/crypto.h"
#include "hvsig/input.h"
#include "hvsig/x509.h"
#include "tools/common/der_writer.h"

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
inline uint64_t GetLe64(const Bytes& b, uint64_t at) {
  return GetLe32(b, at) | (static_cast<uint64_t>(GetLe32(b, at + 4)) << 32);
}
inline void PutLe64(Bytes& b, uint64_t at, uint64_t v) {
  PutLe32(b, at, static_cast<uint32_t>(v));
  PutLe32(b, at + 4, static_cast<uint32_t>(v >> 32));
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


inline Input In(const Bytes& bytes) { return Input(bytes.data(), bytes.size()); }

inline Bytes BytesOf(const std::string& text) { return Bytes(text.begin(), text.end()); }

using tools::Concat;
using tools::Tlv;  // one DER element

// Upper case matches what `openssl x509 -serial/-modulus` print.
enum class HexCase { Lower, Upper };

inline std::string Hex(Input bytes, HexCase letters = HexCase::Lower) {
  const char* digits = letters == HexCase::Upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

// Every hex digit in text, paired into bytes; anything else (colons, spaces, newlines of
// `od`/openssl dumps) is skipped.
inline Bytes FromHex(const std::string& text) {
  std::string digits;
  for (char c : text) {
    if (isxdigit(static_cast<unsigned char>(c))) digits += c;
  }
  Bytes out;
  for (size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  }
  return out;
}

inline std::string Trim(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\n");
  const size_t last = text.find_last_not_of(" \t\n");
  return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
}

inline std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return text;
}

// Runs a /bin/sh command line and returns its stdout; a non-zero exit fails the test.
inline std::string Shell(const std::string& command) {
  CommandResult result = RunCommand(command);
  EXPECT_EQ(result.exit_code, 0) << command;
  return std::move(result.out);
}

// From OpenSSL's generator, or from rng when a test needs a reproducible sequence.
inline Bytes RandomBytes(size_t length, std::mt19937* rng = nullptr) {
  Bytes out(length);
  if (rng != nullptr) {
    for (uint8_t& b : out) b = static_cast<uint8_t>((*rng)());
  } else {
    EXPECT_EQ(RAND_bytes(out.data(), static_cast<int>(length)), 1);
  }
  return out;
}

// ---- OpenSSL -----------------------------------------------------------------------------

using openssl::BnPtr;
using openssl::MdCtxPtr;
using openssl::Owned;
using openssl::PkeyCtxPtr;
using openssl::PkeyPtr;

inline BnPtr BnFromBytes(const Bytes& bytes) {
  return BnPtr(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
}

// Big-endian magnitude, left-padded to length octets (0: minimal).
inline Bytes BnToBytes(const BIGNUM* bn, size_t length = 0) {
  Bytes out(length != 0 ? length : static_cast<size_t>(BN_num_bytes(bn)));
  EXPECT_EQ(BN_bn2binpad(bn, out.data(), static_cast<int>(out.size())), static_cast<int>(out.size()));
  return out;
}

inline constexpr DigestAlg kAllDigestAlgs[] = {DigestAlg::Sha1, DigestAlg::Sha224, DigestAlg::Sha256,
                                               DigestAlg::Sha384, DigestAlg::Sha512};

inline const EVP_MD* OpenSslMd(DigestAlg alg) {
  switch (alg) {
    case DigestAlg::Sha1: return EVP_sha1();
    case DigestAlg::Sha224: return EVP_sha224();
    case DigestAlg::Sha256: return EVP_sha256();
    case DigestAlg::Sha384: return EVP_sha384();
    case DigestAlg::Sha512: return EVP_sha512();
  }
  return nullptr;
}

inline Bytes OpenSslDigest(const EVP_MD* md, const Bytes& message) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  EXPECT_EQ(EVP_Digest(message.data(), message.size(), out.data(), &length, md, nullptr), 1);
  out.resize(length);
  return out;
}

inline Bytes OpenSslDigest(DigestAlg alg, const Bytes& message) {
  return OpenSslDigest(OpenSslMd(alg), message);
}

// A certificate's subject as `openssl x509 -nameopt RFC2253` prints it.
inline std::string OpenSslSubject(const X509* cert) {
  const openssl::BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* text = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &text);
  return std::string(text, static_cast<size_t>(length));
}

// ---- hvsig -------------------------------------------------------------------------------

// An X.509 Name as hvsig prints it (RFC 2253 order and escaping).
inline std::string FormatNameString(Input name) {
  char buffer[1024];
  size_t length = 0;
  EXPECT_EQ(FormatName(name, buffer, sizeof buffer, length), Result::Success);
  return std::string(buffer, length);
}

}  // namespace hvsig::test
