// The builtin digests against OpenSSL's EVP, on both SHA-256 engines: the scalar provider
// (BuiltinProvider) and providers built with VectorUnitHooks that permit or refuse SHA-NI.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <initializer_list>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "hvsig/crypto.h"
#include "hvsig/crypto_builtin.h"
#include "test_support.h"

namespace hvsig {

// Names failing parameters "sha256" rather than "1-byte object <02>" (found by ADL).
void PrintTo(DigestAlg alg, std::ostream* os) { *os << DigestAlgName(alg); }

namespace {

using namespace test;

// Feeds `message` in the given chunk lengths (which must sum to its size, zeros allowed) and
// checks that the digest writes exactly DigestLength(alg) bytes.
Bytes BuiltinDigest(const CryptoProvider& provider, DigestAlg alg, const Bytes& message,
                    const std::vector<size_t>& chunks) {
  DigestContext ctx;
  EXPECT_EQ(Result::Success, provider.digest_init(provider, alg, ctx));
  size_t offset = 0;
  for (size_t chunk : chunks) {
    provider.digest_update(ctx, message.data() + offset, chunk);
    offset += chunk;
  }
  EXPECT_EQ(offset, message.size());
  constexpr uint8_t kGuard = 0xa5;
  Bytes out(kMaxDigestLength + 1, kGuard);
  provider.digest_final(ctx, out.data());
  const size_t length = DigestLength(alg);
  for (size_t i = length; i < out.size(); ++i) {
    EXPECT_EQ(kGuard, out[i]) << "wrote past byte " << length;
  }
  out.resize(length);
  return out;
}

Bytes BuiltinDigest(const CryptoProvider& provider, DigestAlg alg, const Bytes& message) {
  return BuiltinDigest(provider, alg, message, {message.size()});
}

// Splits `total` into random chunk lengths, including empty updates.
std::vector<size_t> RandomChunks(std::mt19937& rng, size_t total) {
  std::vector<size_t> chunks;
  size_t left = total;
  while (left > 0) {
    // Mostly short chunks so that many updates straddle block boundaries.
    const size_t limit = (rng() % 4 == 0) ? left : (left < 150 ? left : 150);
    const size_t chunk = rng() % (limit + 1);
    chunks.push_back(chunk);
    left -= chunk;
  }
  chunks.push_back(0);
  return chunks;
}

// VectorUnitHooks that count calls, check pairing, and permit or refuse the vector unit.
struct HookLog {
  bool permit = true;
  bool inside = false;
  int begins = 0;
  int ends = 0;
};

bool LoggingBegin(void* opaque) {
  HookLog& log = *static_cast<HookLog*>(opaque);
  EXPECT_FALSE(log.inside) << "begin while the vector unit is already held";
  ++log.begins;
  log.inside = log.permit;
  return log.permit;
}

void LoggingEnd(void* opaque) {
  HookLog& log = *static_cast<HookLog*>(opaque);
  EXPECT_TRUE(log.inside) << "end without a successful begin";
  ++log.ends;
  log.inside = false;
}

struct LoggedProvider {
  explicit LoggedProvider(bool permit) { log.permit = permit; }
  HookLog log;
  VectorUnitHooks hooks{LoggingBegin, LoggingEnd, &log};
  CryptoProvider provider = MakeBuiltinProvider(&hooks);
};

class HashTest : public ::testing::TestWithParam<DigestAlg> {};

INSTANTIATE_TEST_SUITE_P(AllAlgs, HashTest, ::testing::ValuesIn(kAllDigestAlgs),
                         [](const ::testing::TestParamInfo<DigestAlg>& info) {
                           return std::string(DigestAlgName(info.param));
                         });

// FIPS 180 example messages: one block, two blocks (448 and 896 bits), and a million 'a's.
TEST_P(HashTest, FipsMessagesMatchOpenSsl) {
  const DigestAlg alg = GetParam();
  const CryptoProvider simd = MakeBuiltinProvider(HostedVectorUnitHooks());
  const std::vector<Bytes> messages = {
      {},
      BytesOf("abc"),
      BytesOf("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      BytesOf("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                 "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
      Bytes(1000000, 'a'),
  };
  for (const Bytes& message : messages) {
    const Bytes expected = OpenSslDigest(alg, message);
    EXPECT_EQ(expected, BuiltinDigest(BuiltinProvider(), alg, message)) << message.size();
    EXPECT_EQ(expected, BuiltinDigest(simd, alg, message)) << message.size();
  }
}

TEST_P(HashTest, RandomLengthsInRandomSplitsMatchOpenSsl) {
  const DigestAlg alg = GetParam();
  const CryptoProvider simd = MakeBuiltinProvider(HostedVectorUnitHooks());
  std::mt19937 rng(0x5eed0000u + static_cast<unsigned>(alg));
  for (int i = 0; i < 300; ++i) {
    const Bytes message = RandomBytes(rng() % 1001, &rng);
    const std::vector<size_t> chunks = RandomChunks(rng, message.size());
    const Bytes expected = OpenSslDigest(alg, message);
    EXPECT_EQ(expected, BuiltinDigest(BuiltinProvider(), alg, message, chunks)) << message.size();
    EXPECT_EQ(expected, BuiltinDigest(simd, alg, message, chunks)) << message.size();
  }
}

// Every length across the first few block boundaries, one byte per update, where the padding
// and the pending-block logic are most likely to slip.
TEST_P(HashTest, ByteAtATimeMatchesOpenSsl) {
  const DigestAlg alg = GetParam();
  std::mt19937 rng(7);
  const Bytes longest = RandomBytes(3 * 128 + 2, &rng);
  for (size_t length = 0; length <= longest.size(); ++length) {
    const Bytes message(longest.begin(), longest.begin() + length);
    const std::vector<size_t> single_bytes(length, 1);
    EXPECT_EQ(OpenSslDigest(alg, message),
              BuiltinDigest(BuiltinProvider(), alg, message, single_bytes))
        << length;
  }
}

TEST_P(HashTest, DigestOnceMatchesOpenSsl) {
  const DigestAlg alg = GetParam();
  std::mt19937 rng(11);
  const Bytes message = RandomBytes(777, &rng);
  Bytes out(DigestLength(alg));
  const Input input(message.data(), message.size());
  ASSERT_EQ(Result::Success, DigestOnce(BuiltinProvider(), alg, input, out.data()));
  EXPECT_EQ(OpenSslDigest(alg, message), out);
}

TEST_P(HashTest, ContextRemembersProviderAndAlgorithm) {
  const DigestAlg alg = GetParam();
  const CryptoProvider simd = MakeBuiltinProvider(HostedVectorUnitHooks());
  DigestContext ctx;
  ASSERT_EQ(Result::Success, simd.digest_init(simd, alg, ctx));
  EXPECT_EQ(&simd, ctx.provider);
  EXPECT_EQ(alg, ctx.alg);
  const uint8_t data[3] = {1, 2, 3};
  ctx.provider->digest_update(ctx, data, sizeof(data));
  ctx.provider->digest_release(ctx);
}

// Whether the builtin provider has a vector path for alg on this CPU.
bool HasVectorPath(DigestAlg alg) {
  switch (alg) {
    case DigestAlg::Sha224:
    case DigestAlg::Sha256: return BuiltinSha256HasSimd();
    case DigestAlg::Sha384:
    case DigestAlg::Sha512: return BuiltinSha512HasSimd();
    default: return false;
  }
}

// SHA-224/256 (SHA-NI) and SHA-384/512 (AVX2) have vector paths; SHA-1 must never ask for the
// vector unit.
TEST_P(HashTest, OnlyVectorPathsAskForVectorUnit) {
  const DigestAlg alg = GetParam();
  LoggedProvider logged(/*permit=*/true);
  std::mt19937 rng(13);
  const Bytes message = RandomBytes(1000, &rng);
  EXPECT_EQ(OpenSslDigest(alg, message), BuiltinDigest(logged.provider, alg, message));
  // One update that compresses blocks, then the final call: one bracket each.
  const int expected = HasVectorPath(alg) ? 2 : 0;
  EXPECT_EQ(expected, logged.log.begins);
  EXPECT_EQ(expected, logged.log.ends);
}

// Every length up to 1100 bytes: each padding case and several blocks, on both sides of the
// block boundaries, with the vector path against the scalar one and OpenSSL.
void ExpectVectorPathMatches(std::initializer_list<DigestAlg> algs) {
  LoggedProvider logged(/*permit=*/true);
  std::mt19937 rng(17);
  const Bytes longest = RandomBytes(1100, &rng);
  for (DigestAlg alg : algs) {
    for (size_t length = 0; length <= longest.size(); ++length) {
      const Bytes message(longest.begin(), longest.begin() + length);
      const int begins_before = logged.log.begins;
      const Bytes simd = BuiltinDigest(logged.provider, alg, message);
      EXPECT_GT(logged.log.begins, begins_before) << "vector path not used at length " << length;
      EXPECT_EQ(BuiltinDigest(BuiltinProvider(), alg, message), simd) << length;
      EXPECT_EQ(OpenSslDigest(alg, message), simd) << length;
    }
  }
  EXPECT_EQ(logged.log.begins, logged.log.ends);
}

TEST(HashSimdTest, ShaNiMatchesScalarAndOpenSslForManyLengths) {
  if (!BuiltinSha256HasSimd()) {
    GTEST_SKIP() << "this CPU lacks SHA-NI (or SSE4.1/SSSE3): the SHA-NI path cannot run here";
  }
  ExpectVectorPathMatches({DigestAlg::Sha224, DigestAlg::Sha256});
}

TEST(HashSimdTest, Avx2Sha512MatchesScalarAndOpenSslForManyLengths) {
  if (!BuiltinSha512HasSimd()) {
    GTEST_SKIP() << "this CPU lacks AVX2 or BMI2 (or the OS does not save YMM state)";
  }
  ExpectVectorPathMatches({DigestAlg::Sha384, DigestAlg::Sha512});
}

// The hooks bracket whole runs of blocks: one begin/end per update call that compresses
// anything (however many blocks) and one for the final call, none for buffer-only updates.
TEST(HashSimdTest, HooksBracketEachUpdateNotEachBlock) {
  if (!BuiltinSha256HasSimd()) {
    GTEST_SKIP() << "this CPU lacks SHA-NI (or SSE4.1/SSSE3): the SHA-NI path cannot run here";
  }
  LoggedProvider logged(/*permit=*/true);
  std::mt19937 rng(19);
  const Bytes message = RandomBytes(10 + 4096 + 20, &rng);
  const Bytes digest = BuiltinDigest(logged.provider, DigestAlg::Sha256, message, {10, 4096, 20});
  // 10: buffered only; 4096: 64 blocks in one bracket; 20: completes no block (10+4096 = 64*64+10,
  // plus 20 is still under a block); final: one bracket.
  EXPECT_EQ(2, logged.log.begins);
  EXPECT_EQ(2, logged.log.ends);
  EXPECT_EQ(OpenSslDigest(DigestAlg::Sha256, message), digest);
}

TEST(HashSimdTest, RefusingHooksForceScalarPath) {
  LoggedProvider logged(/*permit=*/false);
  std::mt19937 rng(23);
  int asks = 0;
  for (DigestAlg alg : {DigestAlg::Sha224, DigestAlg::Sha256, DigestAlg::Sha384, DigestAlg::Sha512}) {
    const Bytes message = RandomBytes(1000, &rng);
    EXPECT_EQ(OpenSslDigest(alg, message), BuiltinDigest(logged.provider, alg, message));
    if (HasVectorPath(alg)) asks += 2;
  }
  // Asked (when the CPU could use it) once per compressing call, and never released since
  // never granted: the scalar path ran.
  EXPECT_EQ(asks, logged.log.begins);
  EXPECT_EQ(0, logged.log.ends);
}

TEST(HashApiTest, UnsupportedAlgorithmIsRejected) {
  for (uint8_t raw : {uint8_t{5}, uint8_t{0xff}}) {
    const DigestAlg alg = static_cast<DigestAlg>(raw);
    DigestContext ctx;
    EXPECT_EQ(Result::CryptoUnsupportedAlgorithm,
              BuiltinProvider().digest_init(BuiltinProvider(), alg, ctx));
    uint8_t out[kMaxDigestLength];
    EXPECT_EQ(Result::CryptoUnsupportedAlgorithm, DigestOnce(BuiltinProvider(), alg, Input(), out));
  }
}

}  // namespace
}  // namespace hvsig
