// The SHA family's compression functions (FIPS 180-4), shared between hash.cpp, which owns the
// message buffering, padding and engine choice, and the per-algorithm block functions.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace hvsig::builtin {

inline constexpr size_t kSha1BlockSize = 64;
inline constexpr size_t kSha256BlockSize = 64;   // also SHA-224
inline constexpr size_t kSha512BlockSize = 128;  // also SHA-384

// Initial hash values, FIPS 180-4 section 5.3.
inline constexpr uint32_t kSha1Initial[5] = {
    0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0,
};
inline constexpr uint32_t kSha224Initial[8] = {
    0xc1059ed8, 0x367cd507, 0x3070dd17, 0xf70e5939,
    0xffc00b31, 0x68581511, 0x64f98fa7, 0xbefa4fa4,
};
inline constexpr uint32_t kSha256Initial[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};
inline constexpr uint64_t kSha384Initial[8] = {
    0xcbbb9d5dc1059ed8, 0x629a292a367cd507, 0x9159015a3070dd17, 0x152fecd8f70e5939,
    0x67332667ffc00b31, 0x8eb44a8768581511, 0xdb0c2e0d64f98fa7, 0x47b5481dbefa4fa4,
};
inline constexpr uint64_t kSha512Initial[8] = {
    0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
    0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
};

// Defined in sha256.cpp; the SHA-NI path adds them to the message schedule four at a time.
alignas(16) extern const uint32_t kSha256RoundConstants[64];
// Defined in sha512.cpp; the SIMD schedule adds them two at a time.
alignas(16) extern const uint64_t kSha512RoundConstants[80];

// Each compresses `count` consecutive blocks (no alignment required) into the chaining value.
void Sha1Blocks(uint32_t state[5], const uint8_t* blocks, size_t count);
void Sha256Blocks(uint32_t state[8], const uint8_t* blocks, size_t count);
void Sha512Blocks(uint64_t state[8], const uint8_t* blocks, size_t count);
#if HVSIG_HAVE_SIMD
// sha256_shani.cpp: needs SHA, SSE4.1 and SSSE3, and the embedder's permission to use them.
void Sha256BlocksShaNi(uint32_t state[8], const uint8_t* blocks, size_t count);
// sha512_simd.cpp: needs AVX2 and BMI2 (with the OS saving YMM state), and the permission.
void Sha512BlocksAvx2(uint64_t state[8], const uint8_t* blocks, size_t count);
#endif

constexpr uint32_t LoadBe32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

constexpr uint64_t LoadBe64(const uint8_t* p) {
  return uint64_t{LoadBe32(p)} << 32 | LoadBe32(p + 4);
}

constexpr void StoreBe32(uint32_t v, uint8_t* p) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

constexpr void StoreBe64(uint64_t v, uint8_t* p) {
  StoreBe32(static_cast<uint32_t>(v >> 32), p);
  StoreBe32(static_cast<uint32_t>(v), p + 4);
}

}  // namespace hvsig::builtin
