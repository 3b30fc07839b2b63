// The PE field locator shared by the PE/Authenticode tests: written independently of the core
// so that tests can name the offsets the core must report.
#pragma once

#include "test_support.h"

namespace hvsig::test {

// Where the fields the checks look at sit in a (well-formed) PE file, per the PE/COFF spec.
struct PeFields {
  uint64_t e_lfanew_at = 0x3c;
  uint32_t e_lfanew = 0;
  uint64_t section_count_at = 0;    // COFF NumberOfSections
  uint64_t optional_size_at = 0;    // COFF SizeOfOptionalHeader
  uint64_t optional = 0;            // optional header (its Magic)
  bool pe32_plus = false;
  uint64_t size_of_headers_at = 0;
  uint64_t checksum_at = 0;
  uint64_t rva_count_at = 0;        // NumberOfRvaAndSizes
  uint64_t security_dir_at = 0;     // data directory 4: {file offset, size}
  uint64_t section_table = 0;
  uint16_t section_count = 0;
  uint32_t cert_table_offset = 0;
  uint32_t cert_table_size = 0;

  uint64_t section_header(uint16_t i) const { return section_table + uint64_t{i} * 40; }
  uint64_t cert_table_end() const { return uint64_t{cert_table_offset} + cert_table_size; }
};

inline PeFields LocateFields(const Bytes& b) {
  PeFields f;
  f.e_lfanew = GetLe32(b, f.e_lfanew_at);
  const uint64_t coff = uint64_t{f.e_lfanew} + 4;
  f.section_count_at = coff + 2;
  f.optional_size_at = coff + 16;
  f.section_count = GetLe16(b, f.section_count_at);
  f.optional = coff + 20;
  f.pe32_plus = GetLe16(b, f.optional) == 0x20b;
  f.size_of_headers_at = f.optional + 60;
  f.checksum_at = f.optional + 64;
  f.rva_count_at = f.optional + (f.pe32_plus ? 108 : 92);
  f.security_dir_at = f.rva_count_at + 4 + 4 * 8;
  f.section_table = f.optional + GetLe16(b, f.optional_size_at);
  f.cert_table_offset = GetLe32(b, f.security_dir_at);
  f.cert_table_size = GetLe32(b, f.security_dir_at + 4);
  return f;
}

// Length of the DER element (definite length) starting at `at`.
inline uint64_t DerElementLength(const Bytes& b, uint64_t at) {
  const uint8_t first = b.at(at + 1);
  if (first < 0x80) return 2 + first;
  const unsigned count = first & 0x7f;
  uint64_t length = 0;
  for (unsigned i = 0; i < count; ++i) length = (length << 8) | b.at(at + 2 + i);
  return 2 + count + length;
}

}  // namespace hvsig::test
