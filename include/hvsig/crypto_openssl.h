// A CryptoProvider backed by OpenSSL's libcrypto 3 (hosted only). It is the test oracle for the
// builtin provider and an option for the tools. It applies the same acceptance policy as the
// builtin provider (key sizes, exponent, strict DER ECDSA signatures, exact PSS salt length) and
// reports failures with the same Result names, so the two providers are interchangeable.
#pragma once

#include "hvsig/crypto.h"

namespace hvsig {

// Constant for the process lifetime; safe to use from several threads.
const CryptoProvider& OpenSslProvider();

}  // namespace hvsig
