// Compiled once per set of providers (see CMakeLists.txt): HVSIG_WITH_BUILTIN, _OPENSSL and
// _GCRYPT say which are linked, HVSIG_DEFAULT_CRYPTO names the default.
#include "hvsig/crypto_providers.h"

#if HVSIG_WITH_BUILTIN
#include "hvsig/crypto_builtin.h"
#endif
#if HVSIG_WITH_OPENSSL
#include "hvsig/crypto_openssl.h"
#endif
#if HVSIG_WITH_GCRYPT
#include "hvsig/crypto_gcrypt.h"
#endif

namespace hvsig {
namespace {

constexpr const char* kNames[] = {
#if HVSIG_WITH_BUILTIN
    "builtin", "builtin-scalar",
#endif
#if HVSIG_WITH_OPENSSL
    "openssl",
#endif
#if HVSIG_WITH_GCRYPT
    "gcrypt",
#endif
};

}  // namespace

const CryptoProvider* ProviderByName(std::string_view name) {
#if HVSIG_WITH_BUILTIN
  // A hosted process may always use the vector unit.
  static const CryptoProvider simd_builtin = MakeBuiltinProvider(HostedVectorUnitHooks());
  if (name == "builtin") return &simd_builtin;
  if (name == "builtin-scalar") return &BuiltinProvider();
#endif
#if HVSIG_WITH_OPENSSL
  if (name == "openssl") return &OpenSslProvider();
#endif
#if HVSIG_WITH_GCRYPT
  if (name == "gcrypt") return &GcryptProvider();
#endif
  static_cast<void>(name);
  return nullptr;
}

const CryptoProvider& DefaultProvider() { return *ProviderByName(HVSIG_DEFAULT_CRYPTO); }

const char* DefaultProviderName() { return HVSIG_DEFAULT_CRYPTO; }

std::span<const char* const> ProviderNames() { return kNames; }

}  // namespace hvsig
