// The builtin provider's RSA verification against signatures made by OpenSSL at test time.
// Keys are generated per test process (each gtest case is its own ctest entry), lazily and once.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <climits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "crypto/builtin/bignum.h"
#include "crypto/builtin/cpu_features.h"
#include "hvsig/crypto.h"
#include "hvsig/crypto_builtin.h"
#include "test_support.h"

namespace hvsig {
namespace {

using namespace test;

BnPtr PkeyBn(EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(pkey, name, &bn), 1) << name;
  return BnPtr(bn);
}

// magnitude + delta, big-endian, minimal.
Bytes AddToMagnitude(const Bytes& magnitude, long delta) {
  BnPtr value = BnFromBytes(magnitude);
  EXPECT_EQ(delta >= 0 ? BN_add_word(value.get(), static_cast<BN_ULONG>(delta))
                       : BN_sub_word(value.get(), static_cast<BN_ULONG>(-delta)),
            1);
  return BnToBytes(value.get());
}

Bytes MessageDigest(DigestAlg alg) {
  const std::string message = "hvsig rsa test message";
  return OpenSslDigest(alg, BytesOf(message));
}

struct TestKey {
  PkeyPtr pkey;
  Bytes modulus;   // big-endian, minimal
  Bytes exponent;  // big-endian, minimal
  int bits = 0;

  RsaPublicKey View() const { return RsaPublicKey{In(modulus), In(exponent)}; }
  // RFC 8017 9.1: emLen = ceil((modBits - 1) / 8).
  size_t EmLength() const { return (size_t(bits) - 1 + 7) / 8; }
};

TestKey FromPkey(PkeyPtr pkey) {
  TestKey key;
  key.modulus = BnToBytes(PkeyBn(pkey.get(), OSSL_PKEY_PARAM_RSA_N).get());
  key.exponent = BnToBytes(PkeyBn(pkey.get(), OSSL_PKEY_PARAM_RSA_E).get());
  key.bits = EVP_PKEY_get_bits(pkey.get());
  key.pkey = std::move(pkey);
  return key;
}

TestKey GenerateKey(int bits, unsigned long exponent, int primes) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EXPECT_EQ(EVP_PKEY_keygen_init(ctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits), 1);
  BnPtr e(BN_new());
  BN_set_word(e.get(), exponent);
  EXPECT_EQ(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx.get(), e.get()), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_keygen_primes(ctx.get(), primes), 1);
  EVP_PKEY* pkey = nullptr;
  EXPECT_EQ(EVP_PKEY_generate(ctx.get(), &pkey), 1);
  TestKey key = FromPkey(PkeyPtr(pkey));
  EXPECT_EQ(key.bits, bits);
  return key;
}

// A two-prime key from its factors and public exponent; false if e is not invertible.
bool KeyFromFactors(const BIGNUM* p, const BIGNUM* q, const BIGNUM* e, TestKey& out) {
  BN_CTX* bn_ctx = BN_CTX_new();
  BnPtr n(BN_new()), p1(BN_dup(p)), q1(BN_dup(q)), phi(BN_new()), d(BN_new()), dp(BN_new()),
      dq(BN_new()), qinv(BN_new());
  BN_mul(n.get(), p, q, bn_ctx);
  BN_sub_word(p1.get(), 1);
  BN_sub_word(q1.get(), 1);
  BN_mul(phi.get(), p1.get(), q1.get(), bn_ctx);
  const bool invertible = BN_mod_inverse(d.get(), e, phi.get(), bn_ctx) != nullptr;
  BN_mod(dp.get(), d.get(), p1.get(), bn_ctx);
  BN_mod(dq.get(), d.get(), q1.get(), bn_ctx);
  BN_mod_inverse(qinv.get(), q, p, bn_ctx);
  BN_CTX_free(bn_ctx);
  if (!invertible) return false;

  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n.get());
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d.get());
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp.get());
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq.get());
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qinv.get());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EXPECT_EQ(EVP_PKEY_fromdata_init(ctx.get()), 1);
  EVP_PKEY* pkey = nullptr;
  EXPECT_EQ(EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_KEYPAIR, params), 1);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  out = FromPkey(PkeyPtr(pkey));
  return true;
}

// A 2048-bit key whose public exponent is about as long as the modulus: a random odd e below
// the modulus, invertible modulo (p-1)(q-1).
TestKey GenerateLargeExponentKey() {
  const TestKey base = GenerateKey(2048, 65537, 2);
  BnPtr n = PkeyBn(base.pkey.get(), OSSL_PKEY_PARAM_RSA_N);
  BnPtr p = PkeyBn(base.pkey.get(), OSSL_PKEY_PARAM_RSA_FACTOR1);
  BnPtr q = PkeyBn(base.pkey.get(), OSSL_PKEY_PARAM_RSA_FACTOR2);
  BnPtr e(BN_new());
  TestKey key;
  do {
    BN_rand_range(e.get(), n.get());
    BN_set_bit(e.get(), 0);
  } while (BN_num_bits(e.get()) < 2000 || !KeyFromFactors(p.get(), q.get(), e.get(), key));
  return key;
}

// OpenSSL's keygen rounds odd sizes down, so an odd-sized modulus is built from two primes.
TestKey GenerateOddSizeKey(int bits) {
  BnPtr p(BN_new()), q(BN_new()), n(BN_new()), e(BN_new());
  BN_set_word(e.get(), 65537);
  BN_CTX* bn_ctx = BN_CTX_new();
  TestKey key;
  do {
    BN_generate_prime_ex(p.get(), bits / 2 + 1, 0, nullptr, nullptr, nullptr);
    BN_generate_prime_ex(q.get(), bits / 2, 0, nullptr, nullptr, nullptr);
    BN_mul(n.get(), p.get(), q.get(), bn_ctx);
  } while (BN_num_bits(n.get()) != bits || !KeyFromFactors(p.get(), q.get(), e.get(), key));
  BN_CTX_free(bn_ctx);
  return key;
}

enum class KeyKind {
  Rsa2048,
  Rsa3072,
  Rsa4096,
  Rsa2048E3,
  Rsa2049,
  Rsa2050,
  Rsa2048LargeE,
  Rsa8192,
};

const TestKey& Key(KeyKind kind) {
  static std::map<KeyKind, TestKey> cache;
  auto it = cache.find(kind);
  if (it != cache.end()) return it->second;
  TestKey key;
  switch (kind) {
    case KeyKind::Rsa2048: key = GenerateKey(2048, 65537, 2); break;
    case KeyKind::Rsa3072: key = GenerateKey(3072, 65537, 2); break;
    case KeyKind::Rsa4096: key = GenerateKey(4096, 65537, 2); break;
    case KeyKind::Rsa2048E3: key = GenerateKey(2048, 3, 2); break;
    // modBits = 8k + 1: the PSS encoding is one octet shorter than the modulus.
    case KeyKind::Rsa2049: key = GenerateOddSizeKey(2049); break;
    // modBits = 8k + 2: seven unused top bits in the PSS encoding.
    case KeyKind::Rsa2050: key = GenerateKey(2050, 65537, 2); break;
    case KeyKind::Rsa2048LargeE: key = GenerateLargeExponentKey(); break;
    // Five primes: the verifier does not care, and keygen takes seconds instead of minutes.
    case KeyKind::Rsa8192: key = GenerateKey(8192, 65537, 5); break;
  }
  return cache.emplace(kind, std::move(key)).first->second;
}

PkeyCtxPtr SignContext(const TestKey& key, int padding) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.pkey.get(), nullptr));
  EXPECT_EQ(EVP_PKEY_sign_init(ctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), padding), 1);
  return ctx;
}

Bytes Sign(EVP_PKEY_CTX* ctx, const Bytes& input) {
  size_t length = 0;
  EXPECT_EQ(EVP_PKEY_sign(ctx, nullptr, &length, input.data(), input.size()), 1);
  Bytes signature(length);
  EXPECT_EQ(EVP_PKEY_sign(ctx, signature.data(), &length, input.data(), input.size()), 1);
  signature.resize(length);
  return signature;
}

Bytes SignPkcs1(const TestKey& key, DigestAlg alg, const Bytes& digest) {
  PkeyCtxPtr ctx = SignContext(key, RSA_PKCS1_PADDING);
  EXPECT_EQ(EVP_PKEY_CTX_set_signature_md(ctx.get(), OpenSslMd(alg)), 1);
  return Sign(ctx.get(), digest);
}

Bytes SignPss(const TestKey& key, DigestAlg alg, DigestAlg mgf1_alg, int salt_length,
              const Bytes& digest) {
  PkeyCtxPtr ctx = SignContext(key, RSA_PKCS1_PSS_PADDING);
  EXPECT_EQ(EVP_PKEY_CTX_set_signature_md(ctx.get(), OpenSslMd(alg)), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), OpenSslMd(mgf1_alg)), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), salt_length), 1);
  return Sign(ctx.get(), digest);
}

// The RSA private-key operation on a value of the modulus length, for crafted encodings.
Bytes RawSign(const TestKey& key, const Bytes& value) {
  PkeyCtxPtr ctx = SignContext(key, RSA_NO_PADDING);
  return Sign(ctx.get(), value);
}

bool OpensslVerifiesPss(const TestKey& key, DigestAlg alg, int salt_length, const Bytes& digest,
                        const Bytes& signature) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.pkey.get(), nullptr));
  EXPECT_EQ(EVP_PKEY_verify_init(ctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_signature_md(ctx.get(), OpenSslMd(alg)), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), salt_length), 1);
  return EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest.data(),
                         digest.size()) == 1;
}

Result VerifyPkcs1(const RsaPublicKey& key, DigestAlg alg, const Bytes& digest,
                   const Bytes& signature) {
  const CryptoProvider& p = BuiltinProvider();
  return p.verify_rsa_pkcs1(p, key, alg, In(digest), In(signature));
}

Result VerifyPss(const RsaPublicKey& key, DigestAlg alg, DigestAlg mgf1_alg, int32_t salt_length,
                 const Bytes& digest, const Bytes& signature) {
  const CryptoProvider& p = BuiltinProvider();
  return p.verify_rsa_pss(p, key, alg, mgf1_alg, salt_length, In(digest), In(signature));
}

Result CheckKey(const Bytes& modulus, const Bytes& exponent) {
  const CryptoProvider& p = BuiltinProvider();
  return p.check_rsa_key(p, RsaPublicKey{In(modulus), In(exponent)});
}

// ---- Valid signatures over every key shape ----

class RsaKeyTest : public testing::TestWithParam<KeyKind> {};

TEST_P(RsaKeyTest, Pkcs1EveryDigestVerifies) {
  const TestKey& key = Key(GetParam());
  for (DigestAlg alg : kAllDigestAlgs) {
    SCOPED_TRACE(DigestAlgName(alg));
    const Bytes digest = MessageDigest(alg);
    const Bytes signature = SignPkcs1(key, alg, digest);
    EXPECT_EQ(VerifyPkcs1(key.View(), alg, digest, signature), Result::Success);
  }
}

TEST_P(RsaKeyTest, PssEverySaltLengthVerifies) {
  const TestKey& key = Key(GetParam());
  for (DigestAlg alg : kAllDigestAlgs) {
    const int hash_length = int(DigestLength(alg));
    const int max_salt = int(key.EmLength()) - hash_length - 2;
    for (int salt_length : {0, 20, hash_length, max_salt}) {
      SCOPED_TRACE(std::string(DigestAlgName(alg)) + " salt " + std::to_string(salt_length));
      const Bytes digest = MessageDigest(alg);
      const Bytes signature = SignPss(key, alg, alg, salt_length, digest);
      EXPECT_EQ(VerifyPss(key.View(), alg, alg, salt_length, digest, signature), Result::Success);
      EXPECT_EQ(VerifyPss(key.View(), alg, alg, -1, digest, signature), Result::Success);
    }
  }
}

TEST_P(RsaKeyTest, PssMgf1WithOtherDigestVerifies) {
  const TestKey& key = Key(GetParam());
  const struct {
    DigestAlg alg;
    DigestAlg mgf1_alg;
  } cases[] = {{DigestAlg::Sha256, DigestAlg::Sha1},
               {DigestAlg::Sha256, DigestAlg::Sha512},
               {DigestAlg::Sha512, DigestAlg::Sha224}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(DigestAlgName(c.alg)) + " mgf1 " + DigestAlgName(c.mgf1_alg));
    const Bytes digest = MessageDigest(c.alg);
    const Bytes signature = SignPss(key, c.alg, c.mgf1_alg, 32, digest);
    EXPECT_EQ(VerifyPss(key.View(), c.alg, c.mgf1_alg, 32, digest, signature), Result::Success);
    EXPECT_EQ(VerifyPss(key.View(), c.alg, c.alg, 32, digest, signature),
              Result::CryptoBadSignature);
  }
}

INSTANTIATE_TEST_SUITE_P(Keys, RsaKeyTest,
                         testing::Values(KeyKind::Rsa2048, KeyKind::Rsa3072, KeyKind::Rsa4096,
                                         KeyKind::Rsa2048E3, KeyKind::Rsa2049, KeyKind::Rsa2050,
                                         KeyKind::Rsa2048LargeE),
                         [](const testing::TestParamInfo<KeyKind>& info) {
                           switch (info.param) {
                             case KeyKind::Rsa2048: return "Rsa2048";
                             case KeyKind::Rsa3072: return "Rsa3072";
                             case KeyKind::Rsa4096: return "Rsa4096";
                             case KeyKind::Rsa2048E3: return "Rsa2048E3";
                             case KeyKind::Rsa2049: return "Rsa2049";
                             case KeyKind::Rsa2050: return "Rsa2050";
                             case KeyKind::Rsa2048LargeE: return "Rsa2048LargeE";
                             case KeyKind::Rsa8192: return "Rsa8192";
                           }
                           return "Unknown";
                         });

TEST(Rsa, Rsa8192VerifiesAndRejects) {
  const TestKey& key = Key(KeyKind::Rsa8192);
  ASSERT_EQ(key.bits, 8192);
  const CryptoProvider& p = BuiltinProvider();
  EXPECT_EQ(p.check_rsa_key(p, key.View()), Result::Success);
  for (DigestAlg alg : {DigestAlg::Sha256, DigestAlg::Sha512}) {
    SCOPED_TRACE(DigestAlgName(alg));
    const Bytes digest = MessageDigest(alg);
    Bytes signature = SignPkcs1(key, alg, digest);
    EXPECT_EQ(VerifyPkcs1(key.View(), alg, digest, signature), Result::Success);
    signature.back() ^= 1;
    EXPECT_EQ(VerifyPkcs1(key.View(), alg, digest, signature), Result::CryptoBadSignature);

    Bytes pss = SignPss(key, alg, alg, 32, digest);
    EXPECT_EQ(VerifyPss(key.View(), alg, alg, 32, digest, pss), Result::Success);
    EXPECT_EQ(VerifyPss(key.View(), alg, alg, -1, digest, pss), Result::Success);
    pss.back() ^= 1;
    EXPECT_EQ(VerifyPss(key.View(), alg, alg, 32, digest, pss), Result::CryptoBadSignature);
  }
}

// ---- Rejections on a 2048-bit key ----

// A flipped bit can push s to n or above, which has its own error.
Result ExpectedForAlteredSignature(const TestKey& key, const Bytes& signature) {
  return signature < key.modulus ? Result::CryptoBadSignature : Result::CryptoSignatureOutOfRange;
}

TEST(Rsa, FlippedSignatureBitIsRejected) {
  const TestKey& key = Key(KeyKind::Rsa2048);
  const Bytes digest = MessageDigest(DigestAlg::Sha256);
  const Bytes pkcs1 = SignPkcs1(key, DigestAlg::Sha256, digest);
  const Bytes pss = SignPss(key, DigestAlg::Sha256, DigestAlg::Sha256, 32, digest);
  for (size_t byte : {pkcs1.size() - 1, pkcs1.size() / 2, size_t(1), size_t(0)}) {
    for (int bit : {0, 7}) {
      SCOPED_TRACE(std::to_string(byte) + ":" + std::to_string(bit));
      Bytes bad = pkcs1;
      bad[byte] ^= uint8_t(1 << bit);
      EXPECT_EQ(VerifyPkcs1(key.View(), DigestAlg::Sha256, digest, bad),
                ExpectedForAlteredSignature(key, bad));
      bad = pss;
      bad[byte] ^= uint8_t(1 << bit);
      EXPECT_EQ(VerifyPss(key.View(), DigestAlg::Sha256, DigestAlg::Sha256, 32, digest, bad),
                ExpectedForAlteredSignature(key, bad));
      EXPECT_EQ(VerifyPss(key.View(), DigestAlg::Sha256, DigestAlg::Sha256, -1, digest, bad),
                ExpectedForAlteredSignature(key, bad));
    }
  }
}

TEST(Rsa, FlippedDigestBitIsRejected) {
  const TestKey& key = Key(KeyKind::Rsa2048);
  for (DigestAlg alg : kAllDigestAlgs) {
    SCOPED_TRACE(DigestAlgName(alg));
    const Bytes digest = MessageDigest(alg);
    const Bytes pkcs1 = SignPkcs1(key, alg, digest);
    const Bytes pss = SignPss(key, alg, alg, 16, digest);
    for (size_t byte : {size_t(0), digest.size() - 1}) {
      Bytes bad = digest;
      bad[byte] ^= 0x01;
      EXPECT_EQ(VerifyPkcs1(key.View(), alg, bad, pkcs1), Result::CryptoBadSignature);
      EXPECT_EQ(VerifyPss(key.View(), alg, alg, 16, bad, pss), Result::CryptoBadSignature);
      EXPECT_EQ(VerifyPss(key.View(), alg, alg, -1, bad, pss), Result::CryptoBadSignature);
    }
  }
}

TEST(Rsa, WrongDigestAlgorithmIsRejected) {
  const TestKey& key = Key(KeyKind::Rsa2048);
  const Bytes digest256 = MessageDigest(DigestAlg::Sha256);
  const Bytes pkcs1 = SignPkcs1(key, DigestAlg::Sha256, digest256);
  const Bytes pss = SignPss(key, DigestAlg::Sha256, DigestAlg::Sha256, 32, digest256);

  // Same message, other hash: the DigestInfo (PKCS#1) or H' (PSS) differs.
  const Bytes digest384 = MessageDigest(DigestAlg::Sha384);
  EXPECT_EQ(VerifyPkcs1(key.View(), DigestAlg::Sha384, digest384, pkcs1),
            Result::CryptoBadSignature);
  EXPECT_EQ(VerifyPss(key.View(), DigestAlg::Sha384, DigestAlg::Sha256, 32, digest384, pss),
            Result::CryptoBadSignature);

  // The SHA-256 digest announced as another algorithm.
  EXPECT_EQ(VerifyPkcs1(key.View(), DigestAlg::Sha384, digest256, pkcs1),
            Result::CryptoBadDigestLength);
  EXPECT_EQ(VerifyPkcs1(key.View(), DigestAlg::Sha224, digest256, pkcs1),
            Result::CryptoBadDigestLength);
  EXPECT_EQ(VerifyPss(key.View(), DigestAlg::Sha512, DigestAlg::Sha256, 32, digest256, pss),
            Result::CryptoBadDigestLength);

  // A truncated digest of the right algorithm.
  const Bytes truncated(digest256.begin(), digest256.end() - 1);
  EXPECT_EQ(VerifyPkcs1(key.View(), DigestAlg::Sha256, truncated, pkcs1),
            Result::CryptoBadDigestLength);
  EXPECT_EQ(VerifyPss(key.View(), DigestAlg::Sha256, DigestAlg::Sha256, 32, truncated, pss),
            Result::CryptoBadDigestLength);

  // An out-of-range enum value from a confused caller.
  const DigestAlg bogus = static_cast<DigestAlg>(200);
  EXPECT_EQ(VerifyPkcs1(key.View(), bogus, digest256, pkcs1), Result::CryptoUnsupportedAlgorithm);
  EXPECT_EQ(VerifyPss(key.View(), bogus, DigestAlg::Sha256, 32, digest256, pss),
            Result::CryptoUnsupportedAlgorithm);
  EXPECT_EQ(VerifyPss(key.View(), DigestAlg::Sha256, bogus, 32, digest256, pss),
            Result::CryptoUnsupportedAlgorithm);
}

TEST(Rsa, PaddingSchemesAreNotInterchangeable) {
  const TestKey& key = Key(KeyKind::Rsa2048);
  for (DigestAlg alg : kAllDigestAlgs) {
    SCOPED_TRACE(DigestAlgName(alg));
    const Bytes digest = MessageDigest(alg);
    const Bytes pkcs1 = SignPkcs1(key, alg, digest);
    const Bytes pss = SignPss(key, alg, alg, int(DigestLength(alg)), digest);
    EXPECT_EQ(VerifyPss(key.View(), alg, alg, int32_t(DigestLength(alg)), digest, pkcs1),
              Result::CryptoBadSignature);
    EXPECT_EQ(VerifyPss(key.View(), alg, alg, -1, digest, pkcs1), Result::CryptoBadSignature);
    EXPECT_EQ(VerifyPkcs1(key.View(), alg, digest, pss), Result::CryptoBadSignature);
  }
}

TEST(Rsa, PssWrongSaltLengthIsRejected) {
  const TestKey& key = Key(KeyKind::Rsa2048);
  const Bytes digest = MessageDigest(DigestAlg::Sha256);
  const Bytes signature = SignPss(key, DigestAlg::Sha256, DigestAlg::Sha256, 32, digest);
  const int max_salt = int(key.EmLength()) - 32 - 2;
  for (int32_t salt_length : {0, 31, 33, 64, max_salt, max_salt + 1, INT32_MAX}) {
    SCOPED_TRACE(salt_length);
    EXPECT_EQ(VerifyPss(key.View(), DigestAlg::Sha256, DigestAlg::Sha256, salt_length, digest,
                        signature),
              Result::CryptoBadSignature);
  }
  // Zero-length salt signed, other lengths expected.
  const Bytes unsalted = SignPss(key, DigestAlg::Sha256, DigestAlg::Sha256, 0, digest);
  EXPECT_EQ(VerifyPss(key.View(), DigestAlg::Sha256, DigestAlg::Sha256, 1, digest, unsalted),
            Result::CryptoBadSignature);
  EXPECT_EQ(VerifyPss(key.View(), DigestAlg::Sha256, DigestAlg::Sha256, 0, digest, unsalted),
            Result::Success);
}

// Both schemes judge a signature's size and range before its padding.
void ExpectBothSchemesReject(const TestKey& key, const Bytes& digest,
                             std::initializer_list<Bytes> signatures, Result expected) {
  for (const Bytes& s : signatures) {
    EXPECT_EQ(VerifyPkcs1(key.View(), DigestAlg::Sha256, digest, s), expected);
    EXPECT_EQ(VerifyPss(key.View(), DigestAlg::Sha256, DigestAlg::Sha256, -1, digest, s), expected);
  }
}

TEST(Rsa, SignatureOutOfRangeIsRejected) {
  const TestKey& key = Key(KeyKind::Rsa2048);
  const Bytes digest = MessageDigest(DigestAlg::Sha256);
  const Bytes equal_to_n = key.modulus;
  const Bytes all_ones(key.modulus.size(), 0xff);
  const Bytes n_plus_two = AddToMagnitude(key.modulus, 2);
  ASSERT_EQ(n_plus_two.size(), key.modulus.size());
  ExpectBothSchemesReject(key, digest, {equal_to_n, all_ones, n_plus_two},
                          Result::CryptoSignatureOutOfRange);
}

TEST(Rsa, SignatureLengthMustEqualModulusLength) {
  const TestKey& key = Key(KeyKind::Rsa2048);
  const Bytes digest = MessageDigest(DigestAlg::Sha256);
  const Bytes signature = SignPkcs1(key, DigestAlg::Sha256, digest);
  ASSERT_EQ(VerifyPkcs1(key.View(), DigestAlg::Sha256, digest, signature), Result::Success);

  const Bytes with_leading_zero = Concat({{0x00}, signature});
  const Bytes short_signature(signature.begin() + 1, signature.end());
  ExpectBothSchemesReject(key, digest, {with_leading_zero, short_signature, Bytes()},
                          Result::CryptoBadSignatureLength);
}

TEST(Rsa, LeadingZeroOctetsInKeyAreAccepted) {
  const TestKey& key = Key(KeyKind::Rsa2048);
  const Bytes digest = MessageDigest(DigestAlg::Sha256);
  const Bytes signature = SignPkcs1(key, DigestAlg::Sha256, digest);
  Bytes modulus = {0x00, 0x00};
  modulus.insert(modulus.end(), key.modulus.begin(), key.modulus.end());
  Bytes exponent = {0x00};
  exponent.insert(exponent.end(), key.exponent.begin(), key.exponent.end());
  const RsaPublicKey padded{In(modulus), In(exponent)};
  EXPECT_EQ(CheckKey(modulus, exponent), Result::Success);
  EXPECT_EQ(VerifyPkcs1(padded, DigestAlg::Sha256, digest, signature), Result::Success);
  // The signature length is the modulus's, not the encoding's.
  Bytes long_signature = {0x00, 0x00};
  long_signature.insert(long_signature.end(), signature.begin(), signature.end());
  EXPECT_EQ(VerifyPkcs1(padded, DigestAlg::Sha256, digest, long_signature),
            Result::CryptoBadSignatureLength);
}

// ---- Key validation ----

Bytes OddNumberOfBits(size_t bits) {
  Bytes value((bits + 7) / 8, 0xa5);
  value[0] = uint8_t(1u << ((bits - 1) % 8));
  value.back() |= 1;
  return value;
}

TEST(Rsa, ModulusChecks) {
  const Bytes e = {0x01, 0x00, 0x01};
  const TestKey& key = Key(KeyKind::Rsa2048);
  EXPECT_EQ(CheckKey(key.modulus, e), Result::Success);

  Bytes even = key.modulus;
  even.back() ^= 1;
  EXPECT_EQ(CheckKey(even, e), Result::CryptoBadKey);
  EXPECT_EQ(CheckKey(Bytes(256, 0x00), e), Result::CryptoBadKey);
  EXPECT_EQ(CheckKey(Bytes(), e), Result::CryptoBadKey);

  EXPECT_EQ(CheckKey(OddNumberOfBits(1024), e), Result::CryptoKeyTooSmall);
  EXPECT_EQ(CheckKey(OddNumberOfBits(2047), e), Result::CryptoKeyTooSmall);
  EXPECT_EQ(CheckKey(OddNumberOfBits(2048), e), Result::Success);
  EXPECT_EQ(CheckKey(OddNumberOfBits(8192), e), Result::Success);
  EXPECT_EQ(CheckKey(Bytes(1024, 0xff), e), Result::Success);
  EXPECT_EQ(CheckKey(OddNumberOfBits(8193), e), Result::CryptoKeyTooLarge);
  EXPECT_EQ(CheckKey(OddNumberOfBits(16384), e), Result::CryptoKeyTooLarge);
}

TEST(Rsa, RealSmallKeyIsTooSmall) {
  const TestKey small = GenerateKey(1024, 65537, 2);
  const Bytes digest = MessageDigest(DigestAlg::Sha256);
  const Bytes signature = SignPkcs1(small, DigestAlg::Sha256, digest);
  EXPECT_EQ(CheckKey(small.modulus, small.exponent), Result::CryptoKeyTooSmall);
  EXPECT_EQ(VerifyPkcs1(small.View(), DigestAlg::Sha256, digest, signature),
            Result::CryptoKeyTooSmall);
}

TEST(Rsa, ExponentChecks) {
  const TestKey& key = Key(KeyKind::Rsa2048);
  const Bytes& n = key.modulus;
  EXPECT_EQ(CheckKey(n, {0x03}), Result::Success);
  EXPECT_EQ(CheckKey(n, {0x00, 0x03}), Result::Success);
  EXPECT_EQ(CheckKey(n, {}), Result::CryptoBadKey);
  EXPECT_EQ(CheckKey(n, {0x00}), Result::CryptoBadKey);
  EXPECT_EQ(CheckKey(n, {0x01}), Result::CryptoBadKey);
  EXPECT_EQ(CheckKey(n, {0x00, 0x01}), Result::CryptoBadKey);
  EXPECT_EQ(CheckKey(n, {0x02}), Result::CryptoBadKey);
  EXPECT_EQ(CheckKey(n, {0x01, 0x00, 0x00}), Result::CryptoBadKey);
  EXPECT_EQ(CheckKey(n, {0x01, 0x00}), Result::CryptoBadKey);
  EXPECT_EQ(CheckKey(n, n), Result::CryptoBadKey);
  Bytes above_n = n;
  above_n.insert(above_n.begin(), 0x01);  // n + 2^2048, odd
  EXPECT_EQ(CheckKey(n, above_n), Result::CryptoBadKey);
  EXPECT_EQ(CheckKey(n, AddToMagnitude(n, -2)), Result::Success);

  // The same rejections through verify.
  const Bytes digest = MessageDigest(DigestAlg::Sha256);
  const Bytes signature = SignPkcs1(key, DigestAlg::Sha256, digest);
  const Bytes one = {0x01};
  EXPECT_EQ(VerifyPkcs1(RsaPublicKey{In(n), In(one)}, DigestAlg::Sha256, digest, signature),
            Result::CryptoBadKey);
  EXPECT_EQ(VerifyPss(RsaPublicKey{In(n), In(n)}, DigestAlg::Sha256, DigestAlg::Sha256, -1,
                      digest, signature),
            Result::CryptoBadKey);
}

// ---- Crafted encodings (raw private-key operation) ----

// 00 01 FF..FF 00 || body, to the modulus length.
Bytes Pkcs1Encoding(const TestKey& key, const Bytes& body) {
  Bytes em(key.modulus.size(), 0xff);
  em[0] = 0x00;
  em[1] = 0x01;
  em[em.size() - body.size() - 1] = 0x00;
  std::copy(body.begin(), body.end(), em.end() - body.size());
  return em;
}

TEST(Rsa, Pkcs1DigestInfoMustBeExact) {
  for (KeyKind kind : {KeyKind::Rsa2048, KeyKind::Rsa2048E3}) {
    const TestKey& key = Key(kind);
    const Bytes digest = MessageDigest(DigestAlg::Sha256);
    const Bytes oid = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};
    const Bytes with_null =
        Concat({{0x30, 0x31, 0x30, 0x0d}, oid, {0x05, 0x00, 0x04, 0x20}, digest});
    const Bytes without_null = Concat({{0x30, 0x2f, 0x30, 0x0b}, oid, {0x04, 0x20}, digest});

    // Control: the crafting path produces what OpenSSL's own PKCS#1 signer does.
    const Bytes control = RawSign(key, Pkcs1Encoding(key, with_null));
    EXPECT_EQ(control, SignPkcs1(key, DigestAlg::Sha256, digest));
    EXPECT_EQ(VerifyPkcs1(key.View(), DigestAlg::Sha256, digest, control), Result::Success);

    const Bytes forged = RawSign(key, Pkcs1Encoding(key, without_null));
    EXPECT_EQ(VerifyPkcs1(key.View(), DigestAlg::Sha256, digest, forged),
              Result::CryptoBadSignature);

    // Bytes after the DigestInfo (the e = 3 forgery shape) and a block type 2 header.
    const Bytes trailing = RawSign(key, Pkcs1Encoding(key, Concat({with_null, {0x00, 0x00}})));
    EXPECT_EQ(VerifyPkcs1(key.View(), DigestAlg::Sha256, digest, trailing),
              Result::CryptoBadSignature);
    Bytes type2 = Pkcs1Encoding(key, with_null);
    type2[1] = 0x02;
    EXPECT_EQ(VerifyPkcs1(key.View(), DigestAlg::Sha256, digest, RawSign(key, type2)),
              Result::CryptoBadSignature);
    // A padding octet other than FF.
    Bytes bad_padding = Pkcs1Encoding(key, with_null);
    bad_padding[10] = 0xfe;
    EXPECT_EQ(VerifyPkcs1(key.View(), DigestAlg::Sha256, digest, RawSign(key, bad_padding)),
              Result::CryptoBadSignature);
  }
}

Bytes Mgf1(DigestAlg alg, const Bytes& seed, size_t length) {
  Bytes mask;
  for (uint32_t counter = 0; mask.size() < length; ++counter) {
    const Bytes block = OpenSslDigest(
        alg, Concat({seed, {uint8_t(counter >> 24), uint8_t(counter >> 16), uint8_t(counter >> 8),
                            uint8_t(counter)}}));
    mask.insert(mask.end(), block.begin(), block.end());
  }
  mask.resize(length);
  return mask;
}

// EMSA-PSS-ENCODE (RFC 8017 9.1.1) with a given salt, emLen octets, top bits not cleared.
Bytes PssEncoding(const TestKey& key, DigestAlg alg, const Bytes& message_hash, const Bytes& salt) {
  const size_t em_length = key.EmLength();
  const Bytes h = OpenSslDigest(alg, Concat({Bytes(8, 0x00), message_hash, salt}));
  Bytes db(em_length - h.size() - 1, 0x00);
  db[db.size() - salt.size() - 1] = 0x01;
  std::copy(salt.begin(), salt.end(), db.end() - salt.size());
  const Bytes mask = Mgf1(alg, h, db.size());
  for (size_t i = 0; i < db.size(); ++i) db[i] ^= mask[i];
  return Concat({db, h, {0xbc}});
}

// The control encoding (SHA-256, 32-octet salt) signed as is verifies, OpenSSL agreeing; the
// forged one, differing only in the rule under test, is rejected.
void ExpectOnlyControlPssVerifies(const TestKey& key, const Bytes& digest, const Bytes& control,
                                  const Bytes& forged) {
  const Bytes control_signature = RawSign(key, control);
  ASSERT_TRUE(OpensslVerifiesPss(key, DigestAlg::Sha256, 32, digest, control_signature));
  ASSERT_EQ(VerifyPss(key.View(), DigestAlg::Sha256, DigestAlg::Sha256, 32, digest,
                      control_signature),
            Result::Success);
  EXPECT_EQ(VerifyPss(key.View(), DigestAlg::Sha256, DigestAlg::Sha256, 32, digest,
                      RawSign(key, forged)),
            Result::CryptoBadSignature);
}

TEST(Rsa, PssUnusedTopBitsMustBeZero) {
  // 2048 bits: emBits = 2047, so the top bit of EM must be clear.
  const TestKey& key = Key(KeyKind::Rsa2048);
  const Bytes digest = MessageDigest(DigestAlg::Sha256);
  // Find a salt whose masked top octet stays below n's top octet with the top bit set, so the
  // forged value is still < n and reaches the check.
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const Bytes salt = RandomBytes(32);
    Bytes em = PssEncoding(key, DigestAlg::Sha256, digest, salt);
    em[0] &= 0x7f;
    if ((em[0] | 0x80) >= key.modulus[0]) continue;
    Bytes forged = em;
    forged[0] |= 0x80;
    ExpectOnlyControlPssVerifies(key, digest, em, forged);
    return;
  }
  FAIL() << "no suitable salt found";
}

TEST(Rsa, PssLeadingOctetMustBeZeroWhenEncodingIsShorter) {
  // 2049 bits: k = 257 octets but emLen = 256, so the recovered integer must fit in emLen.
  const TestKey& key = Key(KeyKind::Rsa2049);
  ASSERT_EQ(key.modulus.size(), key.EmLength() + 1);
  const Bytes digest = MessageDigest(DigestAlg::Sha256);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const Bytes salt = RandomBytes(32);
    const Bytes em = PssEncoding(key, DigestAlg::Sha256, digest, salt);
    if (em[0] >= key.modulus[1]) continue;
    ExpectOnlyControlPssVerifies(key, digest, Concat({{0x00}, em}), Concat({{0x01}, em}));
    return;
  }
  FAIL() << "no suitable salt found";
}

TEST(Rsa, PssStructureViolationsAreRejected) {
  const TestKey& key = Key(KeyKind::Rsa2048);
  const Bytes digest = MessageDigest(DigestAlg::Sha256);
  const Bytes salt = RandomBytes(20);
  Bytes em = PssEncoding(key, DigestAlg::Sha256, digest, salt);
  em[0] &= 0x7f;
  ASSERT_EQ(VerifyPss(key.View(), DigestAlg::Sha256, DigestAlg::Sha256, 20, digest,
                      RawSign(key, em)),
            Result::Success);

  Bytes bad_trailer = em;
  bad_trailer.back() = 0xbd;
  EXPECT_EQ(VerifyPss(key.View(), DigestAlg::Sha256, DigestAlg::Sha256, 20, digest,
                      RawSign(key, bad_trailer)),
            Result::CryptoBadSignature);

  // DB with the 0x01 separator replaced by 0x02: unmasks to a bad separator.
  const size_t h_offset = em.size() - 32 - 1;
  const size_t separator = h_offset - 20 - 1;
  Bytes bad_separator = em;
  bad_separator[separator] ^= 0x03;
  EXPECT_EQ(VerifyPss(key.View(), DigestAlg::Sha256, DigestAlg::Sha256, -1, digest,
                      RawSign(key, bad_separator)),
            Result::CryptoBadSignature);
  // Separator cleared: DB is zeros followed by the salt, so recovery finds the wrong start.
  Bytes no_separator = em;
  no_separator[separator] ^= 0x01;
  EXPECT_EQ(VerifyPss(key.View(), DigestAlg::Sha256, DigestAlg::Sha256, 20, digest,
                      RawSign(key, no_separator)),
            Result::CryptoBadSignature);
  // A non-zero octet in PS.
  Bytes dirty_padding = em;
  dirty_padding[5] ^= 0x40;
  EXPECT_EQ(VerifyPss(key.View(), DigestAlg::Sha256, DigestAlg::Sha256, 20, digest,
                      RawSign(key, dirty_padding)),
            Result::CryptoBadSignature);
}

// Both Montgomery multiplications (MULX/ADX rows where the CPU has them, portable CIOS) against
// OpenSSL's BN_mod_exp, for limb counts that are multiples of four and ones that leave one to
// three limbs for the row loop's tail, with e = 65537 and a long random exponent, and bases at
// the edges of [0, n) besides a random one (the base's storage becomes the result in place,
// then its big-endian encoding).
TEST(RsaBignum, MontgomeryPathsMatchOpenSsl) {
  std::mt19937 rng(29);
  Owned<BN_CTX, BN_CTX_free> ctx(BN_CTX_new());
  const bool has_mulx_adx = builtin::CpuHas(builtin::kCpuMulxAdx);
  for (size_t bits : {2048u, 2049u, 2112u, 2176u, 2240u, 3072u, 4096u, 8192u}) {
    Bytes modulus = RandomBytes((bits + 7) / 8, &rng);
    modulus[0] &= uint8_t(0xff >> (8 * modulus.size() - bits));
    modulus[0] |= uint8_t(0x80 >> (8 * modulus.size() - bits));
    modulus.back() |= 1;
    const BnPtr n = BnFromBytes(modulus);
    BnPtr n_minus_one(BN_dup(n.get()));
    ASSERT_EQ(1, BN_sub_word(n_minus_one.get(), 1));
    const Bytes modulus_minus_one = BnToBytes(n_minus_one.get(), modulus.size());
    for (const Bytes& base : {RandomBytes(modulus.size() - 1, &rng), Bytes{0x00}, Bytes{0x01},
                              modulus_minus_one}) {
      for (const Bytes& exponent : {Bytes{0x01, 0x00, 0x01}, RandomBytes(32, &rng)}) {
        if (exponent[0] == 0) continue;
        BnPtr expected(BN_new());
        ASSERT_EQ(1, BN_mod_exp(expected.get(), BnFromBytes(base).get(),
                                BnFromBytes(exponent).get(), n.get(), ctx.get()));
        for (bool use_mulx_adx : {false, true}) {
          if (use_mulx_adx && !has_mulx_adx) continue;
          builtin::MontgomeryModulus montgomery;
          builtin::InitMontgomeryModulus(montgomery, Input(modulus.data(), modulus.size()));
          montgomery.use_mulx_adx = use_mulx_adx;
          builtin::BigNum value;
          builtin::LoadBigNum(Input(base.data(), base.size()), montgomery.limb_count, value);
          builtin::ModularExponentiate(montgomery, value,
                                       Input(exponent.data(), exponent.size()));
          const uint8_t* result = builtin::StoreBigNumInPlace(value, modulus.size());
          EXPECT_EQ(BnToBytes(expected.get(), modulus.size()),
                    Bytes(result, result + modulus.size()))
              << bits << " bits, base of " << base.size() << " octets, mulx/adx "
              << use_mulx_adx << ", exponent " << exponent.size();
        }
      }
    }
  }
}

}  // namespace
}  // namespace hvsig
