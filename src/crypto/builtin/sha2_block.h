// The SHA-2 compression function (FIPS 180-4 sections 6.2.2 and 6.4.2), written once for both
// word sizes: SHA-256 and SHA-512 differ only in word type, round count, rotation amounts and
// constants, which each instantiation supplies as compile-time traits.
#pragma once

#include <bit>
#include <stddef.h>
#include <stdint.h>

#include "crypto/builtin/sha_blocks.h"

namespace hvsig::builtin {

// Traits: Word, kRounds, kConstants, Load (big-endian word), and the rotation/shift amounts of
// sigma0/sigma1 (message schedule) and Sigma0/Sigma1 (rounds).
//
// The rounds take their input from a Schedule: schedule.WordPlusConstant(base, i) returns
// W[t] + K[t] for round t = base + i, asked for once per round in order. The rounds run sixteen
// at a time with the inner loop unrolled, so i is a constant in each copy: a schedule can keep
// its last sixteen words at fixed places (slot i) and its vector registers need no indexing.
// The portable schedule below computes W up front; a SIMD schedule computes it while the rounds
// run (inlined into this loop, the two interleave).
template <typename Traits, typename Schedule>
inline void Sha2Rounds(typename Traits::Word state[8], Schedule& schedule) {
  using Word = typename Traits::Word;
  static_assert(Traits::kRounds % 16 == 0);
  Word a = state[0], b = state[1], c = state[2], d = state[3];
  Word e = state[4], f = state[5], g = state[6], h = state[7];
  for (size_t base = 0; base < Traits::kRounds; base += 16) {
#pragma GCC unroll 16
    for (size_t i = 0; i < 16; ++i) {
      const Word big_sigma1 = std::rotr(e, Traits::kBigSigma1[0]) ^
                              std::rotr(e, Traits::kBigSigma1[1]) ^ std::rotr(e, Traits::kBigSigma1[2]);
      const Word choose = (e & f) ^ (~e & g);
      const Word t1 = h + big_sigma1 + choose + schedule.WordPlusConstant(base, i);
      const Word big_sigma0 = std::rotr(a, Traits::kBigSigma0[0]) ^
                              std::rotr(a, Traits::kBigSigma0[1]) ^ std::rotr(a, Traits::kBigSigma0[2]);
      const Word majority = (a & b) ^ (a & c) ^ (b & c);
      const Word t2 = big_sigma0 + majority;
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
  state[4] += e;
  state[5] += f;
  state[6] += g;
  state[7] += h;
}

// FIPS 180-4 step 1 in general-purpose registers, computed as the rounds consume it: the first
// sixteen rounds load the block's words, later ones extend a ring of the last sixteen words
// (slot i holds W[t - 16] when round t = base + i begins).
template <typename Traits>
struct PortableSchedule {
  using Word = typename Traits::Word;
  explicit PortableSchedule(const uint8_t* block) : block(block) {}
  Word WordPlusConstant(size_t base, size_t i) {
    if (base == 0) {
      w[i] = Traits::Load(block + sizeof(Word) * i);
    } else {
      const Word minus_15 = w[(i + 1) % 16];
      const Word minus_2 = w[(i + 14) % 16];
      const Word s0 = std::rotr(minus_15, Traits::kSigma0[0]) ^
                      std::rotr(minus_15, Traits::kSigma0[1]) ^ (minus_15 >> Traits::kSigma0[2]);
      const Word s1 = std::rotr(minus_2, Traits::kSigma1[0]) ^
                      std::rotr(minus_2, Traits::kSigma1[1]) ^ (minus_2 >> Traits::kSigma1[2]);
      w[i] += s0 + w[(i + 9) % 16] + s1;
    }
    return w[i] + Traits::kConstants[base + i];
  }
  const uint8_t* block;
  Word w[16];
};

template <typename Traits>
void Sha2Block(typename Traits::Word state[8], const uint8_t* block) {
  PortableSchedule<Traits> schedule(block);
  Sha2Rounds<Traits>(state, schedule);
}

// SHA-512's traits, shared with the SIMD schedule (sha512_simd.cpp).
struct Sha512Traits {
  using Word = uint64_t;
  static constexpr size_t kRounds = 80;
  static constexpr const uint64_t* kConstants = kSha512RoundConstants;
  static constexpr int kSigma0[3] = {1, 8, 7};
  static constexpr int kSigma1[3] = {19, 61, 6};
  static constexpr int kBigSigma0[3] = {28, 34, 39};
  static constexpr int kBigSigma1[3] = {14, 18, 41};
  static constexpr uint64_t Load(const uint8_t* p) { return LoadBe64(p); }
};

}  // namespace hvsig::builtin
