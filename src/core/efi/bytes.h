// Field access shared by the EFI parsers (callers bounds-check first).
#pragma once

#include <stdint.h>

#include "core/little_endian.h"
#include "hvsig/efi.h"

namespace hvsig::efi {

using ::hvsig::Le16;
using ::hvsig::Le32;
using ::hvsig::Le64;

// The 16 bytes of an EFI_TIME.
EfiTime DecodeEfiTime(const uint8_t* p);

}  // namespace hvsig::efi
