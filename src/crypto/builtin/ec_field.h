// Arithmetic modulo the primes of P-256 and P-384: the field primes p and the group orders n.
// One generic Montgomery multiplication over 64-bit limbs serves all four moduli, so there is
// no special-form reduction per prime to get subtly wrong, and verification needs no more speed
// than this gives.
//
// Everything is constexpr so that the curve constants (Montgomery forms, R^2 mod m, the
// generator's multiples) are computed by the compiler from the published parameters: no
// hand-copied tables and no static constructors. unsigned __int128 holds products only; a
// 128-bit division would pull in libgcc.
//
// Code generation (measured with GCC 12 at -O2): the limb loops are fully unrolled
// (`#pragma GCC unroll 8`, N <= 6) so that limbs stay in registers, which makes verification
// about 1.5x faster; ModAdd, ModSub and MontMul are not inlined, which keeps the point formulas
// at a few KiB of code and their stack frames small for a hypervisor, at about 8% of speed.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace hvsig::builtin::ec {

using Limb = uint64_t;
using WideLimb = unsigned __int128;
inline constexpr size_t kLimbBits = 64;

// An unsigned integer of N little-endian limbs.
template <size_t N>
struct Num {
  Limb limb[N];
};

template <size_t N>
constexpr bool IsZero(const Num<N>& a) {
  Limb any = 0;
  for (size_t i = 0; i < N; ++i) any |= a.limb[i];
  return any == 0;
}

template <size_t N>
constexpr bool Equal(const Num<N>& a, const Num<N>& b) {
  Limb difference = 0;
  for (size_t i = 0; i < N; ++i) difference |= a.limb[i] ^ b.limb[i];
  return difference == 0;
}

template <size_t N>
constexpr bool Less(const Num<N>& a, const Num<N>& b) {
  for (size_t i = N; i-- > 0;) {
    if (a.limb[i] != b.limb[i]) return a.limb[i] < b.limb[i];
  }
  return false;
}

// r = a + b (r may alias a or b); returns the carry out of the top limb.
template <size_t N>
constexpr Limb Add(Num<N>& r, const Num<N>& a, const Num<N>& b) {
  Limb carry = 0;
#pragma GCC unroll 8
  for (size_t i = 0; i < N; ++i) {
    WideLimb sum = WideLimb{a.limb[i]} + b.limb[i] + carry;
    r.limb[i] = static_cast<Limb>(sum);
    carry = static_cast<Limb>(sum >> kLimbBits);
  }
  return carry;
}

// r = a - b (r may alias a or b); returns the borrow out of the top limb.
template <size_t N>
constexpr Limb Sub(Num<N>& r, const Num<N>& a, const Num<N>& b) {
  Limb borrow = 0;
#pragma GCC unroll 8
  for (size_t i = 0; i < N; ++i) {
    WideLimb difference = WideLimb{a.limb[i]} - b.limb[i] - borrow;
    r.limb[i] = static_cast<Limb>(difference);
    borrow = static_cast<Limb>(difference >> kLimbBits) & 1;
  }
  return borrow;
}

// Big-endian bytes, at most 8*N of them, as a Num.
template <size_t N>
constexpr Num<N> NumFromBytes(const uint8_t* bytes, size_t length) {
  Num<N> result{};
  for (size_t i = 0; i < length; ++i) {
    size_t bit = 8 * (length - 1 - i);
    result.limb[bit / kLimbBits] |= Limb{bytes[i]} << (bit % kLimbBits);
  }
  return result;
}

// Exactly 16*N big-endian hex digits (lower case), as the standards print the parameters.
template <size_t N>
constexpr Num<N> NumFromHex(const char (&hex)[16 * N + 1]) {
  Num<N> result{};
  for (size_t i = 0; i < 16 * N; ++i) {
    char c = hex[i];
    Limb nibble = c <= '9' ? static_cast<Limb>(c - '0') : static_cast<Limb>(c - 'a' + 10);
    size_t bit = 4 * (16 * N - 1 - i);
    result.limb[bit / kLimbBits] |= nibble << (bit % kLimbBits);
  }
  return result;
}

// An odd modulus m with top limb non-zero, prepared for Montgomery arithmetic with
// R = 2^(64N). Residues are kept fully reduced (< m), so equal values have equal limbs.
template <size_t N>
struct Modulus {
  Num<N> m;
  Limb m0_inverse_negated;  // -m^-1 mod 2^64: the Montgomery reduction factor
  Num<N> r_squared;         // R^2 mod m: Montgomery-multiplying by it enters Montgomery form
  Num<N> one;               // R mod m: 1 in Montgomery form
};

// (a + b) mod m for a, b < m.
template <size_t N>
[[gnu::noinline]] constexpr Num<N> ModAdd(const Num<N>& a, const Num<N>& b, const Modulus<N>& mod) {
  Num<N> sum{};
  Num<N> reduced{};
  Limb carry = Add(sum, a, b);
  Limb borrow = Sub(reduced, sum, mod.m);
  // The true sum is >= m when it overflowed the limbs or subtracting m did not borrow.
  return (carry != 0 || borrow == 0) ? reduced : sum;
}

// (a - b) mod m for a, b < m.
template <size_t N>
[[gnu::noinline]] constexpr Num<N> ModSub(const Num<N>& a, const Num<N>& b, const Modulus<N>& mod) {
  Num<N> difference{};
  if (Sub(difference, a, b) != 0) Add(difference, difference, mod.m);
  return difference;
}

// a * b * R^-1 mod m for a, b < m (CIOS: interleaved multiplication and reduction).
template <size_t N>
[[gnu::noinline]] constexpr Num<N> MontMul(const Num<N>& a, const Num<N>& b, const Modulus<N>& mod) {
  Limb t[N + 2] = {};
#pragma GCC unroll 8
  for (size_t i = 0; i < N; ++i) {
    Limb carry = 0;
#pragma GCC unroll 8
    for (size_t j = 0; j < N; ++j) {
      WideLimb product = WideLimb{a.limb[i]} * b.limb[j] + t[j] + carry;
      t[j] = static_cast<Limb>(product);
      carry = static_cast<Limb>(product >> kLimbBits);
    }
    WideLimb top = WideLimb{t[N]} + carry;
    t[N] = static_cast<Limb>(top);
    t[N + 1] = static_cast<Limb>(top >> kLimbBits);

    // Adding q*m with this q zeroes the low limb, which is then shifted out (division by 2^64).
    Limb q = t[0] * mod.m0_inverse_negated;
    WideLimb reduction = WideLimb{q} * mod.m.limb[0] + t[0];
    carry = static_cast<Limb>(reduction >> kLimbBits);
#pragma GCC unroll 8
    for (size_t j = 1; j < N; ++j) {
      reduction = WideLimb{q} * mod.m.limb[j] + t[j] + carry;
      t[j - 1] = static_cast<Limb>(reduction);
      carry = static_cast<Limb>(reduction >> kLimbBits);
    }
    top = WideLimb{t[N]} + carry;
    t[N - 1] = static_cast<Limb>(top);
    t[N] = t[N + 1] + static_cast<Limb>(top >> kLimbBits);
  }
  // Here t < 2m, so one conditional subtraction reduces it fully.
  Num<N> result{};
#pragma GCC unroll 8
  for (size_t i = 0; i < N; ++i) result.limb[i] = t[i];
  Num<N> reduced{};
  Limb borrow = Sub(reduced, result, mod.m);
  return (t[N] != 0 || borrow == 0) ? reduced : result;
}

template <size_t N>
constexpr Num<N> ToMontgomery(const Num<N>& a, const Modulus<N>& mod) {
  return MontMul(a, mod.r_squared, mod);
}

// base^exponent for base in Montgomery form (result in Montgomery form), with a fixed 4-bit
// window: verification has no secrets, so the exponent's bits may steer branches.
template <size_t N>
constexpr Num<N> MontPow(const Num<N>& base, const Num<N>& exponent, const Modulus<N>& mod) {
  constexpr size_t kWindowBits = 4;
  Num<N> powers[1 << kWindowBits] = {};
  powers[0] = mod.one;
  for (size_t i = 1; i < (1 << kWindowBits); ++i) powers[i] = MontMul(powers[i - 1], base, mod);

  Num<N> result = mod.one;
  for (size_t window = N * kLimbBits / kWindowBits; window-- > 0;) {
    for (size_t i = 0; i < kWindowBits; ++i) result = MontMul(result, result, mod);
    size_t bit = window * kWindowBits;
    Limb digit = (exponent.limb[bit / kLimbBits] >> (bit % kLimbBits)) & ((1 << kWindowBits) - 1);
    if (digit != 0) result = MontMul(result, powers[digit], mod);
  }
  return result;
}

// a^-1 for a non-zero a in Montgomery form, by Fermat's little theorem (m is prime): a^(m-2).
template <size_t N>
constexpr Num<N> MontInvert(const Num<N>& a, const Modulus<N>& mod) {
  Num<N> two{};
  two.limb[0] = 2;
  Num<N> exponent{};
  Sub(exponent, mod.m, two);
  return MontPow(a, exponent, mod);
}

template <size_t N>
constexpr Modulus<N> MakeModulus(const Num<N>& m) {
  Modulus<N> mod{};
  mod.m = m;
  // Newton's iteration x <- x(2 - m x) doubles the number of correct low bits of m^-1; x = 1
  // is correct to one bit because m is odd, so six rounds reach 64.
  Limb inverse = 1;
  for (int round = 0; round < 6; ++round) inverse *= 2 - m.limb[0] * inverse;
  mod.m0_inverse_negated = 0 - inverse;
  // R mod m and R^2 mod m by doubling 1 modulo m, 2 * 64N times.
  Num<N> power{};
  power.limb[0] = 1;
  for (size_t doublings = 1; doublings <= 2 * kLimbBits * N; ++doublings) {
    power = ModAdd(power, power, mod);
    if (doublings == kLimbBits * N) mod.one = power;
  }
  mod.r_squared = power;
  return mod;
}

}  // namespace hvsig::builtin::ec
