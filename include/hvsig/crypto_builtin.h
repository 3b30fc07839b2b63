// The in-tree, verify-only provider (the RFC's option 1 without importing Linux's crypto):
// freestanding, no heap, no secrets (so no constant-time burden).
#pragma once

#include "hvsig/crypto.h"

namespace hvsig {

// Scalar-only provider: never touches vector registers. Constant-initialized.
const CryptoProvider& BuiltinProvider();

// Provider that may use SIMD (SHA-NI for SHA-224/256, AVX2 and BMI2 for SHA-384/512) when CPUID
// reports it and hooks->begin() permits it at the time of use. The hooks object must outlive the
// provider. In the freestanding build the SIMD paths are not compiled in and this behaves like
// BuiltinProvider().
CryptoProvider MakeBuiltinProvider(const VectorUnitHooks* hooks);

// Hooks for a hosted process, where the vector unit is always usable.
const VectorUnitHooks* HostedVectorUnitHooks();

// Whether the SIMD SHA-256 (SHA-384/512) path is compiled in and the CPU supports it (used by
// tests and benchmarks to report which path they measure).
bool BuiltinSha256HasSimd();
bool BuiltinSha512HasSimd();

}  // namespace hvsig
