// The CPU features the builtin provider's fast paths need, from CPUID, probed once per process
// (or hypervisor) and cached. Which of them may be used is still the caller's decision: the
// vector ones (SHA-NI, AVX2) only with the embedder's VectorUnitHooks permission; MULX and ADX
// work on general-purpose registers and flags, so the bignum code uses them whenever present.
#pragma once

#include <stdint.h>

namespace hvsig::builtin {

enum CpuFeature : uint8_t {
  kCpuShaNi = 1 << 1,     // SHA, SSSE3 and SSE4.1: sha256_shani.cpp
  kCpuAvx2Bmi2 = 1 << 2,  // AVX2, BMI1 and BMI2, with the OS saving YMM state: sha512_simd.cpp
  kCpuMulxAdx = 1 << 3,   // BMI2 (mulx) and ADX (adcx, adox): bignum.cpp
};

bool CpuHas(CpuFeature feature);

}  // namespace hvsig::builtin
