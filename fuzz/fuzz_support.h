// What every fuzz target shares: the entry-point macro, invariant checks, and the compiled-in
// trust (fuzz_keys.h) as parsed keyrings.
//
// A target is written once as HVSIG_FUZZ_TARGET(name) { ... } and built two ways:
//  - in fuzz/ (preset fuzz) as the libFuzzer entry point LLVMFuzzerTestOneInput;
//  - with HVSIG_FUZZ_REGISTRY (tests/fuzz_regression_test.cpp) as a function registered under
//    its name, so that every committed seed and every regression input runs in the normal
//    suite, under every preset.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <initializer_list>

#include "fuzz_keys.h"
#include "hvsig/crypto_builtin.h"
#include "hvsig/keyring.h"
#include "hvsig/policy.h"

#ifdef HVSIG_FUZZ_REGISTRY
namespace hvsig::fuzz {
using TargetFunction = int (*)(const uint8_t* data, size_t size);
// Defined by the registry's user (the regression test).
struct Registration {
  Registration(const char* name, TargetFunction function);
};
}  // namespace hvsig::fuzz
#define HVSIG_FUZZ_TARGET(name)                                                        \
  static int FuzzTarget_##name(const uint8_t* data, size_t size);                      \
  static const ::hvsig::fuzz::Registration fuzz_registration_##name(#name,             \
                                                                    FuzzTarget_##name); \
  static int FuzzTarget_##name(const uint8_t* data, size_t size)
#else
#define HVSIG_FUZZ_TARGET(name) \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
#endif

// A broken promise of the code under test: abort, which libFuzzer reports as a crash.
#define HVSIG_FUZZ_CHECK(condition) \
  do {                              \
    if (!(condition)) abort();      \
  } while (0)

namespace hvsig::fuzz {

// The builtin provider as the tools and the hypervisor model use it: vector units allowed, so
// the hashing that dominates every PE-sized input runs as SHA-NI and AVX2 code rather than
// as ASan-instrumented scalar rounds (which cost the pe target 90% of its time). The scalar
// block functions compute the same digests (tests/hash_test.cpp, the differential tests) and
// are exercised under ASan by the asan preset's suite.
inline const CryptoProvider& Provider() {
  static const CryptoProvider provider = MakeBuiltinProvider(HostedVectorUnitHooks());
  return provider;
}

// The trust the verify, livepatch and hypercall targets decide with: the fuzz CA and signer in
// builtin (module signatures name their signer, as Linux's do) and the signer's raw RSA key (for
// livepatch notes); an empty blacklist.
struct Trust {
  keyring::Keyring builtin;
  keyring::Keyring blacklist;
  Certificate ca;
  Certificate signer;
  policy::Keyrings keyrings;
};

inline const Trust& FuzzTrust() {
  static Trust* trust = [] {
    auto* t = new Trust();
    keyring::Init(t->builtin, keyring::KeyringId::Builtin);
    keyring::Init(t->blacklist, keyring::KeyringId::Blacklist);
    HVSIG_FUZZ_CHECK(ParseCertificate(Provider(), Input(kFuzzCaDer), t->ca) == Result::Success);
    HVSIG_FUZZ_CHECK(keyring::AddCertificate(t->builtin, t->ca, keyring::Origin::Builtin) ==
                     Result::Success);
    HVSIG_FUZZ_CHECK(ParseCertificate(Provider(), Input(kFuzzSignerDer), t->signer) ==
                     Result::Success);
    HVSIG_FUZZ_CHECK(keyring::AddCertificate(t->builtin, t->signer, keyring::Origin::Builtin) ==
                     Result::Success);
    HVSIG_FUZZ_CHECK(keyring::AddRawRsaKeySpki(Provider(), t->builtin, Input(kFuzzSignerSpkiDer),
                                               keyring::Origin::Builtin) == Result::Success);
    t->keyrings.rings[static_cast<size_t>(keyring::KeyringId::Builtin)] = &t->builtin;
    t->keyrings.rings[static_cast<size_t>(keyring::KeyringId::Blacklist)] = &t->blacklist;
    return t;
  }();
  return *trust;
}

// Reads little-endian integers off the front of the input (zero once it runs out), for targets
// whose input starts with a few parameters.
class ParameterReader {
 public:
  ParameterReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint64_t Take(size_t bytes) {
    uint64_t value = 0;
    for (size_t i = 0; i < bytes; ++i) {
      if (used_ < size_) value |= static_cast<uint64_t>(data_[used_++]) << (8 * i);
    }
    return value;
  }
  const uint8_t* rest() const { return data_ + used_; }
  size_t rest_size() const { return size_ - used_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t used_ = 0;
};

}  // namespace hvsig::fuzz
