// ECDSA verification on P-256 and P-384 (FIPS 186-5 6.4.2, SEC 1 4.1.4) with complete public-key
// validation (SP 800-56A rev. 3 5.6.2.3.3). Verify-only: nothing here is secret.

#include "crypto/builtin/builtin.h"
#include "crypto/builtin/ec_point.h"
#include "hvsig/der.h"

namespace hvsig::builtin {
namespace {

using ec::Curve;
using ec::Modulus;
using ec::Num;
using ec::Point;

// FIPS 186-5 / SP 800-186 parameters.
constexpr Curve<4> kP256 = ec::MakeCurve<4>(
    "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
    "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
    "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
    "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");

constexpr Curve<6> kP384 = ec::MakeCurve<6>(
    "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
    "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
    "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7",
    "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f");

// A mistyped digit in p, b or G fails here; n is covered by the signature tests.
static_assert(ec::IsOnCurve(kP256.generator_odd_multiples[0].x,
                            kP256.generator_odd_multiples[0].y, kP256));
static_assert(ec::IsOnCurve(kP384.generator_odd_multiples[0].x,
                            kP384.generator_odd_multiples[0].y, kP384));
// Scalars, coordinates and truncated digests are then all exactly 8*N bytes long.
static_assert(kP256.p.m.limb[3] >> 63 == 1 && kP256.n.m.limb[3] >> 63 == 1);
static_assert(kP384.p.m.limb[5] >> 63 == 1 && kP384.n.m.limb[5] >> 63 == 1);

// SEC 1 2.3.4 uncompressed point 0x04 || X || Y, with X, Y < p and on the curve. The cofactor
// is 1, so a point on the curve is in the prime-order group: no n*Q check is needed.
template <size_t N>
Result DecodePublicKey(const Curve<N>& curve, Input encoded, Point<N>& point) {
  constexpr size_t kCoordinateLength = 8 * N;
  // Compressed (02/03), hybrid (06/07) and infinity (00) encodings are not accepted.
  if (encoded.size() != 1 + 2 * kCoordinateLength) return Result::CryptoBadPointEncoding;
  if (encoded[0] != 0x04) return Result::CryptoBadPointEncoding;
  Num<N> x = ec::NumFromBytes<N>(encoded.data() + 1, kCoordinateLength);
  Num<N> y = ec::NumFromBytes<N>(encoded.data() + 1 + kCoordinateLength, kCoordinateLength);
  if (!ec::Less(x, curve.p.m)) return Result::CryptoPointCoordinateOutOfRange;
  if (!ec::Less(y, curve.p.m)) return Result::CryptoPointCoordinateOutOfRange;
  point = Point<N>{ec::ToMontgomery(x, curve.p), ec::ToMontgomery(y, curve.p), curve.p.one};
  if (!ec::IsOnCurve(point.x, point.y, curve)) return Result::CryptoPointNotOnCurve;
  return Result::Success;
}

template <size_t N>
Result CheckPublicKey(const Curve<N>& curve, Input encoded) {
  Point<N> decoded;
  return DecodePublicKey(curve, encoded, decoded);
}

// One INTEGER of an Ecdsa-Sig-Value. A well-formed INTEGER that is negative or longer than n
// is a range failure, not an encoding failure.
template <size_t N>
Result ReadSignatureInteger(der::Reader& reader, Input& magnitude) {
  Result result = der::ReadUnsignedInteger(reader, 8 * N, magnitude);
  if (result == Result::DerNegativeInteger) return Result::CryptoSignatureOutOfRange;
  if (result == Result::DerIntegerTooLarge) return Result::CryptoSignatureOutOfRange;
  if (result != Result::Success) return Result::CryptoBadSignatureEncoding;
  return Result::Success;
}

// Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 2.2.3) in strict DER.
template <size_t N>
Result ParseSignature(Input der_signature, Input& r, Input& s) {
  der::Reader reader(der_signature);
  der::Reader sequence;
  if (reader.ReadNested(der::kSequence, sequence) != Result::Success) {
    return Result::CryptoBadSignatureEncoding;
  }
  if (reader.ExpectEnd() != Result::Success) return Result::CryptoBadSignatureEncoding;
  HVSIG_TRY(ReadSignatureInteger<N>(sequence, r));
  HVSIG_TRY(ReadSignatureInteger<N>(sequence, s));
  if (sequence.ExpectEnd() != Result::Success) return Result::CryptoBadSignatureEncoding;
  return Result::Success;
}

// A signature scalar must lie in [1, n-1].
template <size_t N>
Result ScalarInRange(Input magnitude, const Modulus<N>& n, Num<N>& scalar) {
  scalar = ec::NumFromBytes<N>(magnitude.data(), magnitude.size());
  if (ec::IsZero(scalar)) return Result::CryptoSignatureOutOfRange;
  if (!ec::Less(scalar, n.m)) return Result::CryptoSignatureOutOfRange;
  return Result::Success;
}

// The leftmost bitlen(n) bits of the digest as an integer, reduced mod n (FIPS 186-5 6.4.2
// steps 2-3). bitlen(n) is 64N and a shorter digest is taken whole.
template <size_t N>
Num<N> DigestToScalar(Input digest, const Modulus<N>& n) {
  size_t length = digest.size() < 8 * N ? digest.size() : 8 * N;
  Num<N> e = ec::NumFromBytes<N>(digest.data(), length);
  // e < 2^bitlen(n) < 2n, so one subtraction reduces it.
  Num<N> reduced{};
  if (ec::Sub(reduced, e, n.m) == 0) e = reduced;
  return e;
}

// Whether the affine x of a projective point, reduced mod n, equals r. Comparing X with r*Z
// avoids inverting Z. x lies in [0, p) and n < p, so x mod n == r means x == r or x == r + n,
// the latter possible only when r + n < p.
template <size_t N>
bool XModNEquals(const Point<N>& point, const Num<N>& r, const Curve<N>& curve) {
  const Modulus<N>& p = curve.p;
  if (ec::Equal(point.x, ec::MontMul(ec::ToMontgomery(r, p), point.z, p))) return true;
  Num<N> r_plus_n{};
  if (ec::Add(r_plus_n, r, curve.n.m) != 0) return false;
  if (!ec::Less(r_plus_n, p.m)) return false;
  return ec::Equal(point.x, ec::MontMul(ec::ToMontgomery(r_plus_n, p), point.z, p));
}

template <size_t N>
Result VerifyOnCurve(const Curve<N>& curve, Input encoded_key, Input digest, Input der_signature) {
  Point<N> q;
  HVSIG_TRY(DecodePublicKey(curve, encoded_key, q));
  // The caller's digest algorithm is not passed in; an empty or oversized digest is misuse.
  if (digest.empty() || digest.size() > kMaxDigestLength) return Result::CryptoBadDigestLength;
  Input r_magnitude;
  Input s_magnitude;
  HVSIG_TRY(ParseSignature<N>(der_signature, r_magnitude, s_magnitude));
  Num<N> r;
  HVSIG_TRY(ScalarInRange(r_magnitude, curve.n, r));
  Num<N> s;
  HVSIG_TRY(ScalarInRange(s_magnitude, curve.n, s));

  const Modulus<N>& n = curve.n;
  // s^-1 in Montgomery form; multiplying a plain value by it yields a plain product.
  Num<N> s_inverse = ec::MontInvert(ec::ToMontgomery(s, n), n);
  Num<N> u1 = ec::MontMul(DigestToScalar(digest, n), s_inverse, n);
  Num<N> u2 = ec::MontMul(r, s_inverse, n);
  Point<N> sum = ec::DoubleScalarMultiply(curve, u1, u2, q);
  if (ec::IsZero(sum.z)) return Result::CryptoBadSignature;  // the point at infinity has no x
  if (!XModNEquals(sum, r, curve)) return Result::CryptoBadSignature;
  return Result::Success;
}

}  // namespace

Result VerifyEcdsa(const CryptoProvider&, const EcPublicKey& key, Input digest,
                   Input der_signature) {
  switch (key.curve) {
    case EcCurve::P256: return VerifyOnCurve(kP256, key.point, digest, der_signature);
    case EcCurve::P384: return VerifyOnCurve(kP384, key.point, digest, der_signature);
  }
  return Result::CryptoUnsupportedAlgorithm;
}

Result CheckEcKey(const CryptoProvider&, const EcPublicKey& key) {
  switch (key.curve) {
    case EcCurve::P256: return CheckPublicKey(kP256, key.point);
    case EcCurve::P384: return CheckPublicKey(kP384, key.point);
  }
  return Result::CryptoUnsupportedAlgorithm;
}

}  // namespace hvsig::builtin
