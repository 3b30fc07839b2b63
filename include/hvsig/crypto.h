// The crypto provider interface. The core never calls a crypto library: the embedder hands it
// a CryptoProvider (like mozilla::pkix's TrustDomain supplies crypto). It is a table of
// function pointers rather than a class with virtual functions so that it has a stable C
// layout, needs no RTTI or virtual destructor, and can be a constant-initialized global.
// Under CET-IBT every function in the table (and every VectorUnitHooks function) must be
// HVSIG_CF_CHECK.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hvsig/cf_check.h"
#include "hvsig/input.h"
#include "hvsig/result.h"

namespace hvsig {

enum class DigestAlg : uint8_t {
  Sha1,    // legacy revocation entries only; never accepted for signatures on images
  Sha224,
  Sha256,
  Sha384,
  Sha512,
};

constexpr size_t kMaxDigestLength = 64;

constexpr size_t DigestLength(DigestAlg alg) {
  switch (alg) {
    case DigestAlg::Sha1: return 20;
    case DigestAlg::Sha224: return 28;
    case DigestAlg::Sha256: return 32;
    case DigestAlg::Sha384: return 48;
    case DigestAlg::Sha512: return 64;
  }
  return 0;
}

const char* DigestAlgName(DigestAlg alg);  // "sha1", "sha256", ...

enum class EcCurve : uint8_t {
  P256,
  P384,
};

// Big-endian unsigned magnitudes as they appear in a SubjectPublicKeyInfo (leading zero
// octets allowed; the provider normalizes).
struct RsaPublicKey {
  Input modulus;
  Input exponent;
};

// Uncompressed SEC1 point: 0x04 || X || Y.
struct EcPublicKey {
  EcCurve curve;
  Input point;
};

struct CryptoProvider;

// Storage for one incremental digest. Large enough for every provider's state (the builtin
// SHA-512 state, or a pointer for library-backed providers).
constexpr size_t kDigestStateSize = 224;

struct DigestContext {
  const CryptoProvider* provider;
  DigestAlg alg;
  alignas(16) uint8_t state[kDigestStateSize];
};

// Lets an embedder decide, per use, whether vector registers may be touched (a hypervisor that
// has not saved the guest's vector state says no). begin returns false to force the scalar path;
// end is called after every successful begin.
struct VectorUnitHooks {
  bool (*begin)(void* opaque);
  void (*end)(void* opaque);
  void* opaque;
};

struct CryptoProvider {
  const char* name;
  // Embedder data for the implementation (the builtin provider keeps its VectorUnitHooks here).
  const void* opaque;

  // Incremental digests. digest_final writes DigestLength(ctx.alg) bytes and releases any
  // resources; digest_release releases a context that will not be finalized.
  Result (*digest_init)(const CryptoProvider& self, DigestAlg alg, DigestContext& ctx);
  void (*digest_update)(DigestContext& ctx, const uint8_t* data, size_t length);
  void (*digest_final)(DigestContext& ctx, uint8_t* out);
  void (*digest_release)(DigestContext& ctx);

  // RSASSA-PKCS1-v1_5: the whole encoded message (00 01 FF.. 00 DigestInfo) is rebuilt from
  // (alg, digest) and compared byte-for-byte; nothing is parsed from the signature.
  Result (*verify_rsa_pkcs1)(const CryptoProvider& self, const RsaPublicKey& key, DigestAlg alg,
                             Input digest, Input signature);
  // RSASSA-PSS with MGF1. salt_length < 0 means "recover it from the encoding".
  Result (*verify_rsa_pss)(const CryptoProvider& self, const RsaPublicKey& key, DigestAlg alg,
                           DigestAlg mgf1_alg, int32_t salt_length, Input digest, Input signature);
  // ECDSA over a DER Ecdsa-Sig-Value. The digest is truncated to the group order's bit length.
  Result (*verify_ecdsa)(const CryptoProvider& self, const EcPublicKey& key, Input digest,
                         Input der_signature);

  // Public-key validation used when parsing certificates.
  Result (*check_rsa_key)(const CryptoProvider& self, const RsaPublicKey& key);
  Result (*check_ec_key)(const CryptoProvider& self, const EcPublicKey& key);
};

// RAII-free convenience wrapper (no destructors needed in the core's error paths: callers
// release explicitly). Keeps digest call sites one line each.
class Digest {
 public:
  Result Begin(const CryptoProvider& provider, DigestAlg alg) {
    return provider.digest_init(provider, alg, ctx_);
  }
  void Update(Input data) { ctx_.provider->digest_update(ctx_, data.data(), data.size()); }
  void Update(const uint8_t* data, size_t length) { ctx_.provider->digest_update(ctx_, data, length); }
  void Finish(uint8_t* out) { ctx_.provider->digest_final(ctx_, out); }
  void Release() { ctx_.provider->digest_release(ctx_); }
  DigestAlg alg() const { return ctx_.alg; }

 private:
  DigestContext ctx_;
};

// One-shot digest helper.
Result DigestOnce(const CryptoProvider& provider, DigestAlg alg, Input data, uint8_t* out);

}  // namespace hvsig
