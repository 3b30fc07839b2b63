// Internal entry points of the builtin provider. Each group is implemented in its own
// translation unit; provider.cpp binds them into the CryptoProvider table, so each is an
// indirect-call target (HVSIG_CF_CHECK).
#pragma once

#include "hvsig/cf_check.h"
#include "hvsig/crypto.h"

namespace hvsig::builtin {

// hash.cpp (SHA-1, SHA-224/256, SHA-384/512; SHA-NI dispatch for SHA-256, AVX2 for SHA-512)
HVSIG_CF_CHECK Result DigestInit(const CryptoProvider& self, DigestAlg alg, DigestContext& ctx);
HVSIG_CF_CHECK void DigestUpdate(DigestContext& ctx, const uint8_t* data, size_t length);
HVSIG_CF_CHECK void DigestFinal(DigestContext& ctx, uint8_t* out);
HVSIG_CF_CHECK void DigestRelease(DigestContext& ctx);
bool Sha256HasSimd();
bool Sha512HasSimd();

// rsa.cpp (PKCS#1 v1.5 and PSS verification, 2048..8192-bit moduli)
HVSIG_CF_CHECK Result VerifyRsaPkcs1(const CryptoProvider& self, const RsaPublicKey& key,
                                     DigestAlg alg, Input digest, Input signature);
HVSIG_CF_CHECK Result VerifyRsaPss(const CryptoProvider& self, const RsaPublicKey& key,
                                   DigestAlg alg, DigestAlg mgf1_alg, int32_t salt_length,
                                   Input digest, Input signature);
HVSIG_CF_CHECK Result CheckRsaKey(const CryptoProvider& self, const RsaPublicKey& key);

// ecdsa.cpp (P-256, P-384)
HVSIG_CF_CHECK Result VerifyEcdsa(const CryptoProvider& self, const EcPublicKey& key, Input digest,
                   Input der_signature);
HVSIG_CF_CHECK Result CheckEcKey(const CryptoProvider& self, const EcPublicKey& key);

}  // namespace hvsig::builtin
