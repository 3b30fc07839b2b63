// SHA-256 compression with the SHA-NI instructions. Built only in the hosted library with
// -msha -msse4.1 -mssse3; hash.cpp calls it only after CPUID confirmed those extensions and
// the embedder's VectorUnitHooks allowed the vector registers to be touched.
#include <immintrin.h>

#include "crypto/builtin/sha_blocks.h"

namespace hvsig::builtin {

void Sha256BlocksShaNi(uint32_t state[8], const uint8_t* blocks, size_t count) {
  // Message words are big-endian; reverse the bytes of each 32-bit lane.
  const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);

  // sha256rnds2 wants the working variables split as {A,B,E,F} and {C,D,G,H}, highest lane
  // first, rather than the natural a..h order of the state array.
  const __m128i dcba = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state));
  const __m128i hgfe = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4));
  const __m128i cdab = _mm_shuffle_epi32(dcba, 0xb1);
  const __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1b);
  __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
  __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xf0);

  for (size_t i = 0; i < count; ++i) {
    const uint8_t* block = blocks + i * kSha256BlockSize;
    const __m128i abef_in = abef;
    const __m128i cdgh_in = cdgh;

    // A ring of the last four groups of four schedule words: group g holds W[4g..4g+3].
    __m128i schedule[4];
    for (size_t g = 0; g < 4; ++g) {
      const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 16 * g));
      schedule[g] = _mm_shuffle_epi8(raw, byte_swap);
    }

#pragma GCC unroll 16
    for (size_t g = 0; g < 16; ++g) {
      __m128i& group = schedule[g % 4];
      if (g >= 4) {
        // W[t] = W[t-16] + s0(W[t-15]) + W[t-7] + s1(W[t-2]); group still holds W[t-16..].
        const __m128i previous = schedule[(g - 1) % 4];
        const __m128i w_minus_7 = _mm_alignr_epi8(previous, schedule[(g - 2) % 4], 4);
        group = _mm_sha256msg1_epu32(group, schedule[(g - 3) % 4]);
        group = _mm_add_epi32(group, w_minus_7);
        group = _mm_sha256msg2_epu32(group, previous);
      }
      const __m128i round_constants =
          _mm_load_si128(reinterpret_cast<const __m128i*>(kSha256RoundConstants + 4 * g));
      __m128i message = _mm_add_epi32(group, round_constants);
      // Each sha256rnds2 does two rounds with the low two words of its message operand. Two
      // rounds turn the old {A,B,E,F} into the new {C,D,G,H}, so the registers swap roles
      // between the calls and are back in place after four rounds.
      cdgh = _mm_sha256rnds2_epu32(cdgh, abef, message);
      message = _mm_shuffle_epi32(message, 0x0e);
      abef = _mm_sha256rnds2_epu32(abef, cdgh, message);
    }

    abef = _mm_add_epi32(abef, abef_in);
    cdgh = _mm_add_epi32(cdgh, cdgh_in);
  }

  const __m128i feba = _mm_shuffle_epi32(abef, 0x1b);
  const __m128i dchg = _mm_shuffle_epi32(cdgh, 0xb1);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state), _mm_blend_epi16(feba, dchg, 0xf0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), _mm_alignr_epi8(dchg, feba, 8));
}

}  // namespace hvsig::builtin
