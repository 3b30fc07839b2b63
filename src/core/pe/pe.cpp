// PE/COFF header, section-table and certificate-table checks. Every check is one `if` with its
// own Result and the file offset of the field at fault; all arithmetic is on uint64_t values
// that start as 32-bit file fields, so no sum below can wrap.
#include "hvsig/pe.h"

#include "core/little_endian.h"

namespace hvsig::pe {
namespace {

constexpr uint32_t kDosHeaderSize = 64;
constexpr uint32_t kLfanewOffset = 0x3c;
constexpr uint32_t kCoffHeaderSize = 20;
constexpr uint32_t kSectionHeaderSize = 40;
constexpr uint16_t kPe32Magic = 0x10b;
constexpr uint16_t kPe32PlusMagic = 0x20b;
// Optional-header offsets common to PE32 and PE32+.
constexpr uint32_t kOptSizeOfHeaders = 60;
constexpr uint32_t kOptCheckSum = 64;
constexpr uint32_t kOptSubsystem = 68;
// Where NumberOfRvaAndSizes sits; the data directories follow it.
constexpr uint32_t kPe32RvaCount = 92;
constexpr uint32_t kPe32PlusRvaCount = 108;
constexpr uint32_t kDataDirectorySize = 8;
constexpr uint32_t kSecurityDirectoryIndex = 4;
constexpr uint32_t kWinCertHeaderSize = 8;
constexpr uint16_t kWinCertRevision2 = 0x0200;
constexpr uint16_t kWinCertTypePkcsSignedData = 0x0002;
constexpr uint64_t kMaxImageSize = 0xffffffffull;

// Reads a header field region; a region past the end of the file is `truncated` at `offset`.
Result ReadAt(const ImageSource& image, uint64_t offset, uint8_t* out, size_t length,
              Result truncated, Error& error) {
  Result r = ReadImage(image, offset, out, length);
  if (r == Result::PeTruncated) r = truncated;
  if (r != Result::Success) error = Error{r, offset};
  return r;
}

Result Fail(Error& error, Result r, uint64_t offset) {
  error = Error{r, offset};
  return r;
}

Result ParseHeaders(const ImageSource& image, PeImage& pe, uint64_t& section_table,
                    Error& error) {
  uint8_t dos[kDosHeaderSize];
  HVSIG_TRY(ReadAt(image, 0, dos, sizeof dos, Result::PeTruncated, error));
  if (dos[0] != 'M' || dos[1] != 'Z') return Fail(error, Result::PeBadDosMagic, 0);
  pe.e_lfanew = Le32(dos + kLfanewOffset);
  if (pe.e_lfanew < kDosHeaderSize) return Fail(error, Result::PeBadLfanew, kLfanewOffset);
  if (uint64_t{pe.e_lfanew} + 4 + kCoffHeaderSize > pe.file_size) {
    return Fail(error, Result::PeBadLfanew, kLfanewOffset);
  }

  uint8_t nt[4 + kCoffHeaderSize];
  HVSIG_TRY(ReadAt(image, pe.e_lfanew, nt, sizeof nt, Result::PeTruncated, error));
  if (nt[0] != 'P' || nt[1] != 'E' || nt[2] != 0 || nt[3] != 0) {
    return Fail(error, Result::PeBadSignature, pe.e_lfanew);
  }
  const uint8_t* coff = nt + 4;
  pe.machine = Le16(coff + 0);
  pe.section_count = Le16(coff + 2);
  const uint16_t optional_size = Le16(coff + 16);
  const uint64_t optional = uint64_t{pe.e_lfanew} + 4 + kCoffHeaderSize;

  uint8_t magic_bytes[2];
  if (optional_size < sizeof magic_bytes) {
    return Fail(error, Result::PeOptionalHeaderTooSmall, optional - 4);
  }
  HVSIG_TRY(ReadAt(image, optional, magic_bytes, 2, Result::PeTruncated, error));
  const uint16_t magic = Le16(magic_bytes);
  if (magic != kPe32Magic && magic != kPe32PlusMagic) {
    return Fail(error, Result::PeBadOptionalMagic, optional);
  }
  pe.pe32_plus = magic == kPe32PlusMagic;
  const uint32_t rva_count_at = pe.pe32_plus ? kPe32PlusRvaCount : kPe32RvaCount;
  const uint32_t directories_at = rva_count_at + 4;
  if (optional_size < directories_at) {
    return Fail(error, Result::PeOptionalHeaderTooSmall, optional - 4);
  }
  if (optional + optional_size > pe.file_size) {
    return Fail(error, Result::PeTruncated, optional);
  }

  // The fixed fields up to NumberOfRvaAndSizes; the security directory is read on its own.
  uint8_t opt[kPe32PlusRvaCount + 4];
  HVSIG_TRY(ReadAt(image, optional, opt, directories_at, Result::PeTruncated, error));
  pe.size_of_headers = Le32(opt + kOptSizeOfHeaders);
  pe.checksum = Le32(opt + kOptCheckSum);
  pe.subsystem = Le16(opt + kOptSubsystem);
  pe.number_of_rva_and_sizes = Le32(opt + rva_count_at);
  pe.checksum_offset = optional + kOptCheckSum;

  if (pe.number_of_rva_and_sizes <= kSecurityDirectoryIndex) {
    return Fail(error, Result::PeTooFewDataDirectories, optional + rva_count_at);
  }
  if (uint64_t{pe.number_of_rva_and_sizes} * kDataDirectorySize > optional_size - directories_at) {
    return Fail(error, Result::PeOptionalHeaderTooSmall, optional + rva_count_at);
  }
  pe.security_dir_offset = optional + directories_at + kSecurityDirectoryIndex * kDataDirectorySize;
  uint8_t security[kDataDirectorySize];
  HVSIG_TRY(ReadAt(image, pe.security_dir_offset, security, sizeof security, Result::PeTruncated,
                   error));
  pe.cert_table = ByteRange{Le32(security), Le32(security + 4)};

  if (pe.section_count > kMaxSections) {
    return Fail(error, Result::PeTooManySections, optional - kCoffHeaderSize + 2);
  }
  section_table = optional + optional_size;
  const uint64_t headers_end = section_table + uint64_t{pe.section_count} * kSectionHeaderSize;
  if (headers_end > pe.size_of_headers) {
    return Fail(error, Result::PeBadSizeOfHeaders, optional + kOptSizeOfHeaders);
  }
  if (pe.size_of_headers > pe.file_size) {
    return Fail(error, Result::PeBadSizeOfHeaders, optional + kOptSizeOfHeaders);
  }
  return Result::Success;
}

Result ParseSections(const ImageSource& image, uint64_t section_table, PeImage& pe,
                     Error& error) {
  for (uint16_t i = 0; i < pe.section_count; ++i) {
    const uint64_t at = section_table + uint64_t{i} * kSectionHeaderSize;
    uint8_t raw[kSectionHeaderSize];
    HVSIG_TRY(ReadAt(image, at, raw, sizeof raw, Result::PeTruncated, error));
    Section& s = pe.sections[i];
    __builtin_memcpy(s.name, raw, sizeof s.name);
    s.virtual_size = Le32(raw + 8);
    s.virtual_address = Le32(raw + 12);
    s.size_of_raw_data = Le32(raw + 16);
    s.pointer_to_raw_data = Le32(raw + 20);
    s.characteristics = Le32(raw + 36);
    if (s.size_of_raw_data != 0 &&
        uint64_t{s.pointer_to_raw_data} + s.size_of_raw_data > pe.file_size) {
      return Fail(error, Result::PeSectionOutsideFile, at + 16);
    }
  }
  return Result::Success;
}

// Section indices with raw data, ordered by PointerToRawData; ties keep table order, so the
// digest is a function of the file alone (pesign's n-1 sort bug is the counterexample).
uint16_t SortedSections(const PeImage& pe, uint16_t* order) {
  uint16_t count = 0;
  for (uint16_t i = 0; i < pe.section_count; ++i) {
    if (pe.sections[i].size_of_raw_data == 0) continue;
    uint16_t j = count++;
    while (j > 0 && pe.sections[order[j - 1]].pointer_to_raw_data >
                        pe.sections[i].pointer_to_raw_data) {
      order[j] = order[j - 1];
      --j;
    }
    order[j] = i;
  }
  return count;
}

Result ParseCertificateTable(const ImageSource& image, PeImage& pe, Error& error) {
  const ByteRange table = pe.cert_table;
  uint64_t at = table.offset;
  while (at < table.end()) {
    if (table.end() - at < kWinCertHeaderSize) {
      return Fail(error, Result::PeCertEntryTooShort, at);
    }
    uint8_t header[kWinCertHeaderSize];
    HVSIG_TRY(ReadAt(image, at, header, sizeof header, Result::PeTruncated, error));
    CertificateEntry entry{};
    entry.offset = at;
    entry.length = Le32(header);
    entry.revision = Le16(header + 4);
    entry.type = Le16(header + 6);
    if (entry.length <= kWinCertHeaderSize) return Fail(error, Result::PeCertEntryTooShort, at);
    if (entry.length > table.end() - at) return Fail(error, Result::PeCertEntryOverrun, at);
    if (entry.revision != kWinCertRevision2) {
      return Fail(error, Result::PeCertEntryBadRevision, at + 4);
    }
    if (entry.type != kWinCertTypePkcsSignedData) {
      return Fail(error, Result::PeCertEntryBadType, at + 6);
    }
    uint8_t first;
    HVSIG_TRY(ReadAt(image, at + kWinCertHeaderSize, &first, 1, Result::PeTruncated, error));
    if (first != 0x30) return Fail(error, Result::PeCertEntryNotDer, at + kWinCertHeaderSize);
    if (pe.certificate_count == kMaxSignatures) {
      return Fail(error, Result::PeTooManySignatures, at);
    }
    entry.der = ByteRange{at + kWinCertHeaderSize, entry.length - kWinCertHeaderSize};

    // Entries are 8-byte aligned; the alignment bytes must be zero so nothing rides along
    // unhashed and unsigned (CVE-2013-3900 class). The last entry may omit them.
    const uint64_t aligned = (uint64_t{entry.length} + 7) & ~uint64_t{7};
    const uint64_t padding = aligned - entry.length;
    const uint64_t padding_present = table.end() - at - entry.length < padding
                                         ? table.end() - at - entry.length
                                         : padding;
    uint8_t pad[7];
    HVSIG_TRY(ReadAt(image, at + entry.length, pad, padding_present, Result::PeTruncated, error));
    for (uint64_t i = 0; i < padding_present; ++i) {
      if (pad[i] != 0) return Fail(error, Result::PeCertEntryBadPadding, at + entry.length + i);
    }
    pe.certificates[pe.certificate_count++] = entry;
    at += entry.length + padding_present;
  }
  return Result::Success;
}

Result LayoutDigestRanges(PeImage& pe, Profile profile, Error& error) {
  const uint64_t data_end = pe.is_signed() ? pe.cert_table.offset : pe.file_size;
  pe.hash_range_count = 0;
  auto add = [&pe](uint64_t begin, uint64_t end) {
    pe.hash_ranges[pe.hash_range_count++] = ByteRange{begin, end - begin};
  };
  add(0, pe.checksum_offset);
  add(pe.checksum_offset + 4, pe.security_dir_offset);
  add(pe.security_dir_offset + kDataDirectorySize, pe.size_of_headers);

  uint16_t order[kMaxSections];
  const uint16_t with_data = SortedSections(pe, order);
  uint64_t hashed_bytes = pe.size_of_headers;
  uint64_t covered_to = pe.size_of_headers;
  pe.gap_count = 0;
  pe.section_overlap = false;
  for (uint16_t k = 0; k < with_data; ++k) {
    const Section& s = pe.sections[order[k]];
    const uint64_t begin = s.pointer_to_raw_data;
    const uint64_t end = begin + s.size_of_raw_data;
    if (end > data_end) {
      return Fail(error, Result::PeSectionOverlapsCertTable, begin);
    }
    if (begin < pe.size_of_headers) {
      pe.section_overlap = true;
      if (profile == Profile::Strict) return Fail(error, Result::PeSectionOverlapsHeaders, begin);
    } else if (begin < covered_to) {
      pe.section_overlap = true;
      if (profile == Profile::Strict) return Fail(error, Result::PeSectionOverlapsSection, begin);
    } else if (begin > covered_to) {
      if (pe.gap_count++ == 0) pe.first_gap = ByteRange{covered_to, begin - covered_to};
      if (profile == Profile::Strict) return Fail(error, Result::PeUnhashedGap, covered_to);
    }
    if (end > covered_to) covered_to = end;
    add(begin, end);
    hashed_bytes += s.size_of_raw_data;
  }

  // After the sections, the spec hashes from SUM_OF_BYTES_HASHED (an offset computed as a
  // sum, as Linux, shim and pesign do) up to the certificate table.
  pe.extra_data = ByteRange{hashed_bytes, 0};
  if (hashed_bytes < data_end) {
    pe.extra_data.length = data_end - hashed_bytes;
    add(hashed_bytes, data_end);
  } else if (hashed_bytes > data_end && pe.is_signed()) {
    return Fail(error, Result::PeExtraDataOverlapsCertTable, pe.cert_table.offset);
  }
  return Result::Success;
}

}  // namespace

Result ParsePe(const ImageSource& image, Profile profile, PeImage& pe, Error& error) {
  __builtin_memset(&pe, 0, sizeof pe);
  pe.file_size = image.size;
  if (image.size > kMaxImageSize) return Fail(error, Result::PeTooLarge, 0);

  uint64_t section_table = 0;
  HVSIG_TRY(ParseHeaders(image, pe, section_table, error));
  HVSIG_TRY(ParseSections(image, section_table, pe, error));

  // Security directory: VirtualAddress is a file offset. Either field zero means unsigned.
  if (pe.cert_table.offset == 0 || pe.cert_table.length == 0) {
    pe.cert_table = ByteRange{0, 0};
  } else {
    if (pe.cert_table.offset < pe.size_of_headers) {
      return Fail(error, Result::PeCertTableBeforeHeaders, pe.security_dir_offset);
    }
    if (pe.cert_table.end() > pe.file_size) {
      return Fail(error, Result::PeCertTableOutsideFile, pe.security_dir_offset);
    }
    if (pe.cert_table.end() != pe.file_size) {
      return Fail(error, Result::PeDataAfterCertTable, pe.cert_table.end());
    }
    HVSIG_TRY(ParseCertificateTable(image, pe, error));
  }
  return LayoutDigestRanges(pe, profile, error);
}

}  // namespace hvsig::pe
