// Points of the NIST prime-order curves y^2 = x^3 - 3x + b (P-256, P-384) and the double-scalar
// multiplication u1*G + u2*Q of ECDSA verification.
//
// Points are homogeneous projective (X:Y:Z), x = X/Z, y = Y/Z, coordinates in Montgomery form;
// the point at infinity is (0:1:0). Addition and doubling use the complete formulas of
// Renes-Costello-Batina 2015 (https://eprint.iacr.org/2015/1060, algorithms 4 and 6, a = -3):
// they are correct for every pair of inputs, including P + P, P + (-P) and infinity, so
// crafted signatures that make the sum or an intermediate value hit those cases need no
// special handling.
#pragma once

#include "crypto/builtin/ec_field.h"

namespace hvsig::builtin::ec {

template <size_t N>
struct Point {
  Num<N> x, y, z;
};

// Window widths of the width-w NAF recoding. The generator's odd multiples are computed at
// compile time, so its table can be larger than the public key's, which is built per call.
inline constexpr unsigned kGeneratorWindow = 6;
inline constexpr unsigned kKeyWindow = 5;
inline constexpr size_t kGeneratorTableSize = size_t{1} << (kGeneratorWindow - 2);
inline constexpr size_t kKeyTableSize = size_t{1} << (kKeyWindow - 2);

template <size_t N>
struct Curve {
  Modulus<N> p;  // coordinate field
  Modulus<N> n;  // group order (prime: the cofactor of both curves is 1)
  Num<N> b;      // Montgomery form
  Point<N> generator_odd_multiples[kGeneratorTableSize];  // G, 3G, 5G, ...
};

template <size_t N>
constexpr Point<N> Infinity(const Curve<N>& curve) {
  return Point<N>{Num<N>{}, curve.p.one, Num<N>{}};
}

template <size_t N>
constexpr Point<N> Negate(const Point<N>& point, const Curve<N>& curve) {
  return Point<N>{point.x, ModSub(Num<N>{}, point.y, curve.p), point.z};
}

// y^2 = x^3 - 3x + b for affine coordinates in Montgomery form.
template <size_t N>
constexpr bool IsOnCurve(const Num<N>& x, const Num<N>& y, const Curve<N>& curve) {
  const Modulus<N>& p = curve.p;
  Num<N> right = MontMul(MontMul(x, x, p), x, p);
  right = ModSub(right, x, p);
  right = ModSub(right, x, p);
  right = ModSub(right, x, p);
  right = ModAdd(right, curve.b, p);
  return Equal(MontMul(y, y, p), right);
}

// RCB algorithm 4; the step comments are the paper's numbering.
template <size_t N>
constexpr Point<N> Add(const Point<N>& a, const Point<N>& b, const Curve<N>& curve) {
  const Modulus<N>& p = curve.p;
  auto mul = [&p](const Num<N>& u, const Num<N>& v) { return MontMul(u, v, p); };
  auto add = [&p](const Num<N>& u, const Num<N>& v) { return ModAdd(u, v, p); };
  auto sub = [&p](const Num<N>& u, const Num<N>& v) { return ModSub(u, v, p); };

  Num<N> t0 = mul(a.x, b.x);                       // 1
  Num<N> t1 = mul(a.y, b.y);                       // 2
  Num<N> t2 = mul(a.z, b.z);                       // 3
  Num<N> t3 = mul(add(a.x, a.y), add(b.x, b.y));   // 4-6
  t3 = sub(t3, add(t0, t1));                       // 7-8
  Num<N> t4 = mul(add(a.y, a.z), add(b.y, b.z));   // 9-11
  t4 = sub(t4, add(t1, t2));                       // 12-13
  Num<N> y3 = mul(add(a.x, a.z), add(b.x, b.z));   // 14-16
  y3 = sub(y3, add(t0, t2));                       // 17-18
  Num<N> z3 = mul(curve.b, t2);                    // 19
  Num<N> x3 = sub(y3, z3);                         // 20
  x3 = add(x3, add(x3, x3));                       // 21-22
  z3 = sub(t1, x3);                                // 23
  x3 = add(t1, x3);                                // 24
  y3 = mul(curve.b, y3);                           // 25
  t2 = add(t2, add(t2, t2));                       // 26-27
  y3 = sub(sub(y3, t2), t0);                       // 28-29
  y3 = add(y3, add(y3, y3));                       // 30-31
  t0 = add(t0, add(t0, t0));                       // 32-33
  t0 = sub(t0, t2);                                // 34
  t1 = mul(t4, y3);                                // 35
  t2 = mul(t0, y3);                                // 36
  y3 = add(mul(x3, z3), t2);                       // 37-38
  x3 = sub(mul(t3, x3), t1);                       // 39-40
  z3 = add(mul(t4, z3), mul(t3, t0));              // 41-43
  return Point<N>{x3, y3, z3};
}

// RCB algorithm 6; the step comments are the paper's numbering.
template <size_t N>
constexpr Point<N> Double(const Point<N>& a, const Curve<N>& curve) {
  const Modulus<N>& p = curve.p;
  auto mul = [&p](const Num<N>& u, const Num<N>& v) { return MontMul(u, v, p); };
  auto add = [&p](const Num<N>& u, const Num<N>& v) { return ModAdd(u, v, p); };
  auto sub = [&p](const Num<N>& u, const Num<N>& v) { return ModSub(u, v, p); };

  Num<N> t0 = mul(a.x, a.x);                       // 1
  Num<N> t1 = mul(a.y, a.y);                       // 2
  Num<N> t2 = mul(a.z, a.z);                       // 3
  Num<N> t3 = mul(a.x, a.y);                       // 4
  t3 = add(t3, t3);                                // 5
  Num<N> z3 = mul(a.x, a.z);                       // 6
  z3 = add(z3, z3);                                // 7
  Num<N> y3 = sub(mul(curve.b, t2), z3);           // 8-9
  Num<N> x3 = add(y3, y3);                         // 10
  y3 = add(x3, y3);                                // 11
  x3 = sub(t1, y3);                                // 12
  y3 = mul(x3, add(t1, y3));                       // 13-14
  x3 = mul(x3, t3);                                // 15
  t2 = add(t2, add(t2, t2));                       // 16-17
  z3 = sub(sub(mul(curve.b, z3), t2), t0);         // 18-20
  z3 = add(z3, add(z3, z3));                       // 21-22
  t0 = sub(add(t0, add(t0, t0)), t2);              // 23-25
  y3 = add(y3, mul(t0, z3));                       // 26-27
  t0 = mul(a.y, a.z);                              // 28
  t0 = add(t0, t0);                                // 29
  x3 = sub(x3, mul(t0, z3));                       // 30-31
  z3 = mul(t0, t1);                                // 32
  z3 = add(z3, z3);                                // 33
  z3 = add(z3, z3);                                // 34
  return Point<N>{x3, y3, z3};
}

// point, 3*point, 5*point, ... (count entries).
template <size_t N>
constexpr void OddMultiples(const Point<N>& point, const Curve<N>& curve, Point<N>* multiples,
                            size_t count) {
  Point<N> twice = Double(point, curve);
  multiples[0] = point;
  for (size_t i = 1; i < count; ++i) multiples[i] = Add(multiples[i - 1], twice, curve);
}

// Width-w non-adjacent form, least significant digit first: every digit is zero or odd with
// |digit| < 2^(w-1), and of any w consecutive digits at most one is non-zero, so a b-bit scalar
// costs about b/(w+1) additions.
template <size_t N>
struct Wnaf {
  int8_t digits[N * kLimbBits + 1];
  size_t length;
};

template <size_t N>
constexpr void RecodeWnaf(const Num<N>& scalar, unsigned width, Wnaf<N>& out) {
  // One limb of headroom: adding back a negative digit can carry past the scalar's top bit.
  Num<N + 1> rest{};
  for (size_t i = 0; i < N; ++i) rest.limb[i] = scalar.limb[i];
  const int window = 1 << width;
  out.length = 0;
  while (!IsZero(rest)) {
    int digit = 0;
    if ((rest.limb[0] & 1) != 0) {
      digit = static_cast<int>(rest.limb[0] & static_cast<Limb>(window - 1));
      if (digit >= window / 2) digit -= window;
      // Removing the digit clears the low w bits, which is what makes the next w-1 digits zero.
      Num<N + 1> magnitude{};
      magnitude.limb[0] = static_cast<Limb>(digit > 0 ? digit : -digit);
      if (digit > 0) {
        Sub(rest, rest, magnitude);
      } else {
        Add(rest, rest, magnitude);
      }
    }
    out.digits[out.length++] = static_cast<int8_t>(digit);
    for (size_t i = 0; i < N; ++i) rest.limb[i] = (rest.limb[i] >> 1) | (rest.limb[i + 1] << 63);
    rest.limb[N] >>= 1;
  }
}

// digit * point from a table of odd multiples, for an odd digit of either sign.
template <size_t N>
constexpr Point<N> SelectMultiple(const Point<N>* odd_multiples, int digit, const Curve<N>& curve) {
  const Point<N>& multiple = odd_multiples[(digit > 0 ? digit : -digit) >> 1];
  return digit > 0 ? multiple : Negate(multiple, curve);
}

// u1*G + u2*Q for any u1, u2 (Straus-Shamir: one shared chain of doublings).
template <size_t N>
Point<N> DoubleScalarMultiply(const Curve<N>& curve, const Num<N>& u1, const Num<N>& u2,
                              const Point<N>& q) {
  Point<N> key_odd_multiples[kKeyTableSize];
  OddMultiples(q, curve, key_odd_multiples, kKeyTableSize);
  Wnaf<N> u1_digits;
  RecodeWnaf(u1, kGeneratorWindow, u1_digits);
  Wnaf<N> u2_digits;
  RecodeWnaf(u2, kKeyWindow, u2_digits);

  Point<N> sum = Infinity(curve);
  size_t length = u1_digits.length > u2_digits.length ? u1_digits.length : u2_digits.length;
  for (size_t i = length; i-- > 0;) {
    sum = Double(sum, curve);
    if (i < u1_digits.length && u1_digits.digits[i] != 0) {
      sum = Add(sum, SelectMultiple(curve.generator_odd_multiples, u1_digits.digits[i], curve), curve);
    }
    if (i < u2_digits.length && u2_digits.digits[i] != 0) {
      sum = Add(sum, SelectMultiple(key_odd_multiples, u2_digits.digits[i], curve), curve);
    }
  }
  return sum;
}

// Builds a curve from its published parameters (big-endian hex, as in FIPS 186 / SEC 2).
template <size_t N>
constexpr Curve<N> MakeCurve(const char (&p)[16 * N + 1], const char (&n)[16 * N + 1],
                             const char (&b)[16 * N + 1], const char (&gx)[16 * N + 1],
                             const char (&gy)[16 * N + 1]) {
  Curve<N> curve{};
  curve.p = MakeModulus(NumFromHex<N>(p));
  curve.n = MakeModulus(NumFromHex<N>(n));
  curve.b = ToMontgomery(NumFromHex<N>(b), curve.p);
  Point<N> generator{ToMontgomery(NumFromHex<N>(gx), curve.p),
                     ToMontgomery(NumFromHex<N>(gy), curve.p), curve.p.one};
  OddMultiples(generator, curve, curve.generator_odd_multiples, kGeneratorTableSize);
  return curve;
}

}  // namespace hvsig::builtin::ec
