// Internal entry points of the builtin provider. Each group is implemented in its own
// translation unit; provider.cpp binds them into the CryptoProvider table.
#pragma once

#include "hvsig/crypto.h"

namespace hvsig::builtin {

// hash.cpp (SHA-1, SHA-224/256, SHA-384/512; SHA-NI dispatch for SHA-256)
Result DigestInit(const CryptoProvider& self, DigestAlg alg, DigestContext& ctx);
void DigestUpdate(DigestContext& ctx, const uint8_t* data, size_t length);
void DigestFinal(DigestContext& ctx, uint8_t* out);
void DigestRelease(DigestContext& ctx);
bool Sha256HasSimd();

// rsa.cpp (PKCS#1 v1.5 and PSS verification, 2048..8192-bit moduli)
Result VerifyRsaPkcs1(const CryptoProvider& self, const RsaPublicKey& key, DigestAlg alg,
                      Input digest, Input signature);
Result VerifyRsaPss(const CryptoProvider& self, const RsaPublicKey& key, DigestAlg alg,
                    DigestAlg mgf1_alg, int32_t salt_length, Input digest, Input signature);
Result CheckRsaKey(const CryptoProvider& self, const RsaPublicKey& key);

// ecdsa.cpp (P-256, P-384)
Result VerifyEcdsa(const CryptoProvider& self, const EcPublicKey& key, Input digest,
                   Input der_signature);
Result CheckEcKey(const CryptoProvider& self, const EcPublicKey& key);

}  // namespace hvsig::builtin
