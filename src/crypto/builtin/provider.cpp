#include "hvsig/crypto_builtin.h"

#include "crypto/builtin/builtin.h"

namespace hvsig {
namespace {

constexpr CryptoProvider WithHooks(const VectorUnitHooks* hooks) {
  return CryptoProvider{
      "builtin",
      hooks,
      builtin::DigestInit,
      builtin::DigestUpdate,
      builtin::DigestFinal,
      builtin::DigestRelease,
      builtin::VerifyRsaPkcs1,
      builtin::VerifyRsaPss,
      builtin::VerifyEcdsa,
      builtin::CheckRsaKey,
      builtin::CheckEcKey,
  };
}

HVSIG_CF_CHECK bool HostedBegin(void*) { return true; }
HVSIG_CF_CHECK void HostedEnd(void*) {}

constinit const CryptoProvider kScalarProvider = WithHooks(nullptr);
constinit const VectorUnitHooks kHostedHooks = {HostedBegin, HostedEnd, nullptr};

}  // namespace

const CryptoProvider& BuiltinProvider() { return kScalarProvider; }

CryptoProvider MakeBuiltinProvider(const VectorUnitHooks* hooks) { return WithHooks(hooks); }

const VectorUnitHooks* HostedVectorUnitHooks() { return &kHostedHooks; }

bool BuiltinSha256HasSimd() { return builtin::Sha256HasSimd(); }

bool BuiltinSha512HasSimd() { return builtin::Sha512HasSimd(); }

}  // namespace hvsig
