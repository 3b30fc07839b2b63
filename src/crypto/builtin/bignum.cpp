#include "crypto/builtin/bignum.h"

#include <string.h>

#include "crypto/builtin/cpu_features.h"

namespace hvsig::builtin {
namespace {

using Wide = unsigned __int128;

// -1 if a < b, 0 if equal, 1 if a > b.
int Compare(const uint64_t* a, const uint64_t* b, size_t limb_count) {
  for (size_t i = limb_count; i-- > 0;) {
    if (a[i] != b[i]) {
      return a[i] < b[i] ? -1 : 1;
    }
  }
  return 0;
}

// out = a - b mod 2^(64 * limb_count); out may alias a.
void Subtract(uint64_t* out, const uint64_t* a, const uint64_t* b, size_t limb_count) {
  uint64_t borrow = 0;
  for (size_t i = 0; i < limb_count; ++i) {
    uint64_t difference = a[i] - b[i];
    uint64_t next_borrow = (a[i] < b[i]) | (difference < borrow);
    out[i] = difference - borrow;
    borrow = next_borrow;
  }
}

// Newton's iteration for the inverse of an odd x modulo 2^64: x * x == 1 mod 8 gives 3 correct
// bits, and each step doubles them (3, 6, 12, 24, 48, 96).
uint64_t NegatedInverseModWord(uint64_t x) {
  uint64_t inverse = x;
  for (int i = 0; i < 5; ++i) {
    inverse *= 2 - x * inverse;
  }
  return 0 - inverse;
}

// The steps both Montgomery multiplications share around their rows, on the accumulator t of
// k + 2 limbs. Inlined, so each multiplication keeps its own code generation.

// After t[0..k) += a * b[i] left carry: fold it into the top limbs t[k], t[k + 1].
[[gnu::always_inline]] inline void AddProductCarry(uint64_t* t, size_t k, uint64_t carry) {
  const uint64_t product_top = t[k] + carry;
  t[k + 1] = product_top < carry;
  t[k] = product_top;
}

// After the reduction row wrote (t + m * n) / 2^64 into t[0..k - 1) and left carry: the new
// t[k - 1] and t[k], completing the shift down by one limb.
[[gnu::always_inline]] inline void AddReductionCarry(uint64_t* t, size_t k, uint64_t carry) {
  const uint64_t reduced_top = t[k] + carry;
  t[k - 1] = reduced_top;
  t[k] = t[k + 1] + (reduced_top < carry);
}

// t < 2n after the last row, so one conditional subtraction reduces it; then out = t.
[[gnu::always_inline]] inline void ReduceOnceInto(const uint64_t* n, uint64_t* t, size_t k,
                                                  BigNum& out) {
  if (t[k] != 0 || Compare(t, n, k) >= 0) {
    Subtract(t, t, n, k);
  }
  memcpy(out.limbs, t, k * sizeof(t[0]));
}

// out = a * b / R mod n for a, b < n (CIOS, Koc et al. 1996). out may alias a or b: the product
// is accumulated in t and copied out at the end. (Fusing the multiply and reduce loops into
// one was measured slower with GCC: the two 128-bit carry chains spill; so was moving the
// loops into a row function shared with the MULX/ADX path.) The top limbs are added in 64
// bits because GCC builds 128-bit sums outside the loops in stack slots.
void MontgomeryMultiplyPortable(const MontgomeryModulus& modulus, BigNum& out, const BigNum& a,
                                const BigNum& b) {
  const size_t k = modulus.limb_count;
  const uint64_t* n = modulus.n.limbs;
  uint64_t t[kMaxBigNumLimbs + 2];
  memset(t, 0, (k + 2) * sizeof(t[0]));
  for (size_t i = 0; i < k; ++i) {
    uint64_t carry = 0;
    const uint64_t b_i = b.limbs[i];
    for (size_t j = 0; j < k; ++j) {
      Wide sum = Wide(a.limbs[j]) * b_i + t[j] + carry;
      t[j] = uint64_t(sum);
      carry = uint64_t(sum >> 64);
    }
    AddProductCarry(t, k, carry);

    // m makes t + m * n divisible by 2^64; the shift down by one limb is folded into the loop.
    const uint64_t m = t[0] * modulus.n0_inverse;
    Wide sum = Wide(m) * n[0] + t[0];
    carry = uint64_t(sum >> 64);
    for (size_t j = 1; j < k; ++j) {
      sum = Wide(m) * n[j] + t[j] + carry;
      t[j - 1] = uint64_t(sum);
      carry = uint64_t(sum >> 64);
    }
    AddReductionCarry(t, k, carry);
  }
  ReduceOnceInto(n, t, k, out);
}

#if defined(__x86_64__)
// out[0..k) = the low k limbs of t[0..k) + a[0..k) * b for k >= 1, returning the carry out of
// limb k - 1 (one word, since t + a * b < 2^(64k) * 2^64). out may be t, or t - 1 (each limb of
// t is read before the limb below it is written), which shifts the sum down a limb.
// mulx leaves the flags alone, so the low halves go through one carry chain (adcx: CF) and the
// previous high halves through another (adox: OF), and neither waits for the other. Four limbs
// per iteration, then one at a time; the counter moves with lea and is tested with jrcxz, which
// keep both flags.
uint64_t MultiplyAccumulateRow(uint64_t* out, const uint64_t* t, const uint64_t* a, uint64_t b,
                               size_t k) {
  uint64_t quads = k / 4;
  uint64_t singles = k % 4;
  uint64_t high = 0;  // the previous limb's high half, not yet added
  uint64_t low, next_high;
  asm("xorl %%r11d, %%r11d\n\t"  // zero for the final additions; clears CF and OF
      "jrcxz 2f\n"
      "1:\n\t"
      "mulxq (%[a]), %[low], %[next_high]\n\t"
      "adcxq (%[t]), %[low]\n\t"
      "adoxq %[high], %[low]\n\t"
      "movq %[low], (%[out])\n\t"
      "mulxq 8(%[a]), %[low], %[high]\n\t"
      "adcxq 8(%[t]), %[low]\n\t"
      "adoxq %[next_high], %[low]\n\t"
      "movq %[low], 8(%[out])\n\t"
      "mulxq 16(%[a]), %[low], %[next_high]\n\t"
      "adcxq 16(%[t]), %[low]\n\t"
      "adoxq %[high], %[low]\n\t"
      "movq %[low], 16(%[out])\n\t"
      "mulxq 24(%[a]), %[low], %[high]\n\t"
      "adcxq 24(%[t]), %[low]\n\t"
      "adoxq %[next_high], %[low]\n\t"
      "movq %[low], 24(%[out])\n\t"
      "leaq 32(%[a]), %[a]\n\t"
      "leaq 32(%[t]), %[t]\n\t"
      "leaq 32(%[out]), %[out]\n\t"
      "leaq -1(%%rcx), %%rcx\n\t"
      "jrcxz 2f\n\t"
      "jmp 1b\n"
      "2:\n\t"
      "movq %[singles], %%rcx\n\t"
      "jrcxz 4f\n"
      "3:\n\t"
      "mulxq (%[a]), %[low], %[next_high]\n\t"
      "adcxq (%[t]), %[low]\n\t"
      "adoxq %[high], %[low]\n\t"
      "movq %[low], (%[out])\n\t"
      "movq %[next_high], %[high]\n\t"
      "leaq 8(%[a]), %[a]\n\t"
      "leaq 8(%[t]), %[t]\n\t"
      "leaq 8(%[out]), %[out]\n\t"
      "leaq -1(%%rcx), %%rcx\n\t"
      "jrcxz 4f\n\t"
      "jmp 3b\n"
      "4:\n\t"
      "adcxq %%r11, %[high]\n\t"
      "adoxq %%r11, %[high]"
      // singles is in/out only so that it gets a register of its own: as a plain input holding
      // the same value as another operand, the compiler may share that operand's register.
      : [a] "+r"(a), [t] "+r"(t), [out] "+r"(out), "+c"(quads), [singles] "+r"(singles),
        [high] "+r"(high), [low] "=&r"(low), [next_high] "=&r"(next_high)
      : "d"(b)
      : "r11", "cc", "memory");
  return high;
}

// The CIOS steps of MontgomeryMultiplyPortable, each row one MultiplyAccumulateRow: t += a *
// b[i], then t = (t + m * n) / 2^64, the division by writing each limb one place lower (into
// scratch[0] for the limb that is zero and dropped). out may alias a or b, as there.
void MontgomeryMultiplyMulxAdx(const MontgomeryModulus& modulus, BigNum& out, const BigNum& a,
                               const BigNum& b) {
  const size_t k = modulus.limb_count;
  const uint64_t* n = modulus.n.limbs;
  uint64_t scratch[kMaxBigNumLimbs + 3];
  uint64_t* t = scratch + 1;
  memset(scratch, 0, (k + 3) * sizeof(scratch[0]));
  for (size_t i = 0; i < k; ++i) {
    AddProductCarry(t, k, MultiplyAccumulateRow(t, t, a.limbs, b.limbs[i], k));
    const uint64_t m = t[0] * modulus.n0_inverse;
    AddReductionCarry(t, k, MultiplyAccumulateRow(t - 1, t, n, m, k));
  }
  ReduceOnceInto(n, t, k, out);
}
#endif

void MontgomeryMultiply(const MontgomeryModulus& modulus, BigNum& out, const BigNum& a,
                        const BigNum& b) {
#if defined(__x86_64__)
  if (modulus.use_mulx_adx) {
    MontgomeryMultiplyMulxAdx(modulus, out, a, b);
    return;
  }
#endif
  MontgomeryMultiplyPortable(modulus, out, a, b);
}

// out = R^2 mod n, needed to bring a value into Montgomery form. Doubling 2^(bits-1) (which is
// below n because n is odd) up to 2^(64k + k) gives R * 2^k, the Montgomery form of 2^k; six
// Montgomery squarings then give the form of 2^(64k), which is R^2 mod n.
void ComputeRSquared(const MontgomeryModulus& modulus, BigNum& out) {
  const size_t k = modulus.limb_count;
  const size_t top_bit = modulus.bit_length - 1;
  memset(out.limbs, 0, k * sizeof(out.limbs[0]));
  out.limbs[top_bit / 64] = uint64_t(1) << (top_bit % 64);
  for (size_t power = top_bit; power < 64 * k + k; ++power) {
    const uint64_t carry = out.limbs[k - 1] >> 63;
    for (size_t i = k - 1; i > 0; --i) {
      out.limbs[i] = (out.limbs[i] << 1) | (out.limbs[i - 1] >> 63);
    }
    out.limbs[0] <<= 1;
    // 2 * value < 2n: one subtraction (wrapping through the lost carry) reduces it.
    if (carry != 0 || Compare(out.limbs, modulus.n.limbs, k) >= 0) {
      Subtract(out.limbs, out.limbs, modulus.n.limbs, k);
    }
  }
  static_assert(64 == 1 << 6, "six squarings turn 2^k into 2^(64k)");
  for (int i = 0; i < 6; ++i) {
    MontgomeryMultiply(modulus, out, out, out);
  }
}

}  // namespace

size_t BitLength(Input magnitude) {
  size_t top_byte_bits = 0;
  for (uint8_t top = magnitude[0]; top != 0; top >>= 1) {
    ++top_byte_bits;
  }
  return 8 * (magnitude.size() - 1) + top_byte_bits;
}

void LoadBigNum(Input big_endian, size_t limb_count, BigNum& out) {
  memset(out.limbs, 0, limb_count * sizeof(out.limbs[0]));
  const size_t length = big_endian.size();
  for (size_t i = 0; i < length; ++i) {
    const size_t bit_position = 8 * (length - 1 - i);
    out.limbs[bit_position / 64] |= uint64_t(big_endian[i]) << (bit_position % 64);
  }
}

uint8_t* StoreBigNumInPlace(BigNum& value, size_t length) {
  uint8_t* octets = reinterpret_cast<uint8_t*>(value.limbs);
  // Each limb's octets in little-endian order first (already so on x86; spelled out for
  // big-endian hosts), which makes the storage the little-endian encoding; reversing its low
  // length octets then gives the big-endian one.
  for (size_t i = 0; i < (length + 7) / 8; ++i) {
    const uint64_t limb = value.limbs[i];
    for (size_t j = 0; j < 8; ++j) {
      octets[8 * i + j] = uint8_t(limb >> (8 * j));
    }
  }
  for (size_t low = 0, high = length - 1; low < high; ++low, --high) {
    const uint8_t octet = octets[low];
    octets[low] = octets[high];
    octets[high] = octet;
  }
  return octets;
}

void InitMontgomeryModulus(MontgomeryModulus& modulus, Input magnitude) {
  modulus.limb_count = (magnitude.size() + 7) / 8;
  LoadBigNum(magnitude, modulus.limb_count, modulus.n);
  modulus.bit_length = BitLength(magnitude);
  modulus.n0_inverse = NegatedInverseModWord(modulus.n.limbs[0]);
  modulus.use_mulx_adx = CpuHas(kCpuMulxAdx);
}

bool IsLessThanModulus(const MontgomeryModulus& modulus, const BigNum& value) {
  return Compare(value.limbs, modulus.n.limbs, modulus.limb_count) < 0;
}

void ModularExponentiate(const MontgomeryModulus& modulus, BigNum& value, Input exponent) {
  // The only number of this frame: R^2 mod n, then the running power. value turns into the
  // base in Montgomery form (value * R mod n) and finally into the result, so the caller's
  // storage doubles as the base's.
  BigNum accumulator;
  ComputeRSquared(modulus, accumulator);
  MontgomeryMultiply(modulus, value, value, accumulator);

  // Left to right over the exponent's bits; the leading 1 bit is the initial accumulator.
  memcpy(accumulator.limbs, value.limbs, modulus.limb_count * sizeof(value.limbs[0]));
  for (size_t bit = BitLength(exponent) - 1; bit-- > 0;) {
    MontgomeryMultiply(modulus, accumulator, accumulator, accumulator);
    if ((exponent[exponent.size() - 1 - bit / 8] >> (bit % 8)) & 1) {
      MontgomeryMultiply(modulus, accumulator, accumulator, value);
    }
  }

  // Multiplying by 1 divides by R, leaving Montgomery form.
  memset(value.limbs, 0, modulus.limb_count * sizeof(value.limbs[0]));
  value.limbs[0] = 1;
  MontgomeryMultiply(modulus, value, accumulator, value);
}

}  // namespace hvsig::builtin
