// SHA-1 compression (FIPS 180-4 section 6.1). Kept only to match legacy revocation entries
// that name certificates by SHA-1; nothing is ever signed over it.
#include <bit>

#include "crypto/builtin/sha_blocks.h"

namespace hvsig::builtin {
namespace {

void Sha1Block(uint32_t state[5], const uint8_t* block) {
  uint32_t w[80];
  for (size_t t = 0; t < 16; ++t) w[t] = LoadBe32(block + 4 * t);
  for (size_t t = 16; t < 80; ++t) w[t] = std::rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);

  uint32_t a = state[0], b = state[1], c = state[2], d = state[3], e = state[4];
  auto round = [&](uint32_t f, uint32_t k, uint32_t w_t) {
    const uint32_t temp = std::rotl(a, 5) + f + e + k + w_t;
    e = d;
    d = c;
    c = std::rotl(b, 30);
    b = a;
    a = temp;
  };
  // Four stages of twenty rounds, each with its own boolean function and constant.
  size_t t = 0;
  for (; t < 20; ++t) round((b & c) | (~b & d), 0x5a827999, w[t]);
  for (; t < 40; ++t) round(b ^ c ^ d, 0x6ed9eba1, w[t]);
  for (; t < 60; ++t) round((b & c) | (b & d) | (c & d), 0x8f1bbcdc, w[t]);
  for (; t < 80; ++t) round(b ^ c ^ d, 0xca62c1d6, w[t]);
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
  state[4] += e;
}

}  // namespace

void Sha1Blocks(uint32_t state[5], const uint8_t* blocks, size_t count) {
  for (size_t i = 0; i < count; ++i) Sha1Block(state, blocks + i * kSha1BlockSize);
}

}  // namespace hvsig::builtin
