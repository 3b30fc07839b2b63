// A CryptoProvider backed by libgcrypt (the RFC's option 2; hosted only). It applies the builtin
// provider's acceptance policy (key sizes, exponent, strict DER ECDSA signatures, exact PSS salt
// length, full public-key validation) before libgcrypt does the arithmetic, and reports failures
// with the same Result names, so it is interchangeable with the other providers.
//
// One limit comes from libgcrypt: its PSS uses the message hash for MGF1, so a PSS signature
// whose MGF1 hash differs from its message hash is CryptoUnsupportedAlgorithm here.
#pragma once

#include "hvsig/crypto.h"

namespace hvsig {

// Initializes libgcrypt on first use (version check, no secure memory, initialization
// finished) unless the process already has. Constant for the process lifetime; safe to use
// from several threads.
const CryptoProvider& GcryptProvider();

}  // namespace hvsig
