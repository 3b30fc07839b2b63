// Helpers shared by the unit tests (hosted C++, GoogleTest, OpenSSL as the oracle): byte
// strings, a DER writer for hand-made encodings, hex and text handling, subprocesses, random
// bytes and OpenSSL digests. One version of each; a test file keeps only what it alone needs.
#pragma once

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cctype>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

// Bytes, ReadFile, WriteFile, FileExists, Get/PutLe16/32, ShellQuote, RunCommand, FileLock:
// general helpers that predate this file and still live there.
#include "authenticode_support.h"
#include "hvsig/crypto.h"
#include "hvsig/input.h"
#include "hvsig/x509.h"

namespace hvsig::test {

inline Input In(const Bytes& bytes) { return Input(bytes.data(), bytes.size()); }

inline Bytes BytesOf(const std::string& text) { return Bytes(text.begin(), text.end()); }

inline Bytes Concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

// One DER element, definite length in the minimal form.
inline Bytes Tlv(uint8_t tag, const Bytes& contents) {
  Bytes out{tag};
  const size_t length = contents.size();
  if (length < 0x80) {
    out.push_back(static_cast<uint8_t>(length));
  } else {
    Bytes octets;
    for (size_t l = length; l != 0; l >>= 8) octets.insert(octets.begin(), static_cast<uint8_t>(l));
    out.push_back(static_cast<uint8_t>(0x80 | octets.size()));
    out.insert(out.end(), octets.begin(), octets.end());
  }
  out.insert(out.end(), contents.begin(), contents.end());
  return out;
}

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

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;

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

// ---- hvsig -------------------------------------------------------------------------------

// An X.509 Name as hvsig prints it (RFC 2253 order and escaping).
inline std::string FormatNameString(Input name) {
  char buffer[1024];
  size_t length = 0;
  EXPECT_EQ(FormatName(name, buffer, sizeof buffer, length), Result::Success);
  return std::string(buffer, length);
}

}  // namespace hvsig::test
