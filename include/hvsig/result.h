// One error enum for the whole core, in the style of mozilla::pkix's Result: every rejection
// has its own name so a log line says which check failed.
#pragma once

#include <stdint.h>

namespace hvsig {

enum class Result : uint16_t {
#define HVSIG_RESULT(name) name,
#include "hvsig/result_codes.inc"
#undef HVSIG_RESULT
};

// Stable, greppable name of a result ("DerNonMinimalLength", ...). Never null.
const char* ResultName(Result r);

constexpr bool IsSuccess(Result r) { return r == Result::Success; }

// Where a check failed: the Result names the check, offset locates it, counted from the first
// byte of the input the failing parser was given (the image file, the DER blob, ...).
struct Error {
  Result result = Result::Success;
  uint64_t offset = 0;
};

}  // namespace hvsig

// Propagates a failure to the caller: one visible line per check.
#define HVSIG_TRY(expr)                                   \
  do {                                                    \
    ::hvsig::Result hvsig_try_result_ = (expr);           \
    if (hvsig_try_result_ != ::hvsig::Result::Success) {  \
      return hvsig_try_result_;                           \
    }                                                     \
  } while (0)
