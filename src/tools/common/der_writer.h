// DER encoding for hosted code that builds structures: `hvsig sign pe` (SignedData,
// SpcIndirectDataContent) and the tests' crafted inputs. The core only parses DER.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace hvsig::tools {

// The parts, one after another.
inline std::vector<uint8_t> Concat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const std::vector<uint8_t>& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

// One element, definite length in the minimal form.
inline std::vector<uint8_t> Tlv(uint8_t tag, const std::vector<uint8_t>& contents) {
  std::vector<uint8_t> out{tag};
  const size_t length = contents.size();
  if (length < 0x80) {
    out.push_back(static_cast<uint8_t>(length));
  } else {
    std::vector<uint8_t> octets;
    for (size_t l = length; l != 0; l >>= 8) octets.insert(octets.begin(), static_cast<uint8_t>(l));
    out.push_back(static_cast<uint8_t>(0x80 | octets.size()));
    out.insert(out.end(), octets.begin(), octets.end());
  }
  out.insert(out.end(), contents.begin(), contents.end());
  return out;
}

}  // namespace hvsig::tools
