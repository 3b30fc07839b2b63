// The crypto providers compiled into a program, by name, and the default one chosen when hvsig
// is configured (CMake cache variable HVSIG_CRYPTO=builtin|gcrypt|openssl). Hosted only: the
// tools, the benchmarks and the hypervisor model pick their provider here, and nowhere else.
#pragma once

#include <span>
#include <string_view>

#include "hvsig/crypto.h"

namespace hvsig {

// "builtin" (SHA-NI permitted when the CPU has it), "builtin-scalar" (never touches vector
// registers), "openssl", "gcrypt": null for a name that is not compiled in.
const CryptoProvider* ProviderByName(std::string_view name);

// ProviderByName(DefaultProviderName()).
const CryptoProvider& DefaultProvider();
const char* DefaultProviderName();

// The names ProviderByName accepts, builtin first.
std::span<const char* const> ProviderNames();

}  // namespace hvsig
