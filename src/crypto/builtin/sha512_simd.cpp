// SHA-512 compression (also SHA-384) with the message schedule in vector registers, two 64-bit
// words per register, computed while the rounds run in general-purpose registers. x86 has no
// SHA-512 instructions before SHA512 (2024), so this is the fast path of most CPUs: the rounds
// are a serial dependency chain that leaves execution ports idle, and the schedule fills them.
//
// Built only in the hosted library; hash.cpp calls it after CPUID reported AVX2 and BMI2 (and
// XGETBV that the OS saves YMM state) and the embedder's VectorUnitHooks allowed it. AVX's
// three-operand encodings save the register copies of SSE, and BMI2's rorx rotates without
// touching flags or its source, which shortens the rounds.
//
// The whole file, the shared round template included, is compiled for that target (a pragma
// rather than per-function attributes, which would stop the schedule from being inlined into
// the template's rounds). So nothing but Sha512BlocksAvx2 may be emitted out of line: an AVX2
// copy of a shared inline function, as a weak symbol, could be what the linker keeps for the
// scalar code too. The helpers below are always_inline and the headers' are constexpr, and `nm`
// on this object shows only Sha512BlocksAvx2 (and the constants it uses).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,bmi,bmi2"))), apply_to = function)
#else
#pragma GCC target("avx2,bmi,bmi2")
#endif

#include <immintrin.h>

#include "crypto/builtin/sha2_block.h"
#include "crypto/builtin/sha_blocks.h"

namespace hvsig::builtin {
namespace {

[[gnu::always_inline]] inline __m128i RotateRight(__m128i x, int bits) {
  return _mm_or_si128(_mm_srli_epi64(x, bits), _mm_slli_epi64(x, 64 - bits));
}

// sigma0 and sigma1 of FIPS 180-4 (4.12, 4.13) on two words at once.
[[gnu::always_inline]] inline __m128i SmallSigma0(__m128i x) {
  return _mm_xor_si128(_mm_xor_si128(RotateRight(x, Sha512Traits::kSigma0[0]),
                                     RotateRight(x, Sha512Traits::kSigma0[1])),
                       _mm_srli_epi64(x, Sha512Traits::kSigma0[2]));
}

[[gnu::always_inline]] inline __m128i SmallSigma1(__m128i x) {
  return _mm_xor_si128(_mm_xor_si128(RotateRight(x, Sha512Traits::kSigma1[0]),
                                     RotateRight(x, Sha512Traits::kSigma1[1])),
                       _mm_srli_epi64(x, Sha512Traits::kSigma1[2]));
}

// Pair p holds W[2p], W[2p+1], in slot p % 8 of a ring of eight. Round t = base + i reads
// W[t] + K[t] from slot i of a ring of sixteen (base is a multiple of 16); every other round
// computes the pair seven ahead, whose two slots are those of the two rounds just done.
class VectorSchedule {
 public:
  [[gnu::always_inline]] explicit VectorSchedule(const uint8_t* block) {
    // Message words are big-endian: reverse the bytes of each 64-bit lane.
    const __m128i byte_swap = _mm_set_epi64x(0x08090a0b0c0d0e0fULL, 0x0001020304050607ULL);
    for (size_t p = 0; p < 8; ++p) {
      const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 16 * p));
      pairs_[p] = _mm_shuffle_epi8(raw, byte_swap);
      StorePlusConstants(p, p);
    }
  }

  [[gnu::always_inline]] uint64_t WordPlusConstant(size_t base, size_t i) {
    const uint64_t value = plus_constants_[i];
    const size_t t = base + i;
    if (i % 2 == 0 && t >= 2 && t / 2 + 7 < Sha512Traits::kRounds / 2) Extend(t / 2 + 7, i / 2 + 7);
    return value;
  }

 private:
  // W[t] = sigma1(W[t-2]) + W[t-7] + sigma0(W[t-15]) + W[t-16] for t = 2p, 2p + 1: each term
  // is a pair or straddles two neighbouring pairs (alignr takes the high word of one and the
  // low word of the next). slot is p modulo 8 as the caller knows it at compile time.
  [[gnu::always_inline]] void Extend(size_t p, size_t slot) {
    const __m128i minus_16 = pairs_[slot % 8];
    const __m128i minus_15 = _mm_alignr_epi8(pairs_[(slot + 1) % 8], minus_16, 8);
    const __m128i minus_7 = _mm_alignr_epi8(pairs_[(slot + 5) % 8], pairs_[(slot + 4) % 8], 8);
    const __m128i minus_2 = pairs_[(slot + 7) % 8];
    pairs_[slot % 8] = _mm_add_epi64(_mm_add_epi64(minus_16, SmallSigma0(minus_15)),
                                     _mm_add_epi64(minus_7, SmallSigma1(minus_2)));
    StorePlusConstants(p, slot);
  }

  [[gnu::always_inline]] void StorePlusConstants(size_t p, size_t slot) {
    const __m128i constants =
        _mm_load_si128(reinterpret_cast<const __m128i*>(kSha512RoundConstants + 2 * p));
    _mm_store_si128(reinterpret_cast<__m128i*>(plus_constants_ + (2 * slot) % 16),
                    _mm_add_epi64(pairs_[slot % 8], constants));
  }

  __m128i pairs_[8];
  alignas(16) uint64_t plus_constants_[16];
};

}  // namespace

void Sha512BlocksAvx2(uint64_t state[8], const uint8_t* blocks,
                                          size_t count) {
  for (size_t i = 0; i < count; ++i) {
    VectorSchedule schedule(blocks + i * kSha512BlockSize);
    Sha2Rounds<Sha512Traits>(state, schedule);
  }
}

}  // namespace hvsig::builtin

#if defined(__clang__)
#pragma clang attribute pop
#endif
