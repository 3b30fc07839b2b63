// The SHA-2 compression function (FIPS 180-4 sections 6.2.2 and 6.4.2), written once for both
// word sizes: SHA-256 and SHA-512 differ only in word type, round count, rotation amounts and
// constants, which each instantiation supplies as compile-time traits.
#pragma once

#include <bit>
#include <stddef.h>
#include <stdint.h>

namespace hvsig::builtin {

// Traits: Word, kRounds, kConstants, Load (big-endian word), and the rotation/shift amounts of
// sigma0/sigma1 (message schedule) and Sigma0/Sigma1 (rounds).
template <typename Traits>
void Sha2Block(typename Traits::Word state[8], const uint8_t* block) {
  using Word = typename Traits::Word;
  Word w[Traits::kRounds];
  for (size_t t = 0; t < 16; ++t) w[t] = Traits::Load(block + sizeof(Word) * t);
  for (size_t t = 16; t < Traits::kRounds; ++t) {
    const Word s0 = std::rotr(w[t - 15], Traits::kSigma0[0]) ^
                    std::rotr(w[t - 15], Traits::kSigma0[1]) ^ (w[t - 15] >> Traits::kSigma0[2]);
    const Word s1 = std::rotr(w[t - 2], Traits::kSigma1[0]) ^
                    std::rotr(w[t - 2], Traits::kSigma1[1]) ^ (w[t - 2] >> Traits::kSigma1[2]);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }

  Word a = state[0], b = state[1], c = state[2], d = state[3];
  Word e = state[4], f = state[5], g = state[6], h = state[7];
  for (size_t t = 0; t < Traits::kRounds; ++t) {
    const Word big_sigma1 = std::rotr(e, Traits::kBigSigma1[0]) ^
                            std::rotr(e, Traits::kBigSigma1[1]) ^ std::rotr(e, Traits::kBigSigma1[2]);
    const Word choose = (e & f) ^ (~e & g);
    const Word t1 = h + big_sigma1 + choose + Traits::kConstants[t] + w[t];
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
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
  state[4] += e;
  state[5] += f;
  state[6] += g;
  state[7] += h;
}

}  // namespace hvsig::builtin
