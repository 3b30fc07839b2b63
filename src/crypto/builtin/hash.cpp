// The builtin provider's incremental digests: message buffering, FIPS 180-4 padding and the
// choice between the scalar block functions and the vector ones (SHA-NI for SHA-256, AVX2 and
// BMI2 for SHA-512). The whole state lives inside the
// caller's DigestContext, so a digest needs no allocation and nothing to free.
#include <new>

#include "crypto/builtin/builtin.h"
#include "crypto/builtin/cpu_features.h"
#include "crypto/builtin/sha_blocks.h"

namespace hvsig::builtin {
namespace {

struct HashState {
  union {
    uint32_t narrow[8];  // SHA-1 (first five words), SHA-224, SHA-256
    uint64_t wide[8];    // SHA-384, SHA-512
  } chaining;
  uint8_t pending[kSha512BlockSize];  // the partial block not yet compressed
  size_t pending_length;
  // Bytes absorbed so far. Counting bytes in 64 bits caps a message at 2^64 - 1 bytes, far past
  // anything in memory, so the high half of SHA-384/512's 128-bit length field is always zero.
  uint64_t message_length;
};
static_assert(sizeof(HashState) <= kDigestStateSize, "raise kDigestStateSize");
static_assert(alignof(HashState) <= alignof(DigestContext), "DigestContext::state is underaligned");

HashState& StateOf(DigestContext& ctx) {
  return *std::launder(reinterpret_cast<HashState*>(ctx.state));
}

bool UsesWideWords(DigestAlg alg) { return alg == DigestAlg::Sha384 || alg == DigestAlg::Sha512; }

size_t BlockSize(DigestAlg alg) { return UsesWideWords(alg) ? kSha512BlockSize : kSha256BlockSize; }

const VectorUnitHooks* HooksOf(const DigestContext& ctx) {
  return static_cast<const VectorUnitHooks*>(ctx.provider->opaque);
}

#if HVSIG_HAVE_SIMD
// The CPU feature the algorithm's vector path needs (SHA-1 has none).
bool CpuHasVectorPath(DigestAlg alg) {
  switch (alg) {
    case DigestAlg::Sha1: return false;
    case DigestAlg::Sha224:
    case DigestAlg::Sha256: return CpuHas(kCpuShaNi);
    case DigestAlg::Sha384:
    case DigestAlg::Sha512: return CpuHas(kCpuAvx2Bmi2);
  }
  return false;
}
#endif

// Asked once per update or final call rather than per block, so the embedder pays for saving
// vector state once per run of blocks. A true result must be paired with ReleaseVectorUnit.
bool AcquireVectorUnit(const DigestContext& ctx) {
#if HVSIG_HAVE_SIMD
  const VectorUnitHooks* hooks = HooksOf(ctx);
  if (hooks == nullptr) return false;
  if (!CpuHasVectorPath(ctx.alg)) return false;
  return hooks->begin(hooks->opaque);
#else
  static_cast<void>(ctx);
  return false;
#endif
}

void ReleaseVectorUnit(const DigestContext& ctx) {
  const VectorUnitHooks* hooks = HooksOf(ctx);
  hooks->end(hooks->opaque);
}

void Compress(DigestContext& ctx, [[maybe_unused]] bool vector_unit, const uint8_t* blocks,
              size_t count) {
  HashState& state = StateOf(ctx);
  switch (ctx.alg) {
    case DigestAlg::Sha1:
      Sha1Blocks(state.chaining.narrow, blocks, count);
      return;
    case DigestAlg::Sha224:
    case DigestAlg::Sha256:
#if HVSIG_HAVE_SIMD
      if (vector_unit) {
        Sha256BlocksShaNi(state.chaining.narrow, blocks, count);
        return;
      }
#endif
      Sha256Blocks(state.chaining.narrow, blocks, count);
      return;
    case DigestAlg::Sha384:
    case DigestAlg::Sha512:
#if HVSIG_HAVE_SIMD
      if (vector_unit) {
        Sha512BlocksAvx2(state.chaining.wide, blocks, count);
        return;
      }
#endif
      Sha512Blocks(state.chaining.wide, blocks, count);
      return;
  }
}

}  // namespace

Result DigestInit(const CryptoProvider& self, DigestAlg alg, DigestContext& ctx) {
  if (DigestLength(alg) == 0) return Result::CryptoUnsupportedAlgorithm;
  HashState* state = new (ctx.state) HashState{};
  switch (alg) {
    case DigestAlg::Sha1:
      __builtin_memcpy(state->chaining.narrow, kSha1Initial, sizeof(kSha1Initial));
      break;
    case DigestAlg::Sha224:
      __builtin_memcpy(state->chaining.narrow, kSha224Initial, sizeof(kSha224Initial));
      break;
    case DigestAlg::Sha256:
      __builtin_memcpy(state->chaining.narrow, kSha256Initial, sizeof(kSha256Initial));
      break;
    case DigestAlg::Sha384:
      __builtin_memcpy(state->chaining.wide, kSha384Initial, sizeof(kSha384Initial));
      break;
    case DigestAlg::Sha512:
      __builtin_memcpy(state->chaining.wide, kSha512Initial, sizeof(kSha512Initial));
      break;
  }
  ctx.provider = &self;
  ctx.alg = alg;
  return Result::Success;
}

void DigestUpdate(DigestContext& ctx, const uint8_t* data, size_t length) {
  HashState& state = StateOf(ctx);
  const size_t block_size = BlockSize(ctx.alg);
  state.message_length += length;
  if (length < block_size - state.pending_length) {
    // Also covers length 0, where data may be null and must not reach memcpy.
    if (length != 0) __builtin_memcpy(state.pending + state.pending_length, data, length);
    state.pending_length += length;
    return;
  }

  const bool vector_unit = AcquireVectorUnit(ctx);
  if (state.pending_length != 0) {
    const size_t fill = block_size - state.pending_length;
    __builtin_memcpy(state.pending + state.pending_length, data, fill);
    Compress(ctx, vector_unit, state.pending, 1);
    data += fill;
    length -= fill;
  }
  const size_t whole_blocks = length / block_size;
  Compress(ctx, vector_unit, data, whole_blocks);
  if (vector_unit) ReleaseVectorUnit(ctx);

  const size_t consumed = whole_blocks * block_size;
  state.pending_length = length - consumed;
  if (state.pending_length != 0) {
    __builtin_memcpy(state.pending, data + consumed, state.pending_length);
  }
}

void DigestFinal(DigestContext& ctx, uint8_t* out) {
  HashState& state = StateOf(ctx);
  const size_t block_size = BlockSize(ctx.alg);
  // The length field is 64 bits in a 64-byte block and 128 bits in a 128-byte block.
  const size_t length_field_size = block_size / 8;
  const bool vector_unit = AcquireVectorUnit(ctx);

  state.pending[state.pending_length++] = 0x80;
  if (state.pending_length > block_size - length_field_size) {
    // No room left for the length: it goes into one more block.
    __builtin_memset(state.pending + state.pending_length, 0, block_size - state.pending_length);
    Compress(ctx, vector_unit, state.pending, 1);
    state.pending_length = 0;
  }
  __builtin_memset(state.pending + state.pending_length, 0, block_size - 8 - state.pending_length);
  StoreBe64(state.message_length << 3, state.pending + block_size - 8);
  Compress(ctx, vector_unit, state.pending, 1);
  if (vector_unit) ReleaseVectorUnit(ctx);

  const size_t digest_length = DigestLength(ctx.alg);
  if (UsesWideWords(ctx.alg)) {
    for (size_t i = 0; i < digest_length / 8; ++i) StoreBe64(state.chaining.wide[i], out + 8 * i);
  } else {
    for (size_t i = 0; i < digest_length / 4; ++i) StoreBe32(state.chaining.narrow[i], out + 4 * i);
  }
}

// Nothing to free: the state lives in the caller's context.
void DigestRelease(DigestContext&) {}

bool Sha256HasSimd() {
#if HVSIG_HAVE_SIMD
  return CpuHas(kCpuShaNi);
#else
  return false;
#endif
}

bool Sha512HasSimd() {
#if HVSIG_HAVE_SIMD
  return CpuHas(kCpuAvx2Bmi2);
#else
  return false;
#endif
}

}  // namespace hvsig::builtin
