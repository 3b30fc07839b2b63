// The gcrypt provider where Wycheproof does not reach: PSS with the salt length recovered from
// the encoding (salt_length < 0), moduli whose bit length is not a multiple of 8, MGF1 with
// another hash, digests fed in pieces, and concurrent first use (library initialization).
// OpenSSL signs and hashes; the builtin provider's Result is the expected one.
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "hvsig/crypto.h"
#include "hvsig/crypto_builtin.h"
#include "hvsig/crypto_gcrypt.h"
#include "test_support.h"

namespace hvsig {
namespace {

using namespace test;

struct RsaKey {
  PkeyPtr pkey;
  Bytes modulus;
  Bytes exponent;
  RsaPublicKey View() const { return {In(modulus), In(exponent)}; }
};

Bytes BnParam(EVP_PKEY* pkey, const char* name) {
  BIGNUM* value = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(pkey, name, &value), 1);
  const BnPtr owner(value);
  return BnToBytes(value);
}

RsaKey Generate(unsigned bits) {
  RsaKey key{PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{bits})), {}, {}};
  key.modulus = BnParam(key.pkey.get(), OSSL_PKEY_PARAM_RSA_N);
  key.exponent = BnParam(key.pkey.get(), OSSL_PKEY_PARAM_RSA_E);
  return key;
}

Bytes SignPss(const RsaKey& key, DigestAlg alg, DigestAlg mgf1_alg, int salt_length,
              const Bytes& digest) {
  const PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.pkey.get(), nullptr));
  size_t length = 0;
  EXPECT_TRUE(ctx && EVP_PKEY_sign_init(ctx.get()) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) == 1 &&
              EVP_PKEY_CTX_set_signature_md(ctx.get(), OpenSslMd(alg)) == 1 &&
              EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), OpenSslMd(mgf1_alg)) == 1 &&
              EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), salt_length) == 1 &&
              EVP_PKEY_sign(ctx.get(), nullptr, &length, digest.data(), digest.size()) == 1);
  Bytes signature(length);
  EXPECT_EQ(EVP_PKEY_sign(ctx.get(), signature.data(), &length, digest.data(), digest.size()), 1);
  signature.resize(length);
  return signature;
}

Result VerifyPss(const CryptoProvider& p, const RsaKey& key, DigestAlg alg, DigestAlg mgf1_alg,
                 int32_t salt_length, const Bytes& digest, const Bytes& signature) {
  return p.verify_rsa_pss(p, key.View(), alg, mgf1_alg, salt_length, In(digest), In(signature));
}

class GcryptPss : public testing::TestWithParam<unsigned> {};

// Salt lengths 0, 20, hLen and the largest the modulus allows; exact, recovered (-1), one off.
TEST_P(GcryptPss, SaltLengthGivenOrRecoveredAgreesWithBuiltin) {
  const RsaKey key = Generate(GetParam());
  const CryptoProvider& gcrypt = GcryptProvider();
  const CryptoProvider& builtin = BuiltinProvider();
  for (DigestAlg alg : kAllDigestAlgs) {
    const Bytes digest = OpenSslDigest(alg, BytesOf("hvsig gcrypt pss"));
    const int hash_length = static_cast<int>(DigestLength(alg));
    const int max_salt = static_cast<int>((GetParam() - 1 + 7) / 8) - hash_length - 2;
    for (int salt : {0, 20, hash_length, max_salt}) {
      SCOPED_TRACE(std::string(DigestAlgName(alg)) + " salt " + std::to_string(salt));
      Bytes signature = SignPss(key, alg, alg, salt, digest);
      for (int32_t given : {salt, -1, salt + 1}) {
        const Result expected = VerifyPss(builtin, key, alg, alg, given, digest, signature);
        EXPECT_EQ(expected, given == salt + 1 ? Result::CryptoBadSignature : Result::Success);
        EXPECT_EQ(VerifyPss(gcrypt, key, alg, alg, given, digest, signature), expected) << given;
      }
      signature[signature.size() / 2] ^= 0x10;
      for (int32_t given : {salt, -1}) {
        EXPECT_EQ(VerifyPss(gcrypt, key, alg, alg, given, digest, signature),
                  VerifyPss(builtin, key, alg, alg, given, digest, signature))
            << given;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Bits, GcryptPss, testing::Values(2048u, 2049u, 2050u, 3072u));

// libgcrypt's PSS has no separate MGF1 hash: such signatures are unsupported, not misjudged.
TEST(GcryptProvider, PssWithAnotherMgf1HashIsUnsupported) {
  const RsaKey key = Generate(2048);
  const Bytes digest = OpenSslDigest(DigestAlg::Sha256, BytesOf("mgf1"));
  const Bytes signature = SignPss(key, DigestAlg::Sha256, DigestAlg::Sha1, 32, digest);
  EXPECT_EQ(VerifyPss(BuiltinProvider(), key, DigestAlg::Sha256, DigestAlg::Sha1, 32, digest,
                      signature),
            Result::Success);
  EXPECT_EQ(VerifyPss(GcryptProvider(), key, DigestAlg::Sha256, DigestAlg::Sha1, 32, digest,
                      signature),
            Result::CryptoUnsupportedAlgorithm);
}

// Every algorithm, the message fed in uneven pieces, against OpenSSL's one-shot digest.
TEST(GcryptProvider, IncrementalDigestsEqualOpenSsl) {
  const Bytes message = RandomBytes(10000);
  const CryptoProvider& gcrypt = GcryptProvider();
  for (DigestAlg alg : kAllDigestAlgs) {
    Digest digest;
    ASSERT_EQ(digest.Begin(gcrypt, alg), Result::Success);
    for (size_t at = 0, piece = 1; at < message.size(); at += piece, piece = piece * 3 + 1) {
      digest.Update(message.data() + at, std::min(piece, message.size() - at));
    }
    Bytes out(DigestLength(alg));
    digest.Finish(out.data());
    EXPECT_EQ(out, OpenSslDigest(alg, message)) << DigestAlgName(alg);
  }
  Digest released;
  ASSERT_EQ(released.Begin(gcrypt, DigestAlg::Sha256), Result::Success);
  released.Update(In(message));
  released.Release();
}

// The first use initializes libgcrypt; several threads doing it at once must all succeed (each
// test runs in its own process, so this is the process's first use).
TEST(GcryptProvider, ConcurrentFirstUse) {
  const Bytes message = BytesOf("concurrent");
  const Bytes expected = OpenSslDigest(DigestAlg::Sha384, message);
  std::vector<Bytes> results(8, Bytes(DigestLength(DigestAlg::Sha384)));
  std::vector<Result> status(results.size(), Result::InvalidArgument);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      status[i] = DigestOnce(GcryptProvider(), DigestAlg::Sha384, In(message), results[i].data());
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(status[i], Result::Success) << i;
    EXPECT_EQ(results[i], expected) << i;
  }
}

}  // namespace
}  // namespace hvsig
