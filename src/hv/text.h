// printf-style formatting and hex for the models' console lines (the kexec and livepatch
// models log the same way).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace hvsig::hv {

// vsnprintf into a string; lines longer than 511 bytes are cut.
std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Lowercase hex of length bytes.
std::string Hex(const uint8_t* bytes, size_t length);

}  // namespace hvsig::hv
