// The builtin provider's ECDSA verification and EC public-key validation, with OpenSSL's
// libcrypto as the oracle: keys and signatures are made at test time, malformed and edge-case
// signatures are built with OpenSSL's BIGNUM/EC_POINT arithmetic and OpenSSL's own verdict is
// checked alongside ours.

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include <memory>
#include <string>
#include <vector>

#include "hvsig/crypto.h"
#include "hvsig/crypto_builtin.h"
#include "test_support.h"

namespace hvsig {
namespace {

using namespace test;

using BnCtxPtr = Owned<BN_CTX, BN_CTX_free>;
using GroupPtr = Owned<EC_GROUP, EC_GROUP_free>;
using PointPtr = Owned<EC_POINT, EC_POINT_free>;
using SigPtr = Owned<ECDSA_SIG, ECDSA_SIG_free>;
using ParamBldPtr = Owned<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using ParamPtr = Owned<OSSL_PARAM, OSSL_PARAM_free>;

BnPtr NewBn() { return BnPtr(BN_new()); }

struct CurveCase {
  EcCurve curve;
  const char* group_name;
  int nid;
  size_t coordinate_length;
};

constexpr CurveCase kCurves[] = {
    {EcCurve::P256, "P-256", NID_X9_62_prime256v1, 32},
    {EcCurve::P384, "P-384", NID_secp384r1, 48},
};

std::string CurveName(const testing::TestParamInfo<CurveCase>& info) {
  return info.param.curve == EcCurve::P256 ? "P256" : "P384";
}

Result BuiltinVerify(EcCurve curve, const Bytes& point, const Bytes& digest, const Bytes& signature) {
  const CryptoProvider& provider = BuiltinProvider();
  EcPublicKey key{curve, Input(point.data(), point.size())};
  return provider.verify_ecdsa(provider, key, Input(digest.data(), digest.size()),
                               Input(signature.data(), signature.size()));
}

Result BuiltinCheckKey(EcCurve curve, const Bytes& point) {
  const CryptoProvider& provider = BuiltinProvider();
  return provider.check_ec_key(provider, EcPublicKey{curve, Input(point.data(), point.size())});
}

// The curve's group and parameters, from OpenSSL.
class Group {
 public:
  explicit Group(const CurveCase& c)
      : curve_(c), group_(EC_GROUP_new_by_curve_name(c.nid)), ctx_(BN_CTX_new()), p_(NewBn()) {
    EXPECT_EQ(EC_GROUP_get_curve(group_.get(), p_.get(), nullptr, nullptr, ctx_.get()), 1);
  }

  const BIGNUM* order() const { return EC_GROUP_get0_order(group_.get()); }
  const BIGNUM* prime() const { return p_.get(); }
  BN_CTX* ctx() const { return ctx_.get(); }
  const EC_GROUP* group() const { return group_.get(); }
  size_t length() const { return curve_.coordinate_length; }

  PointPtr NewPoint() const { return PointPtr(EC_POINT_new(group_.get())); }

  // scalar_g*G + scalar_q*q (either may be null).
  PointPtr Multiply(const BIGNUM* scalar_g, const EC_POINT* q, const BIGNUM* scalar_q) const {
    PointPtr r = NewPoint();
    EXPECT_EQ(EC_POINT_mul(group_.get(), r.get(), scalar_g, q, scalar_q, ctx_.get()), 1);
    return r;
  }

  Bytes Encode(const EC_POINT* point, point_conversion_form_t form) const {
    size_t length = EC_POINT_point2oct(group_.get(), point, form, nullptr, 0, ctx_.get());
    Bytes out(length);
    EXPECT_EQ(EC_POINT_point2oct(group_.get(), point, form, out.data(), length, ctx_.get()), length);
    return out;
  }

  bool Decodes(const Bytes& encoded) const {
    PointPtr point = NewPoint();
    return EC_POINT_oct2point(group_.get(), point.get(), encoded.data(), encoded.size(),
                              ctx_.get()) == 1;
  }

  BnPtr AffineX(const EC_POINT* point) const {
    BnPtr x = NewBn();
    EXPECT_EQ(EC_POINT_get_affine_coordinates(group_.get(), point, x.get(), nullptr, ctx_.get()), 1);
    return x;
  }

  BnPtr RandomScalar() const {
    BnPtr k = NewBn();
    EXPECT_EQ(BN_rand_range(k.get(), order()), 1);
    if (BN_is_zero(k.get())) BN_one(k.get());
    return k;
  }

  BnPtr ModMul(const BIGNUM* a, const BIGNUM* b) const {
    BnPtr r = NewBn();
    EXPECT_EQ(BN_mod_mul(r.get(), a, b, order(), ctx_.get()), 1);
    return r;
  }
  BnPtr ModInverse(const BIGNUM* a) const {
    BnPtr r = NewBn();
    EXPECT_NE(BN_mod_inverse(r.get(), a, order(), ctx_.get()), nullptr);
    return r;
  }
  BnPtr ModAdd(const BIGNUM* a, const BIGNUM* b) const {
    BnPtr r = NewBn();
    EXPECT_EQ(BN_mod_add(r.get(), a, b, order(), ctx_.get()), 1);
    return r;
  }
  BnPtr ModNeg(const BIGNUM* a) const {
    BnPtr zero = NewBn();
    BN_zero(zero.get());
    BnPtr r = NewBn();
    EXPECT_EQ(BN_mod_sub(r.get(), zero.get(), a, order(), ctx_.get()), 1);
    return r;
  }

 private:
  CurveCase curve_;
  GroupPtr group_;
  BnCtxPtr ctx_;
  BnPtr p_;
};

// DER Ecdsa-Sig-Value from OpenSSL's encoder (the reference for well-formed signatures).
Bytes EncodeSignature(const BIGNUM* r, const BIGNUM* s) {
  SigPtr sig(ECDSA_SIG_new());
  EXPECT_EQ(ECDSA_SIG_set0(sig.get(), BN_dup(r), BN_dup(s)), 1);
  unsigned char* der = nullptr;
  int length = i2d_ECDSA_SIG(sig.get(), &der);
  EXPECT_GT(length, 0);
  Bytes out(der, der + length);
  OPENSSL_free(der);
  return out;
}

void DecodeSignature(const Bytes& der, BnPtr& r, BnPtr& s) {
  const unsigned char* cursor = der.data();
  SigPtr sig(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(der.size())));
  ASSERT_NE(sig, nullptr);
  r.reset(BN_dup(ECDSA_SIG_get0_r(sig.get())));
  s.reset(BN_dup(ECDSA_SIG_get0_s(sig.get())));
}

// Minimal positive INTEGER contents for a magnitude.
Bytes IntegerContents(const BIGNUM* value) {
  Bytes magnitude = BnToBytes(value);
  if (magnitude.empty() || (magnitude[0] & 0x80) != 0) magnitude.insert(magnitude.begin(), 0x00);
  return magnitude;
}
Bytes SignatureFromContents(const Bytes& r_contents, const Bytes& s_contents) {
  return Tlv(0x30, Concat({Tlv(0x02, r_contents), Tlv(0x02, s_contents)}));
}

struct KeyPair {
  PkeyPtr pkey;
  Bytes point;  // uncompressed
  BnPtr private_scalar;
};

KeyPair GenerateKey(const CurveCase& c) {
  KeyPair key;
  key.pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", c.group_name));
  EXPECT_NE(key.pkey, nullptr);
  size_t length = 0;
  EXPECT_EQ(EVP_PKEY_get_octet_string_param(key.pkey.get(), OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0,
                                            &length), 1);
  key.point.resize(length);
  EXPECT_EQ(EVP_PKEY_get_octet_string_param(key.pkey.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                            key.point.data(), length, &length), 1);
  EXPECT_EQ(key.point.size(), 1 + 2 * c.coordinate_length);
  BIGNUM* d = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key.pkey.get(), OSSL_PKEY_PARAM_PRIV_KEY, &d), 1);
  key.private_scalar.reset(d);
  return key;
}

// An OpenSSL public key from an encoded point (for OpenSSL's verdict on constructed cases).
PkeyPtr PublicKeyFromPoint(const CurveCase& c, const Bytes& point) {
  ParamBldPtr builder(OSSL_PARAM_BLD_new());
  EXPECT_EQ(OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                            c.group_name, 0), 1);
  EXPECT_EQ(OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                             point.size()), 1);
  ParamPtr params(OSSL_PARAM_BLD_to_param(builder.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EXPECT_EQ(EVP_PKEY_fromdata_init(ctx.get()), 1);
  EVP_PKEY* pkey = nullptr;
  EXPECT_EQ(EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()), 1);
  return PkeyPtr(pkey);
}

Bytes SignMessage(EVP_PKEY* pkey, const EVP_MD* md, const Bytes& message) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, pkey), 1);
  size_t length = 0;
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &length, message.data(), message.size()), 1);
  Bytes signature(length);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), signature.data(), &length, message.data(), message.size()), 1);
  signature.resize(length);
  return signature;
}

// Raw ECDSA over a caller-chosen digest (any length; OpenSSL truncates like the standard says).
Bytes SignDigest(EVP_PKEY* pkey, const Bytes& digest) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new(pkey, nullptr));
  EXPECT_EQ(EVP_PKEY_sign_init(ctx.get()), 1);
  size_t length = 0;
  EXPECT_EQ(EVP_PKEY_sign(ctx.get(), nullptr, &length, digest.data(), digest.size()), 1);
  Bytes signature(length);
  EXPECT_EQ(EVP_PKEY_sign(ctx.get(), signature.data(), &length, digest.data(), digest.size()), 1);
  signature.resize(length);
  return signature;
}

bool OpenSslVerifies(EVP_PKEY* pkey, const Bytes& digest, const Bytes& signature) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new(pkey, nullptr));
  EXPECT_EQ(EVP_PKEY_verify_init(ctx.get()), 1);
  return EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest.data(),
                         digest.size()) == 1;
}

class EcdsaTest : public testing::TestWithParam<CurveCase> {
 protected:
  const CurveCase& curve() const { return GetParam(); }
  Group group_{GetParam()};
};

// Each curve with each digest, signed by OpenSSL over random messages.
TEST_P(EcdsaTest, OpenSslSignaturesVerify) {
  const EVP_MD* digests[] = {EVP_sha256(), EVP_sha384(), EVP_sha512()};
  for (const EVP_MD* md : digests) {
    for (int i = 0; i < 8; ++i) {
      KeyPair key = GenerateKey(curve());
      Bytes message = RandomBytes(static_cast<size_t>(i) * 37);
      Bytes signature = SignMessage(key.pkey.get(), md, message);
      Bytes digest = OpenSslDigest(md, message);
      EXPECT_EQ(BuiltinCheckKey(curve().curve, key.point), Result::Success);
      EXPECT_EQ(BuiltinVerify(curve().curve, key.point, digest, signature), Result::Success)
          << EVP_MD_get0_name(md) << " #" << i;

      Bytes flipped_digest = digest;
      flipped_digest[static_cast<size_t>(i) % digest.size()] ^= 0x01;
      EXPECT_EQ(BuiltinVerify(curve().curve, key.point, flipped_digest, signature),
                Result::CryptoBadSignature);

      KeyPair other = GenerateKey(curve());
      EXPECT_EQ(BuiltinVerify(curve().curve, other.point, digest, signature),
                Result::CryptoBadSignature);
    }
  }
}

// Every single-bit corruption of a signature is rejected, and OpenSSL rejects it too.
TEST_P(EcdsaTest, EveryFlippedSignatureBitIsRejected) {
  KeyPair key = GenerateKey(curve());
  Bytes digest = OpenSslDigest(EVP_sha256(), Bytes{'h', 'v', 's', 'i', 'g'});
  Bytes signature = SignDigest(key.pkey.get(), digest);
  ASSERT_EQ(BuiltinVerify(curve().curve, key.point, digest, signature), Result::Success);
  for (size_t bit = 0; bit < signature.size() * 8; ++bit) {
    Bytes flipped = signature;
    flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    Result result = BuiltinVerify(curve().curve, key.point, digest, flipped);
    EXPECT_TRUE(result == Result::CryptoBadSignature ||
                result == Result::CryptoBadSignatureEncoding ||
                result == Result::CryptoSignatureOutOfRange)
        << "bit " << bit << ": " << ResultName(result);
    EXPECT_FALSE(OpenSslVerifies(key.pkey.get(), digest, flipped)) << "bit " << bit;
  }
}

// Flipping a bit inside r or s (re-encoded as valid DER) breaks the signature, not its encoding.
TEST_P(EcdsaTest, FlippedScalarBitsGiveBadSignature) {
  KeyPair key = GenerateKey(curve());
  Bytes digest = OpenSslDigest(EVP_sha384(), Bytes{1, 2, 3});
  BnPtr r, s;
  DecodeSignature(SignDigest(key.pkey.get(), digest), r, s);
  for (int bit : {0, 7, 100, 200}) {
    for (BIGNUM* target : {r.get(), s.get()}) {
      ASSERT_EQ(BN_is_bit_set(target, bit) ? BN_clear_bit(target, bit) : BN_set_bit(target, bit), 1);
      Bytes signature = EncodeSignature(r.get(), s.get());
      EXPECT_EQ(BuiltinVerify(curve().curve, key.point, digest, signature),
                Result::CryptoBadSignature) << "bit " << bit;
      EXPECT_FALSE(OpenSslVerifies(key.pkey.get(), digest, signature));
      ASSERT_EQ(BN_is_bit_set(target, bit) ? BN_clear_bit(target, bit) : BN_set_bit(target, bit), 1);
    }
  }
}

// ECDSA has no low-s rule: (r, n - s) is as valid as (r, s).
TEST_P(EcdsaTest, HighSIsValid) {
  KeyPair key = GenerateKey(curve());
  Bytes digest = OpenSslDigest(EVP_sha256(), Bytes{'s'});
  BnPtr r, s;
  DecodeSignature(SignDigest(key.pkey.get(), digest), r, s);
  BnPtr negated = group_.ModNeg(s.get());
  Bytes signature = EncodeSignature(r.get(), negated.get());
  EXPECT_TRUE(OpenSslVerifies(key.pkey.get(), digest, signature));
  EXPECT_EQ(BuiltinVerify(curve().curve, key.point, digest, signature), Result::Success);
}

TEST_P(EcdsaTest, ScalarsOutsideOneToNMinusOneAreOutOfRange) {
  KeyPair key = GenerateKey(curve());
  Bytes digest = OpenSslDigest(EVP_sha256(), Bytes{'r'});
  BnPtr r, s;
  DecodeSignature(SignDigest(key.pkey.get(), digest), r, s);
  BnPtr zero = NewBn();
  BN_zero(zero.get());
  BnPtr n_plus_r = NewBn();
  ASSERT_EQ(BN_add(n_plus_r.get(), group_.order(), r.get()), 1);
  BnPtr too_long = NewBn();  // one octet longer than n
  ASSERT_EQ(BN_set_bit(too_long.get(), static_cast<int>(8 * curve().coordinate_length)), 1);
  const BIGNUM* out_of_range[] = {zero.get(), group_.order(), n_plus_r.get(), too_long.get()};
  for (const BIGNUM* bad : out_of_range) {
    Bytes bad_r = EncodeSignature(bad, s.get());
    Bytes bad_s = EncodeSignature(r.get(), bad);
    EXPECT_EQ(BuiltinVerify(curve().curve, key.point, digest, bad_r), Result::CryptoSignatureOutOfRange);
    EXPECT_EQ(BuiltinVerify(curve().curve, key.point, digest, bad_s), Result::CryptoSignatureOutOfRange);
    EXPECT_FALSE(OpenSslVerifies(key.pkey.get(), digest, bad_r));
    EXPECT_FALSE(OpenSslVerifies(key.pkey.get(), digest, bad_s));
  }
  // -1 and -2^(8*len-1): well-formed negative INTEGERs.
  Bytes most_negative(curve().coordinate_length, 0x00);
  most_negative[0] = 0x80;
  for (const Bytes& negative : {Bytes{0xff}, most_negative}) {
    Bytes signature = SignatureFromContents(negative, IntegerContents(s.get()));
    EXPECT_EQ(BuiltinVerify(curve().curve, key.point, digest, signature),
              Result::CryptoSignatureOutOfRange);
    EXPECT_FALSE(OpenSslVerifies(key.pkey.get(), digest, signature));
  }
  // n - 1 is in range: the signature is merely wrong.
  BnPtr n_minus_one = BnPtr(BN_dup(group_.order()));
  ASSERT_EQ(BN_sub_word(n_minus_one.get(), 1), 1);
  EXPECT_EQ(BuiltinVerify(curve().curve, key.point, digest, EncodeSignature(n_minus_one.get(), s.get())),
            Result::CryptoBadSignature);
}

TEST_P(EcdsaTest, NonDerSignaturesAreBadEncoding) {
  KeyPair key = GenerateKey(curve());
  Bytes digest = OpenSslDigest(EVP_sha512(), Bytes{'d'});
  Bytes good = SignDigest(key.pkey.get(), digest);
  BnPtr r, s;
  DecodeSignature(good, r, s);
  Bytes r_contents = IntegerContents(r.get());
  Bytes s_contents = IntegerContents(s.get());
  // The test's writer reproduces OpenSSL's encoding, so the variants below differ only where meant.
  ASSERT_EQ(SignatureFromContents(r_contents, s_contents), good);
  ASSERT_EQ(BuiltinVerify(curve().curve, key.point, digest, good), Result::Success);

  Bytes body = Concat({Tlv(0x02, r_contents), Tlv(0x02, s_contents)});
  ASSERT_LT(body.size(), 0x80u);
  Bytes padded_r = r_contents;
  padded_r.insert(padded_r.begin(), 0x00);
  Bytes long_form_sequence = Concat({{0x30, 0x81, static_cast<uint8_t>(body.size())}, body});
  Bytes long_form_integer = Concat({{0x02, 0x81, static_cast<uint8_t>(r_contents.size())}, r_contents});
  Bytes indefinite = Concat({{0x30, 0x80}, body, {0x00, 0x00}});

  struct Case {
    const char* name;
    Bytes signature;
  };
  const Case cases[] = {
      {"non-minimal INTEGER r", SignatureFromContents(padded_r, s_contents)},
      {"BER long-form SEQUENCE length", long_form_sequence},
      {"BER long-form INTEGER length",
       Tlv(0x30, Concat({long_form_integer, Tlv(0x02, s_contents)}))},
      {"indefinite length", indefinite},
      {"trailing byte after SEQUENCE", Concat({good, {0x00}})},
      {"third INTEGER inside SEQUENCE", Tlv(0x30, Concat({body, {0x02, 0x01, 0x01}}))},
      {"missing s", Tlv(0x30, Tlv(0x02, r_contents))},
      {"empty SEQUENCE", Bytes{0x30, 0x00}},
      {"empty input", Bytes{}},
      {"SET instead of SEQUENCE", Tlv(0x31, body)},
      {"OCTET STRING instead of INTEGER",
       Tlv(0x30, Concat({Tlv(0x04, r_contents), Tlv(0x02, s_contents)}))},
      {"empty INTEGER", Tlv(0x30, Concat({{0x02, 0x00}, Tlv(0x02, s_contents)}))},
      {"truncated", Bytes(good.begin(), good.end() - 1)},
      {"SEQUENCE length past the end", Concat({{0x30, static_cast<uint8_t>(body.size() + 1)}, body})},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(BuiltinVerify(curve().curve, key.point, digest, c.signature),
              Result::CryptoBadSignatureEncoding) << c.name;
    EXPECT_FALSE(OpenSslVerifies(key.pkey.get(), digest, c.signature)) << c.name;
  }
}

TEST_P(EcdsaTest, PublicKeyValidation) {
  KeyPair key = GenerateKey(curve());
  const size_t length = curve().coordinate_length;
  EcCurve id = curve().curve;
  ASSERT_EQ(BuiltinCheckKey(id, key.point), Result::Success);

  PointPtr point = group_.NewPoint();
  ASSERT_EQ(EC_POINT_oct2point(group_.group(), point.get(), key.point.data(), key.point.size(),
                               group_.ctx()), 1);
  Bytes compressed = group_.Encode(point.get(), POINT_CONVERSION_COMPRESSED);
  Bytes hybrid = group_.Encode(point.get(), POINT_CONVERSION_HYBRID);
  ASSERT_EQ(compressed.size(), 1 + length);
  ASSERT_EQ(hybrid.size(), 1 + 2 * length);
  Bytes compressed_prefix_full_length = key.point;
  compressed_prefix_full_length[0] = compressed[0];
  Bytes other_curve = GenerateKey(kCurves[id == EcCurve::P256 ? 1 : 0]).point;

  Bytes prime = BnToBytes(group_.prime(), length);
  Bytes x(key.point.begin() + 1, key.point.begin() + 1 + static_cast<long>(length));
  Bytes y(key.point.begin() + 1 + static_cast<long>(length), key.point.end());
  Bytes x_is_p = Concat({{0x04}, prime, y});
  Bytes y_is_p = Concat({{0x04}, x, prime});
  Bytes all_ones = Concat({{0x04}, Bytes(length, 0xff), Bytes(length, 0xff)});
  // y + 1 (mod p) with the same x: both y and y+1 on the curve would need 2y + 1 = 0.
  BnPtr y_plus_one = BnFromBytes(y);
  ASSERT_EQ(BN_add_word(y_plus_one.get(), 1), 1);
  ASSERT_EQ(BN_mod(y_plus_one.get(), y_plus_one.get(), group_.prime(), group_.ctx()), 1);
  Bytes off_curve = Concat({{0x04}, x, BnToBytes(y_plus_one.get(), length)});
  Bytes origin = Concat({{0x04}, Bytes(2 * length, 0x00)});
  // -Q = (x, p - y) is a valid key.
  BnPtr minus_y = NewBn();
  ASSERT_EQ(BN_sub(minus_y.get(), group_.prime(), BnFromBytes(y).get()), 1);
  Bytes negated = Concat({{0x04}, x, BnToBytes(minus_y.get(), length)});

  struct Case {
    const char* name;
    Bytes point;
    Result expected;
  };
  const Case cases[] = {
      {"negated point", negated, Result::Success},
      {"compressed", compressed, Result::CryptoBadPointEncoding},
      {"compressed prefix, full length", compressed_prefix_full_length, Result::CryptoBadPointEncoding},
      {"hybrid", hybrid, Result::CryptoBadPointEncoding},
      {"infinity", Bytes{0x00}, Result::CryptoBadPointEncoding},
      {"empty", Bytes{}, Result::CryptoBadPointEncoding},
      {"one byte short", Bytes(key.point.begin(), key.point.end() - 1), Result::CryptoBadPointEncoding},
      {"one byte long", Concat({key.point, {0x00}}), Result::CryptoBadPointEncoding},
      {"the other curve's point", other_curve, Result::CryptoBadPointEncoding},
      {"X = p", x_is_p, Result::CryptoPointCoordinateOutOfRange},
      {"Y = p", y_is_p, Result::CryptoPointCoordinateOutOfRange},
      {"X = Y = 2^bits - 1", all_ones, Result::CryptoPointCoordinateOutOfRange},
      {"Y + 1", off_curve, Result::CryptoPointNotOnCurve},
      {"(0, 0)", origin, Result::CryptoPointNotOnCurve},
  };
  Bytes digest = OpenSslDigest(EVP_sha256(), Bytes{'k'});
  Bytes signature = SignDigest(key.pkey.get(), digest);
  for (const Case& c : cases) {
    EXPECT_EQ(BuiltinCheckKey(id, c.point), c.expected) << c.name;
    // OpenSSL also decodes compressed, hybrid and infinity encodings; on the rest it agrees.
    if (c.expected != Result::CryptoBadPointEncoding) {
      EXPECT_EQ(group_.Decodes(c.point), c.expected == Result::Success) << c.name;
    }
    // Verification validates the key before anything else.
    if (c.expected != Result::Success) {
      EXPECT_EQ(BuiltinVerify(id, c.point, digest, signature), c.expected) << c.name;
    }
  }
}

// A digest shorter than n is used whole; a longer one is truncated to n's length; digests
// whose value is 0 or n (both 0 mod n) still verify.
TEST_P(EcdsaTest, DigestLengthsAndValues) {
  KeyPair key = GenerateKey(curve());
  Bytes order = BnToBytes(group_.order(), curve().coordinate_length);
  const Bytes digests[] = {
      RandomBytes(20), RandomBytes(28), RandomBytes(32), RandomBytes(48), RandomBytes(64),
      Bytes(32, 0x00), Bytes(64, 0xff), order,
  };
  for (const Bytes& digest : digests) {
    Bytes signature = SignDigest(key.pkey.get(), digest);
    ASSERT_TRUE(OpenSslVerifies(key.pkey.get(), digest, signature));
    EXPECT_EQ(BuiltinVerify(curve().curve, key.point, digest, signature), Result::Success)
        << digest.size() << " bytes";
  }
  Bytes signature = SignDigest(key.pkey.get(), Bytes(32, 0x01));
  EXPECT_EQ(BuiltinVerify(curve().curve, key.point, Bytes{}, signature), Result::CryptoBadDigestLength);
  EXPECT_EQ(BuiltinVerify(curve().curve, key.point, Bytes(kMaxDigestLength + 1, 0x01), signature),
            Result::CryptoBadDigestLength);
}

// Signatures built from chosen scalars to reach the arithmetic's corner cases. For a key
// Q = dG, verification computes u1*G + u2*Q = (u1 + u2*d)G with u1 = e/s and u2 = r/s.
class EdgeCaseTest : public EcdsaTest {
 protected:
  // (r, s) for digest value e under private scalar d with nonce k: r = x(kG) mod n,
  // s = (e + r*d)/k.
  Bytes SignWith(const BIGNUM* d, const BIGNUM* k, const BIGNUM* e) {
    PointPtr kg = group_.Multiply(k, nullptr, nullptr);
    BnPtr r = group_.AffineX(kg.get());
    EXPECT_EQ(BN_nnmod(r.get(), r.get(), group_.order(), group_.ctx()), 1);
    BnPtr s = group_.ModMul(group_.ModAdd(e, group_.ModMul(r.get(), d).get()).get(),
                            group_.ModInverse(k).get());
    return EncodeSignature(r.get(), s.get());
  }

  Bytes PointOf(const BIGNUM* d) {
    PointPtr q = group_.Multiply(d, nullptr, nullptr);
    return group_.Encode(q.get(), POINT_CONVERSION_UNCOMPRESSED);
  }

  // Checks OpenSSL's verdict and ours for a constructed case.
  void ExpectVerdict(const Bytes& point, const Bytes& digest, const Bytes& signature,
                     Result expected) {
    PkeyPtr pkey = PublicKeyFromPoint(curve(), point);
    EXPECT_EQ(OpenSslVerifies(pkey.get(), digest, signature), expected == Result::Success);
    EXPECT_EQ(BuiltinVerify(curve().curve, point, digest, signature), expected);
  }

  Bytes DigestOf(const BIGNUM* e) { return BnToBytes(e, curve().coordinate_length); }
};

// u1 + u2*d = 0 mod n: the sum is the point at infinity, which has no x to compare.
TEST_P(EdgeCaseTest, SumAtInfinityIsRejected) {
  KeyPair key = GenerateKey(curve());
  BnPtr r = group_.RandomScalar();
  BnPtr s = group_.RandomScalar();
  BnPtr e = group_.ModNeg(group_.ModMul(r.get(), key.private_scalar.get()).get());
  ExpectVerdict(key.point, DigestOf(e.get()), EncodeSignature(r.get(), s.get()),
                Result::CryptoBadSignature);
}

// u1*G == u2*Q, so the two halves are the same point: e = r*d gives s = 2rd/k, u1 = u2*d = k/2.
TEST_P(EdgeCaseTest, EqualHalvesVerify) {
  KeyPair key = GenerateKey(curve());
  BnPtr k = group_.RandomScalar();
  BnPtr zero = NewBn();
  BN_zero(zero.get());
  Bytes signature_for_zero = SignWith(key.private_scalar.get(), k.get(), zero.get());
  BnPtr r, s;
  DecodeSignature(signature_for_zero, r, s);
  BnPtr e = group_.ModMul(r.get(), key.private_scalar.get());
  Bytes signature = SignWith(key.private_scalar.get(), k.get(), e.get());
  ExpectVerdict(key.point, DigestOf(e.get()), signature, Result::Success);
}

// Q = G, Q = -G and Q = 2G: the key's table and the generator's table overlap.
TEST_P(EdgeCaseTest, KeysThatAreSmallMultiplesOfG) {
  BnPtr n_minus_one = BnPtr(BN_dup(group_.order()));
  ASSERT_EQ(BN_sub_word(n_minus_one.get(), 1), 1);
  BnPtr one = NewBn();
  BN_one(one.get());
  BnPtr two = NewBn();
  BN_set_word(two.get(), 2);
  for (const BIGNUM* d : {one.get(), n_minus_one.get(), two.get()}) {
    BnPtr k = group_.RandomScalar();
    BnPtr e = group_.RandomScalar();
    ExpectVerdict(PointOf(d), DigestOf(e.get()), SignWith(d, k.get(), e.get()), Result::Success);
    // k = d: R = Q, so u1*G + u2*Q needs the sum of equal points again.
    ExpectVerdict(PointOf(d), DigestOf(e.get()), SignWith(d, d, e.get()), Result::Success);
  }
}

// Q = G with u1 = u2 = 1: the last addition is G + G, the doubling case of the addition
// formula (k = 2, e = r gives s = (r + r)/2 = r).
TEST_P(EdgeCaseTest, AdditionOfEqualPoints) {
  BnPtr one = NewBn();
  BN_one(one.get());
  BnPtr two = NewBn();
  BN_set_word(two.get(), 2);
  BnPtr zero = NewBn();
  BN_zero(zero.get());
  BnPtr r, s;
  DecodeSignature(SignWith(one.get(), two.get(), zero.get()), r, s);
  Bytes signature = SignWith(one.get(), two.get(), r.get());
  BnPtr r2, s2;
  DecodeSignature(signature, r2, s2);
  ASSERT_EQ(BN_cmp(r2.get(), s2.get()), 0);
  ExpectVerdict(PointOf(one.get()), DigestOf(r.get()), signature, Result::Success);
}

// Q = G with u1 = 1, u2 = n - 1: the last addition is G + (-G) (e = s, r = n - s).
TEST_P(EdgeCaseTest, AdditionOfOppositePoints) {
  BnPtr one = NewBn();
  BN_one(one.get());
  BnPtr s = group_.RandomScalar();
  BnPtr r = group_.ModNeg(s.get());
  ExpectVerdict(PointOf(one.get()), DigestOf(s.get()), EncodeSignature(r.get(), s.get()),
                Result::CryptoBadSignature);
}

// x(R) >= n, so r = x(R) - n and only the r + n comparison matches. R has no known discrete
// log, so the key is solved for instead: Q = (R - u1*G)/u2 for random u1, u2.
TEST_P(EdgeCaseTest, LargeXCoordinateVerifies) {
  PointPtr big = group_.NewPoint();
  BnPtr x = BnPtr(BN_dup(group_.order()));
  ASSERT_EQ(BN_add_word(x.get(), 1), 1);  // x = n would give r = 0 (and is on P-384)
  while (EC_POINT_set_compressed_coordinates(group_.group(), big.get(), x.get(), 0,
                                             group_.ctx()) != 1) {
    ASSERT_EQ(BN_add_word(x.get(), 1), 1);
  }
  ASSERT_LT(BN_cmp(x.get(), group_.prime()), 0);
  BnPtr u1 = group_.RandomScalar();
  BnPtr u2 = group_.RandomScalar();
  // Q = u2^-1 * R - u2^-1 * u1 * G.
  BnPtr u2_inverse = group_.ModInverse(u2.get());
  BnPtr minus_u1_over_u2 = group_.ModNeg(group_.ModMul(u1.get(), u2_inverse.get()).get());
  PointPtr q = group_.Multiply(minus_u1_over_u2.get(), big.get(), u2_inverse.get());
  Bytes point = group_.Encode(q.get(), POINT_CONVERSION_UNCOMPRESSED);
  // r = x - n, s = r/u2, e = u1*s.
  BnPtr r = NewBn();
  ASSERT_EQ(BN_sub(r.get(), x.get(), group_.order()), 1);
  BnPtr s = group_.ModMul(r.get(), u2_inverse.get());
  BnPtr e = group_.ModMul(u1.get(), s.get());
  ExpectVerdict(point, DigestOf(e.get()), EncodeSignature(r.get(), s.get()), Result::Success);
  // The unreduced x itself is not a valid r.
  EXPECT_EQ(BuiltinVerify(curve().curve, point, DigestOf(e.get()), EncodeSignature(x.get(), s.get())),
            Result::CryptoSignatureOutOfRange);
}

// u1 = 0 (e = 0 mod n): only the key's half contributes.
TEST_P(EdgeCaseTest, ZeroDigestScalar) {
  KeyPair key = GenerateKey(curve());
  BnPtr k = group_.RandomScalar();
  BnPtr zero = NewBn();
  BN_zero(zero.get());
  ExpectVerdict(key.point, DigestOf(zero.get()), SignWith(key.private_scalar.get(), k.get(), zero.get()),
                Result::Success);
}

INSTANTIATE_TEST_SUITE_P(Curves, EcdsaTest, testing::ValuesIn(kCurves), CurveName);
INSTANTIATE_TEST_SUITE_P(Curves, EdgeCaseTest, testing::ValuesIn(kCurves), CurveName);

TEST(EcdsaUnsupported, UnknownCurveIsUnsupported) {
  Bytes point(65, 0x04);
  Bytes digest(32, 0x01);
  Bytes signature{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01};
  EcCurve unknown = static_cast<EcCurve>(7);
  EXPECT_EQ(BuiltinVerify(unknown, point, digest, signature), Result::CryptoUnsupportedAlgorithm);
  EXPECT_EQ(BuiltinCheckKey(unknown, point), Result::CryptoUnsupportedAlgorithm);
}

}  // namespace
}  // namespace hvsig
