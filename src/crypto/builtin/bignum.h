// Fixed-size unsigned big integers for RSA public-key operations: 64-bit little-endian limbs,
// Montgomery multiplication, no heap. Only what verification needs: no secrets are handled, so
// nothing here is constant-time.
//
// Montgomery multiplication (CIOS) has two implementations, chosen once per modulus: with MULX
// and ADX (x86-64 CPUs since 2014, probed with CPUID; general-purpose registers only, so also
// inside a hypervisor), each row is a multiply-accumulate in inline assembly with two
// independent carry chains; otherwise portable C++ with unsigned __int128.
//
// Stack budget (8192-bit numbers are 1 KiB each): the caller keeps a MontgomeryModulus and the
// base, ModularExponentiate one more number (the base turns into the result in place), and
// MontgomeryMultiply one accumulator of k + 2 or k + 3 limbs, so an exponentiation needs about
// 2.4 KiB of stack on top of the caller's 2 KiB, and no frame comes near the freestanding
// 4 KiB limit.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hvsig/input.h"

namespace hvsig::builtin {

constexpr size_t kMaxBigNumBits = 8192;
constexpr size_t kMaxBigNumLimbs = kMaxBigNumBits / 64;
constexpr size_t kMaxBigNumBytes = kMaxBigNumBits / 8;

struct BigNum {
  uint64_t limbs[kMaxBigNumLimbs];  // least significant limb first
};

// An odd modulus n and -n^-1 mod 2^64; R = 2^(64 * limb_count).
struct MontgomeryModulus {
  BigNum n;
  size_t limb_count;
  size_t bit_length;
  uint64_t n0_inverse;
  bool use_mulx_adx;  // set from CPUID by InitMontgomeryModulus; tests clear it to compare
};

// Bit length of a big-endian magnitude with no leading zero octet and at least one octet.
size_t BitLength(Input magnitude);

// magnitude: big-endian, no leading zero octet, odd, at most kMaxBigNumBytes long.
void InitMontgomeryModulus(MontgomeryModulus& modulus, Input magnitude);

// Reads a big-endian value of at most limb_count * 8 octets into limb_count limbs.
void LoadBigNum(Input big_endian, size_t limb_count, BigNum& out);

// Rewrites value's storage as the big-endian encoding of its low length octets (1 to
// limb_count * 8) and returns it, so that no second buffer is needed; value's limbs are
// meaningless afterwards.
uint8_t* StoreBigNumInPlace(BigNum& value, size_t length);

bool IsLessThanModulus(const MontgomeryModulus& modulus, const BigNum& value);

// value = value^exponent mod n, value doubling as the base's storage. Requires value < n and
// exponent (big-endian, no leading zero octet) >= 1. Time is linear in the exponent's bit
// length: 17 multiplications for 65537.
void ModularExponentiate(const MontgomeryModulus& modulus, BigNum& value, Input exponent);

}  // namespace hvsig::builtin
