// Livepatch payload structure: the appended module signature's trailer (Linux's
// mod_check_sig), the ELF object (Xen's livepatch_header_check, elf_resolve_sections,
// elf_resolve_section_names, elf_get_sym and the st_shndx rules of
// livepatch_elf_resolve_symbols), .livepatch.funcs (prepare_payload) and the signature note
// (the 2025 proposal's livepatch_elf_note_by_names). Xen trusts these fields once it has checked
// them; so does everything after ParsePayload.
#include "hvsig/livepatch.h"

#include "core/little_endian.h"

namespace hvsig::livepatch {
namespace {

constexpr uint16_t kEtRel = 1;
constexpr uint16_t kEmX86_64 = 62;
constexpr uint8_t kElfClass64 = 2;
constexpr uint8_t kElfData2Lsb = 1;
constexpr uint8_t kEvCurrent = 1;
constexpr uint8_t kOsAbiNone = 0;
constexpr uint8_t kOsAbiFreeBsd = 9;
constexpr uint32_t kShtSymtab = 2;
constexpr uint32_t kShtStrtab = 3;
constexpr uint32_t kShtNote = 7;
constexpr uint32_t kShtNobits = 8;
constexpr uint16_t kShnUndef = 0;
constexpr uint16_t kShnLoReserve = 0xff00;
constexpr uint16_t kShnAbs = 0xfff1;
constexpr uint16_t kShnCommon = 0xfff2;
constexpr size_t kNoteHeaderSize = 12;

constexpr char kFuncsName[] = ".livepatch.funcs";
constexpr char kNoteSectionName[] = ".note.Xen.signature";
constexpr uint8_t kNoteName[] = {'X', 'e', 'n', 0};

Result Fail(Error& error, Result r, uint64_t offset) {
  error = Error{r, offset};
  return r;
}

struct SectionHeader {
  uint64_t header_offset;  // of the header itself, for error offsets
  uint32_t name;
  uint32_t type;
  uint64_t offset;
  uint64_t size;
  uint32_t link;
  uint64_t entsize;
};

// The ELF facts the checks established, and where the interesting sections are.
struct ElfView {
  Input elf;
  uint64_t shoff;
  uint16_t shnum;
  uint16_t shstrndx;
  uint16_t symtab;  // 0: none yet
};

SectionHeader ReadSection(const ElfView& view, uint32_t index) {
  SectionHeader s;
  s.header_offset = view.shoff + static_cast<uint64_t>(index) * kSectionHeaderSize;
  const uint8_t* p = view.elf.data() + s.header_offset;
  s.name = Le32(p);
  s.type = Le32(p + 4);
  s.offset = Le64(p + 24);
  s.size = Le64(p + 32);
  s.link = Le32(p + 40);
  s.entsize = Le64(p + 56);
  return s;
}

// Only for sections whose data the bounds check established is inside the file.
Input SectionData(const ElfView& view, const SectionHeader& s) {
  return Input(view.elf.data() + s.offset, static_cast<size_t>(s.size));
}

Result CheckHeader(Input elf, ElfView& view, Error& error) {
  if (elf.size() < kElfHeaderSize) return Fail(error, Result::LivepatchElfTruncated, 0);
  const uint8_t* h = elf.data();
  if (h[0] != 0x7f || h[1] != 'E' || h[2] != 'L' || h[3] != 'F') {
    return Fail(error, Result::LivepatchElfBadMagic, 0);
  }
  if (h[4] != kElfClass64) return Fail(error, Result::LivepatchElfNotElf64, 4);
  if (h[5] != kElfData2Lsb) return Fail(error, Result::LivepatchElfNotLittleEndian, 5);
  if (h[6] != kEvCurrent) return Fail(error, Result::LivepatchElfBadVersion, 6);
  if (Le32(h + 20) != kEvCurrent) return Fail(error, Result::LivepatchElfBadVersion, 20);
  if (h[7] != kOsAbiNone && h[7] != kOsAbiFreeBsd) {
    return Fail(error, Result::LivepatchElfBadOsAbi, 7);
  }
  if (h[8] != 0) return Fail(error, Result::LivepatchElfBadOsAbi, 8);
  if (Le16(h + 16) != kEtRel) return Fail(error, Result::LivepatchElfNotRelocatable, 16);
  if (Le16(h + 18) != kEmX86_64) return Fail(error, Result::LivepatchElfNotX86_64, 18);
  if (Le16(h + 56) != 0) return Fail(error, Result::LivepatchElfHasProgramHeaders, 56);
  if (Le16(h + 52) != kElfHeaderSize) return Fail(error, Result::LivepatchElfBadHeaderSize, 52);
  // Xen accepts larger entries; every toolchain writes exactly Elf64_Shdr, and one stride
  // keeps the table arithmetic single-valued.
  if (Le16(h + 58) != kSectionHeaderSize) {
    return Fail(error, Result::LivepatchElfBadSectionHeaderSize, 58);
  }
  view.elf = elf;
  view.shoff = Le64(h + 40);
  view.shnum = Le16(h + 60);
  view.shstrndx = Le16(h + 62);
  view.symtab = 0;
  if (view.shstrndx == kShnUndef) return Fail(error, Result::LivepatchElfNoSectionNames, 62);
  if (view.shnum >= kMaxSections) return Fail(error, Result::LivepatchElfTooManySections, 60);
  if (view.shstrndx >= view.shnum) {
    return Fail(error, Result::LivepatchElfBadSectionNameIndex, 62);
  }
  // shnum < 1024 keeps the product far from overflow.
  const uint64_t table_size = static_cast<uint64_t>(view.shnum) * kSectionHeaderSize;
  if (view.shoff < kElfHeaderSize || view.shoff > elf.size() ||
      table_size > elf.size() - view.shoff) {
    return Fail(error, Result::LivepatchElfSectionTableOutOfBounds, 40);
  }
  return Result::Success;
}

// Every section's data inside the file (NOBITS has none), and the one symbol table.
Result CheckSections(ElfView& view, Error& error) {
  for (uint32_t i = 1; i < view.shnum; ++i) {
    const SectionHeader s = ReadSection(view, i);
    const bool outside = s.offset < kElfHeaderSize ||
                         (s.type != kShtNobits &&
                          (s.offset > view.elf.size() || s.size > view.elf.size() - s.offset));
    if (outside) return Fail(error, Result::LivepatchElfSectionOutOfBounds, s.header_offset + 24);
    if (s.type != kShtSymtab) continue;
    if (view.symtab != 0) {
      return Fail(error, Result::LivepatchElfMultipleSymbolTables, s.header_offset);
    }
    view.symtab = static_cast<uint16_t>(i);
    if (s.link >= view.shnum) {
      return Fail(error, Result::LivepatchElfBadSymbolTableLink, s.header_offset + 40);
    }
  }
  if (view.symtab == 0) return Fail(error, Result::LivepatchElfNoSymbolTable, view.shoff);
  return Result::Success;
}

// SHT_STRTAB, not empty, starting and ending with NUL (so every name in it is terminated).
Result CheckStringTable(const ElfView& view, uint32_t index, Error& error) {
  const SectionHeader s = ReadSection(view, index);
  // Section 0's header is not bounds-checked (CheckSections starts at 1): never read its data.
  if (index == 0 || s.type != kShtStrtab || s.size == 0) {
    return Fail(error, Result::LivepatchElfBadStringTable, s.header_offset);
  }
  const Input data = SectionData(view, s);
  if (data[0] != 0) return Fail(error, Result::LivepatchElfBadStringTable, s.offset);
  if (data[data.size() - 1] != 0) {
    return Fail(error, Result::LivepatchElfBadStringTable, s.offset + s.size - 1);
  }
  return Result::Success;
}

Result CheckSymbols(const ElfView& view, Error& error) {
  const SectionHeader symtab = ReadSection(view, view.symtab);
  if (symtab.size == 0 || symtab.entsize < kSymbolSize || symtab.size % symtab.entsize != 0) {
    return Fail(error, Result::LivepatchElfBadSymbolTable, symtab.header_offset);
  }
  HVSIG_TRY(CheckStringTable(view, symtab.link, error));
  const SectionHeader strtab = ReadSection(view, symtab.link);
  const uint64_t count = symtab.size / symtab.entsize;
  // Symbol 0 is the reserved null symbol; Xen starts at 1 too.
  for (uint64_t i = 1; i < count; ++i) {
    const uint64_t at = symtab.offset + i * symtab.entsize;
    const uint8_t* sym = view.elf.data() + at;
    if (Le32(sym) >= strtab.size) {
      return Fail(error, Result::LivepatchElfSymbolNameOutOfBounds, at);
    }
    const uint16_t shndx = Le16(sym + 6);
    const bool bad_index = shndx == kShnCommon ||
                           (shndx != kShnAbs && shndx >= kShnLoReserve) ||
                           (shndx < kShnLoReserve && shndx >= view.shnum);
    if (bad_index) return Fail(error, Result::LivepatchElfBadSymbolSection, at + 6);
  }
  return Result::Success;
}

bool NameIs(Input shstrtab, uint32_t name, const char* expected) {
  for (size_t i = 0;; ++i) {
    // CheckSectionNames made name < size and the table ends in NUL: the loop stops inside.
    const uint8_t c = shstrtab[name + i];
    if (c != static_cast<uint8_t>(expected[i])) return false;
    if (c == 0) return true;
  }
}

Result CheckSectionNames(const ElfView& view, Input& shstrtab, Error& error) {
  HVSIG_TRY(CheckStringTable(view, view.shstrndx, error));
  shstrtab = SectionData(view, ReadSection(view, view.shstrndx));
  for (uint32_t i = 1; i < view.shnum; ++i) {
    const SectionHeader s = ReadSection(view, i);
    if (s.name >= shstrtab.size()) {
      return Fail(error, Result::LivepatchElfSectionNameOutOfBounds, s.header_offset);
    }
  }
  return Result::Success;
}

// The one section called name, 0 if there is none.
Result FindUniqueSection(const ElfView& view, Input shstrtab, const char* name, uint16_t& index,
                         Error& error) {
  index = 0;
  for (uint32_t i = 1; i < view.shnum; ++i) {
    const SectionHeader s = ReadSection(view, i);
    if (!NameIs(shstrtab, s.name, name)) continue;
    // Two candidates would let the verifier and the loader look at different bytes.
    if (index != 0) return Fail(error, Result::LivepatchElfDuplicateSection, s.header_offset);
    index = static_cast<uint16_t>(i);
  }
  return Result::Success;
}

Result CheckFuncs(const ElfView& view, Input shstrtab, Payload& out, Error& error) {
  HVSIG_TRY(FindUniqueSection(view, shstrtab, kFuncsName, out.funcs_index, error));
  if (out.funcs_index == 0) return Fail(error, Result::LivepatchFuncsMissing, view.shoff);
  const SectionHeader s = ReadSection(view, out.funcs_index);
  if (s.type == kShtNobits) return Fail(error, Result::LivepatchFuncsNoBits, s.header_offset + 4);
  if (s.size == 0 || s.size % kFuncSize != 0) {
    return Fail(error, Result::LivepatchFuncsBadSize, s.header_offset + 32);
  }
  for (uint64_t at = s.offset; at < s.offset + s.size; at += kFuncSize) {
    if (view.elf[at + kFuncVersionOffset] != kPayloadVersion) {
      return Fail(error, Result::LivepatchFuncsBadVersion, at + kFuncVersionOffset);
    }
  }
  out.funcs_offset = s.offset;
  out.func_count = static_cast<uint32_t>(s.size / kFuncSize);
  return Result::Success;
}

// The section's notes, each header + name + descriptor padded to 4; exactly one named "Xen".
Result ParseSignatureNote(const ElfView& view, uint16_t index, Payload& out, Error& error) {
  const SectionHeader s = ReadSection(view, index);
  if (s.type != kShtNote) return Fail(error, Result::LivepatchNoteBadSectionType, s.header_offset + 4);
  uint64_t found_at = 0;
  bool found = false;
  for (uint64_t pos = 0; pos < s.size;) {
    const uint64_t at = s.offset + pos;
    const uint64_t remaining = s.size - pos;
    if (remaining < kNoteHeaderSize) return Fail(error, Result::LivepatchNoteTruncated, at);
    const uint8_t* note = view.elf.data() + at;
    const uint64_t name_size = Le32(note);
    const uint64_t desc_size = Le32(note + 4);
    const uint64_t padded_name = (name_size + 3) & ~uint64_t{3};
    const uint64_t padded_desc = (desc_size + 3) & ~uint64_t{3};
    if (kNoteHeaderSize + padded_name + padded_desc > remaining) {
      return Fail(error, Result::LivepatchNoteTruncated, at);
    }
    const bool is_xen = name_size == sizeof kNoteName &&
                        __builtin_memcmp(note + kNoteHeaderSize, kNoteName, sizeof kNoteName) == 0;
    if (is_xen) {
      if (found) return Fail(error, Result::LivepatchNoteDuplicate, at);
      found = true;
      found_at = at;
    }
    pos += kNoteHeaderSize + padded_name + padded_desc;
  }
  if (!found) return Fail(error, Result::LivepatchNoteMissing, s.offset);
  const uint8_t* note = view.elf.data() + found_at;
  if (Le32(note + 8) != kNoteType) {
    return Fail(error, Result::LivepatchNoteUnsupportedType, found_at + 8);
  }
  const uint32_t desc_size = Le32(note + 4);
  if (desc_size == 0 || desc_size >= kMaxNoteSignature) {
    return Fail(error, Result::LivepatchNoteBadSignatureSize, found_at + 4);
  }
  out.note_signature_offset = found_at + kNoteHeaderSize + sizeof kNoteName;
  out.note_signature = Input(view.elf.data() + out.note_signature_offset, desc_size);
  return Result::Success;
}

uint32_t Be32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}

// file = object || PKCS#7 || struct module_signature || marker. Linux's order of checks.
Result SplitModuleSignature(Input file, Payload& out, Error& error) {
  const size_t marked = file.size() - kModuleSignatureMarkerSize;
  if (marked <= kModuleSignatureInfoSize) return Fail(error, Result::ModsigTruncated, 0);
  const size_t info_at = marked - kModuleSignatureInfoSize;
  const uint8_t* info = file.data() + info_at;
  const uint32_t sig_len = Be32(info + 8);
  if (sig_len >= info_at) return Fail(error, Result::ModsigBadSignatureLength, info_at + 8);
  if (info[2] != kPkeyIdPkcs7) return Fail(error, Result::ModsigNotPkcs7, info_at + 2);
  // algo, hash, signer_len, key_id_len, __pad[3]: PKCS#7 carries all of that itself.
  constexpr uint8_t kZeroFields[] = {0, 1, 3, 4, 5, 6, 7};
  for (uint8_t field : kZeroFields) {
    if (info[field] != 0) return Fail(error, Result::ModsigNonZeroField, info_at + field);
  }
  out.format = Format::ModuleSignature;
  out.pkcs7_offset = info_at - sig_len;
  out.pkcs7 = Input(file.data() + out.pkcs7_offset, sig_len);
  out.elf = Input(file.data(), static_cast<size_t>(out.pkcs7_offset));
  return Result::Success;
}

bool HasModuleSignatureMarker(Input file) {
  return file.size() > kModuleSignatureMarkerSize &&
         __builtin_memcmp(file.end() - kModuleSignatureMarkerSize, kModuleSignatureMarker,
                          kModuleSignatureMarkerSize) == 0;
}

}  // namespace

const char* FormatName(Format format) {
  switch (format) {
    case Format::None: return "none";
    case Format::XenNote: return "note";
    case Format::ModuleSignature: return "modsig";
  }
  return "unknown";
}

Result ParsePayload(Input file, Payload& out, Error& error) {
  out = Payload{};
  out.file = file;
  out.elf = file;
  error = Error{};
  if (HasModuleSignatureMarker(file)) HVSIG_TRY(SplitModuleSignature(file, out, error));

  ElfView view;
  HVSIG_TRY(CheckHeader(out.elf, view, error));
  HVSIG_TRY(CheckSections(view, error));
  HVSIG_TRY(CheckSymbols(view, error));
  Input shstrtab;
  HVSIG_TRY(CheckSectionNames(view, shstrtab, error));
  out.section_count = view.shnum;
  HVSIG_TRY(CheckFuncs(view, shstrtab, out, error));

  uint16_t note_index = 0;
  HVSIG_TRY(FindUniqueSection(view, shstrtab, kNoteSectionName, note_index, error));
  if (note_index == 0) return Result::Success;
  if (out.format == Format::ModuleSignature) {
    return Fail(error, Result::LivepatchBothSignatureFormats,
                ReadSection(view, note_index).header_offset);
  }
  HVSIG_TRY(ParseSignatureNote(view, note_index, out, error));
  out.format = Format::XenNote;
  return Result::Success;
}

Result DigestForNote(const CryptoProvider& provider, const Payload& payload, uint8_t out[32]) {
  if (payload.format != Format::XenNote) return Result::InvalidArgument;
  static constexpr uint8_t kZeros[64] = {};
  const size_t start = static_cast<size_t>(payload.note_signature_offset);
  const size_t end = start + payload.note_signature.size();
  Digest digest;
  HVSIG_TRY(digest.Begin(provider, DigestAlg::Sha256));
  digest.Update(payload.file.data(), start);
  for (size_t left = payload.note_signature.size(); left > 0;) {
    const size_t n = left < sizeof kZeros ? left : sizeof kZeros;
    digest.Update(kZeros, n);
    left -= n;
  }
  digest.Update(payload.file.data() + end, payload.file.size() - end);
  digest.Finish(out);
  return Result::Success;
}

}  // namespace hvsig::livepatch
