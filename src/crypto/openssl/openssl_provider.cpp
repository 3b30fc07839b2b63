// CryptoProvider on libcrypto 3 (EVP and OSSL_PARAM APIs only, nothing deprecated).
//
// OpenSSL is more permissive than hvsig in a few places (its d2i accepts some BER, it takes
// any RSA key size and any exponent). Every policy check of the builtin provider is
// therefore done here first, with the same Result, and OpenSSL only does the arithmetic.
#include "hvsig/crypto_openssl.h"

#include "crypto/hosted/rsa_policy.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <array>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "crypto/openssl/openssl_ptr.h"

namespace hvsig {
namespace {

using openssl::BnPtr;
using openssl::Owned;
using openssl::PkeyCtxPtr;
using openssl::PkeyPtr;
using ParamBldPtr = Owned<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using ParamPtr = Owned<OSSL_PARAM, OSSL_PARAM_free>;

// OpenSSL leaves reasons on its per-thread error queue; a rejected signature is a normal
// outcome here, so the queue is emptied on every return rather than growing forever.
struct ErrorQueueCleaner {
  ~ErrorQueueCleaner() { ERR_clear_error(); }
};

// Explicit fetches, done once: with EVP_sha256() and friends libcrypto looks the
// implementation up again on every init.
const EVP_MD* FetchedDigest(DigestAlg alg) {
  static const std::array<EVP_MD*, 5> digests = {
      EVP_MD_fetch(nullptr, "SHA1", nullptr),   EVP_MD_fetch(nullptr, "SHA224", nullptr),
      EVP_MD_fetch(nullptr, "SHA256", nullptr), EVP_MD_fetch(nullptr, "SHA384", nullptr),
      EVP_MD_fetch(nullptr, "SHA512", nullptr),
  };
  const auto index = static_cast<size_t>(alg);
  return index < digests.size() ? digests[index] : nullptr;
}

// --- digests ----------------------------------------------------------------------------------

EVP_MD_CTX* LoadMdContext(const DigestContext& ctx) {
  EVP_MD_CTX* md_ctx;
  std::memcpy(&md_ctx, ctx.state, sizeof md_ctx);
  return md_ctx;
}

void StoreMdContext(DigestContext& ctx, EVP_MD_CTX* md_ctx) {
  std::memcpy(ctx.state, &md_ctx, sizeof md_ctx);
}

Result DigestInit(const CryptoProvider& self, DigestAlg alg, DigestContext& ctx) {
  const EVP_MD* md = FetchedDigest(alg);
  if (md == nullptr) {
    return Result::CryptoUnsupportedAlgorithm;
  }
  EVP_MD_CTX* md_ctx = EVP_MD_CTX_new();
  if (md_ctx == nullptr) {
    return Result::CryptoProviderFailure;
  }
  if (EVP_DigestInit_ex2(md_ctx, md, nullptr) != 1) {
    EVP_MD_CTX_free(md_ctx);
    ERR_clear_error();
    return Result::CryptoProviderFailure;
  }
  ctx.provider = &self;
  ctx.alg = alg;
  StoreMdContext(ctx, md_ctx);
  return Result::Success;
}

// The interface has no error channel for update/final (the builtin cannot fail there). A failing
// libcrypto hash means a broken process; producing a wrong digest silently would be worse.
void DigestUpdate(DigestContext& ctx, const uint8_t* data, size_t length) {
  if (EVP_DigestUpdate(LoadMdContext(ctx), data, length) != 1) {
    std::abort();
  }
}

void DigestRelease(DigestContext& ctx) {
  EVP_MD_CTX_free(LoadMdContext(ctx));
  StoreMdContext(ctx, nullptr);
}

void DigestFinal(DigestContext& ctx, uint8_t* out) {
  if (EVP_DigestFinal_ex(LoadMdContext(ctx), out, nullptr) != 1) {
    std::abort();
  }
  DigestRelease(ctx);
}

// --- RSA --------------------------------------------------------------------------------------

Result CheckRsaKey(const CryptoProvider&, const RsaPublicKey& key) {
  hosted::NormalizedRsaKey normalized;
  return hosted::CheckRsaPolicy(key, normalized);
}

BnPtr ToBignum(Input magnitude) {
  return BnPtr(BN_bin2bn(magnitude.data(), static_cast<int>(magnitude.size()), nullptr));
}

PkeyPtr PublicKeyFromParams(const char* type, OSSL_PARAM_BLD* builder) {
  const ParamPtr params(OSSL_PARAM_BLD_to_param(builder));
  const PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1) {
    return nullptr;
  }
  EVP_PKEY* pkey = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  return PkeyPtr(pkey);
}

PkeyPtr RsaPkey(const hosted::NormalizedRsaKey& key) {
  const BnPtr n = ToBignum(key.modulus);
  const BnPtr e = ToBignum(key.exponent);
  const ParamBldPtr builder(OSSL_PARAM_BLD_new());
  if (n == nullptr || e == nullptr || builder == nullptr ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return nullptr;
  }
  return PublicKeyFromParams("RSA", builder.get());
}

// Runs EVP_PKEY_verify after `configure` has set padding and digests on the context.
template <typename Configure>
Result EvpVerify(EVP_PKEY* pkey, Input digest, Input signature, Configure configure) {
  const PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (ctx == nullptr || EVP_PKEY_verify_init(ctx.get()) != 1 || !configure(ctx.get())) {
    return Result::CryptoProviderFailure;
  }
  if (EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest.data(),
                      digest.size()) != 1) {
    return Result::CryptoBadSignature;
  }
  return Result::Success;
}

// The builtin provider's checks (shared with the libgcrypt provider); then the verification.
template <typename Configure>
Result VerifyRsa(const RsaPublicKey& key, DigestAlg alg, Input digest, Input signature,
                 Configure configure) {
  const ErrorQueueCleaner cleaner;
  hosted::NormalizedRsaKey normalized;
  HVSIG_TRY(hosted::CheckRsaVerifyInputs(key, alg, digest, signature, normalized));
  const PkeyPtr pkey = RsaPkey(normalized);
  if (pkey == nullptr) {
    return Result::CryptoProviderFailure;
  }
  return EvpVerify(pkey.get(), digest, signature, configure);
}

Result VerifyRsaPkcs1(const CryptoProvider&, const RsaPublicKey& key, DigestAlg alg, Input digest,
                      Input signature) {
  return VerifyRsa(key, alg, digest, signature, [alg](EVP_PKEY_CTX* ctx) {
    // With a signature digest set, OpenSSL rebuilds the DigestInfo and compares it whole.
    return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
           EVP_PKEY_CTX_set_signature_md(ctx, FetchedDigest(alg)) == 1;
  });
}

Result VerifyRsaPss(const CryptoProvider&, const RsaPublicKey& key, DigestAlg alg,
                    DigestAlg mgf1_alg, int32_t salt_length, Input digest, Input signature) {
  if (FetchedDigest(mgf1_alg) == nullptr) {
    return Result::CryptoUnsupportedAlgorithm;
  }
  const int openssl_salt_length = salt_length < 0 ? RSA_PSS_SALTLEN_AUTO : salt_length;
  return VerifyRsa(key, alg, digest, signature, [=](EVP_PKEY_CTX* ctx) {
    return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_signature_md(ctx, FetchedDigest(alg)) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, FetchedDigest(mgf1_alg)) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, openssl_salt_length) == 1;
  });
}

// --- ECDSA ------------------------------------------------------------------------------------

struct Curve {
  const char* group_name;
  size_t field_bytes;
  // Field prime and group order, big-endian, field_bytes long (both curves have |n| == |p|).
  std::vector<uint8_t> prime;
  BnPtr order;
};

Curve LoadCurve(const char* group_name, int nid, size_t field_bytes) {
  Curve curve{group_name, field_bytes, std::vector<uint8_t>(field_bytes), nullptr};
  EC_GROUP* group = EC_GROUP_new_by_curve_name(nid);
  const BnPtr prime(BN_new());
  if (group != nullptr && prime != nullptr &&
      EC_GROUP_get_curve(group, prime.get(), nullptr, nullptr, nullptr) == 1 &&
      BN_bn2binpad(prime.get(), curve.prime.data(), static_cast<int>(field_bytes)) > 0) {
    curve.order.reset(BN_dup(EC_GROUP_get0_order(group)));
  }
  EC_GROUP_free(group);
  return curve;
}

// Null if the curve is not one of ours or libcrypto could not provide its parameters.
const Curve* FindCurve(EcCurve curve) {
  static const Curve p256 = LoadCurve("P-256", NID_X9_62_prime256v1, 32);
  static const Curve p384 = LoadCurve("P-384", NID_secp384r1, 48);
  const Curve* found = nullptr;
  switch (curve) {
    case EcCurve::P256: found = &p256; break;
    case EcCurve::P384: found = &p384; break;
  }
  return found != nullptr && found->order != nullptr ? found : nullptr;
}

// Builds the key and validates the point the way the builtin provider does, with its Results.
Result EcPkey(const EcPublicKey& key, PkeyPtr& out) {
  const Curve* curve = FindCurve(key.curve);
  if (curve == nullptr) {
    return Result::CryptoUnsupportedAlgorithm;
  }
  // Only the uncompressed form is accepted (RFC 5480 makes it the one MUST form).
  if (key.point.size() != 1 + 2 * curve->field_bytes || key.point[0] != 0x04) {
    return Result::CryptoBadPointEncoding;
  }
  const Input x(key.point.data() + 1, curve->field_bytes);
  const Input y(key.point.data() + 1 + curve->field_bytes, curve->field_bytes);
  const Input prime(curve->prime.data(), curve->prime.size());
  if (std::memcmp(x.data(), prime.data(), prime.size()) >= 0 ||
      std::memcmp(y.data(), prime.data(), prime.size()) >= 0) {
    return Result::CryptoPointCoordinateOutOfRange;
  }
  const ParamBldPtr builder(OSSL_PARAM_BLD_new());
  if (builder == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                      curve->group_name, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, key.point.data(),
                                       key.point.size()) != 1) {
    return Result::CryptoProviderFailure;
  }
  // With the encoding and coordinates checked, decoding fails only for a point off the curve.
  PkeyPtr pkey = PublicKeyFromParams("EC", builder.get());
  if (pkey == nullptr) {
    return Result::CryptoPointNotOnCurve;
  }
  const PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (check == nullptr) {
    return Result::CryptoProviderFailure;
  }
  if (EVP_PKEY_public_check(check.get()) != 1) {
    return Result::CryptoPointNotOnCurve;
  }
  out = std::move(pkey);
  return Result::Success;
}

Result CheckEcKey(const CryptoProvider&, const EcPublicKey& key) {
  const ErrorQueueCleaner cleaner;
  PkeyPtr pkey;
  return EcPkey(key, pkey);
}

using Asn1IntegerPtr = Owned<ASN1_INTEGER, ASN1_INTEGER_free>;

// One INTEGER of an Ecdsa-Sig-Value. d2i is lax about some BER, so the element is re-encoded
// with i2d and must come back byte-for-byte. A well-formed INTEGER that is negative or longer
// than the field is a range failure, as in the builtin provider (which reads in the same order,
// so both report the same Result).
Result ReadSignatureInteger(const unsigned char*& cursor, const unsigned char* end,
                            size_t max_magnitude, BnPtr& out) {
  const unsigned char* start = cursor;
  const Asn1IntegerPtr value(d2i_ASN1_INTEGER(nullptr, &cursor, end - cursor));
  if (value == nullptr) {
    return Result::CryptoBadSignatureEncoding;
  }
  unsigned char* reencoded = nullptr;
  const int reencoded_length = i2d_ASN1_INTEGER(value.get(), &reencoded);
  const bool identical = reencoded_length == cursor - start &&
                         std::memcmp(reencoded, start, static_cast<size_t>(reencoded_length)) == 0;
  OPENSSL_free(reencoded);
  if (!identical) {
    return Result::CryptoBadSignatureEncoding;
  }
  if (ASN1_STRING_type(value.get()) == V_ASN1_NEG_INTEGER) {
    return Result::CryptoSignatureOutOfRange;
  }
  if (static_cast<size_t>(ASN1_STRING_length(value.get())) > max_magnitude) {
    return Result::CryptoSignatureOutOfRange;
  }
  out.reset(ASN1_INTEGER_to_BN(value.get(), nullptr));
  if (out == nullptr) {
    return Result::CryptoProviderFailure;
  }
  return Result::Success;
}

// Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 2.2.3) in strict DER: a
// minimal definite-length header, exactly two INTEGERs, nothing after.
Result ParseStrictDerSignature(Input der, size_t max_magnitude, BnPtr& r, BnPtr& s) {
  if (der.size() > static_cast<size_t>(LONG_MAX)) {
    return Result::CryptoBadSignatureEncoding;
  }
  const unsigned char* cursor = der.data();
  long length = 0;
  int tag = 0;
  int tag_class = 0;
  const int flags =
      ASN1_get_object(&cursor, &length, &tag, &tag_class, static_cast<long>(der.size()));
  // 0x80 flags an error or a length past the input; 0x01 the indefinite form.
  if (flags != V_ASN1_CONSTRUCTED || tag != V_ASN1_SEQUENCE || tag_class != V_ASN1_UNIVERSAL) {
    return Result::CryptoBadSignatureEncoding;
  }
  // The minimal header for this length must account for all of the input.
  if (ASN1_object_size(1, length, V_ASN1_SEQUENCE) != static_cast<long>(der.size())) {
    return Result::CryptoBadSignatureEncoding;
  }
  const unsigned char* end = cursor + length;
  HVSIG_TRY(ReadSignatureInteger(cursor, end, max_magnitude, r));
  HVSIG_TRY(ReadSignatureInteger(cursor, end, max_magnitude, s));
  if (cursor != end) {
    return Result::CryptoBadSignatureEncoding;
  }
  return Result::Success;
}

bool InSignatureRange(const BIGNUM* value, const BIGNUM* order) {
  return !BN_is_zero(value) && BN_cmp(value, order) < 0;
}

Result VerifyEcdsa(const CryptoProvider&, const EcPublicKey& key, Input digest,
                   Input der_signature) {
  const ErrorQueueCleaner cleaner;
  PkeyPtr pkey;
  HVSIG_TRY(EcPkey(key, pkey));
  if (digest.empty() || digest.size() > kMaxDigestLength) {
    return Result::CryptoBadDigestLength;
  }
  const Curve* curve = FindCurve(key.curve);
  BnPtr r;
  BnPtr s;
  HVSIG_TRY(ParseStrictDerSignature(der_signature, curve->field_bytes, r, s));
  if (!InSignatureRange(r.get(), curve->order.get()) ||
      !InSignatureRange(s.get(), curve->order.get())) {
    return Result::CryptoSignatureOutOfRange;
  }
  // No signature digest is set: OpenSSL then takes the digest as given and truncates it to the
  // order's bit length, as the interface specifies.
  return EvpVerify(pkey.get(), digest, der_signature, [](EVP_PKEY_CTX*) { return true; });
}

constexpr CryptoProvider kOpenSslProvider = {
    "openssl",     nullptr,        DigestInit,   DigestUpdate, DigestFinal, DigestRelease,
    VerifyRsaPkcs1, VerifyRsaPss, VerifyEcdsa, CheckRsaKey,  CheckEcKey,
};

}  // namespace

const CryptoProvider& OpenSslProvider() { return kOpenSslProvider; }

}  // namespace hvsig
