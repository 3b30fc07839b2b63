#include "crypto/builtin/cpu_features.h"

namespace hvsig::builtin {
namespace {

#if defined(__x86_64__)
// Bit 0 says the other bits are valid. Zero-initialized, so no constructor runs; threads racing
// to probe store the same answer.
constexpr uint8_t kProbed = 1 << 0;
constinit uint8_t g_features = 0;

struct CpuidResult {
  uint32_t eax, ebx, ecx, edx;
};

CpuidResult Cpuid(uint32_t leaf) {
  CpuidResult r;
  asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(0));
  return r;
}

bool HasAll(uint32_t bits, uint32_t wanted) { return (bits & wanted) == wanted; }

// AVX needs the OS to save the YMM registers on context switch: CPUID reports AVX and OSXSAVE
// (without which xgetbv faults), and XCR0 enables the SSE and AVX state components.
bool OsSavesYmm(uint32_t cpuid1_ecx) {
  if (!HasAll(cpuid1_ecx, (1u << 28) | (1u << 27))) return false;
  uint32_t xcr0_low, xcr0_high;
  asm volatile("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
  return HasAll(xcr0_low, 6);
}

uint8_t Probe() {
  uint8_t features = kProbed;
  if (Cpuid(0).eax < 7) return features;  // leaf 7 (structured extended features) does not exist
  const uint32_t leaf1_ecx = Cpuid(1).ecx;
  const uint32_t leaf7_ebx = Cpuid(7).ebx;
  constexpr uint32_t kSsse3 = 1u << 9, kSse41 = 1u << 19;                      // leaf 1 ecx
  constexpr uint32_t kBmi1 = 1u << 3, kAvx2 = 1u << 5, kBmi2 = 1u << 8;        // leaf 7 ebx
  constexpr uint32_t kAdx = 1u << 19, kSha = 1u << 29;                         // leaf 7 ebx
  if (HasAll(leaf1_ecx, kSsse3 | kSse41) && HasAll(leaf7_ebx, kSha)) features |= kCpuShaNi;
  if (OsSavesYmm(leaf1_ecx) && HasAll(leaf7_ebx, kAvx2 | kBmi1 | kBmi2)) features |= kCpuAvx2Bmi2;
  if (HasAll(leaf7_ebx, kBmi2 | kAdx)) features |= kCpuMulxAdx;
  return features;
}
#endif

}  // namespace

bool CpuHas(CpuFeature feature) {
#if defined(__x86_64__)
  uint8_t features = __atomic_load_n(&g_features, __ATOMIC_RELAXED);
  if (features == 0) {
    features = Probe();
    __atomic_store_n(&g_features, features, __ATOMIC_RELAXED);
  }
  return (features & feature) != 0;
#else
  static_cast<void>(feature);
  return false;
#endif
}

}  // namespace hvsig::builtin
