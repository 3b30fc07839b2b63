#include "hv/elf_core.h"

namespace hvsig::hv {
namespace {

// <elf.h> values, spelled out so the model does not depend on the host's headers.
constexpr uint8_t kElfClass64 = 2;
constexpr uint8_t kElfData2Lsb = 1;
constexpr uint8_t kEvCurrent = 1;
constexpr uint16_t kEtCore = 4;
constexpr uint16_t kEmX86_64 = 62;
constexpr uint32_t kPtLoad = 1;
constexpr uint32_t kPtNote = 4;
constexpr uint32_t kPfX = 1, kPfW = 2, kPfR = 4;

// Writes little-endian fields one after the other into a buffer sized up front.
class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& out) : out_(out) {}
  void Put(uint64_t value, unsigned bytes) {
    for (unsigned i = 0; i < bytes; ++i) out_[at_++] = static_cast<uint8_t>(value >> (8 * i));
  }
  void Skip(std::size_t bytes) { at_ += bytes; }  // the buffer starts zeroed

 private:
  std::vector<uint8_t>& out_;
  std::size_t at_ = 0;
};

void PutProgramHeader(Writer& out, uint32_t type, uint32_t flags, const MemoryRange& range) {
  out.Put(type, 4);
  out.Put(flags, 4);
  out.Put(range.start, 8);  // p_offset
  out.Put(0, 8);            // p_vaddr
  out.Put(range.start, 8);  // p_paddr
  out.Put(range.size, 8);   // p_filesz
  out.Put(range.size, 8);   // p_memsz
  out.Put(0, 8);            // p_align
}

}  // namespace

std::vector<uint8_t> BuildElfCoreHeader(const CrashEnvironment& crash) {
  const bool has_vmcoreinfo = crash.vmcoreinfo.size != 0;
  const uint64_t phnum =
      crash.cpu_notes.size() + (has_vmcoreinfo ? 1 : 0) + crash.ram_outside_crash.size();

  std::vector<uint8_t> bytes(kElf64HeaderSize + phnum * kElf64ProgramHeaderSize);
  Writer out(bytes);
  for (const uint8_t b : {uint8_t{0x7f}, uint8_t{'E'}, uint8_t{'L'}, uint8_t{'F'}, kElfClass64,
                          kElfData2Lsb, kEvCurrent})
    out.Put(b, 1);
  out.Skip(9);                             // EI_OSABI (System V), EI_ABIVERSION, padding
  out.Put(kEtCore, 2);
  out.Put(kEmX86_64, 2);
  out.Put(kEvCurrent, 4);                  // e_version
  out.Put(0, 8);                           // e_entry
  out.Put(kElf64HeaderSize, 8);            // e_phoff: program headers follow directly
  out.Put(0, 8);                           // e_shoff
  out.Put(0, 4);                           // e_flags
  out.Put(kElf64HeaderSize, 2);            // e_ehsize
  out.Put(kElf64ProgramHeaderSize, 2);     // e_phentsize
  out.Put(phnum, 2);                       // e_phnum (callers bound it below PN_XNUM)
  out.Put(0, 2);                           // e_shentsize
  out.Put(0, 2);                           // e_shnum
  out.Put(0, 2);                           // e_shstrndx

  for (const MemoryRange& note : crash.cpu_notes) PutProgramHeader(out, kPtNote, 0, note);
  if (has_vmcoreinfo) PutProgramHeader(out, kPtNote, 0, crash.vmcoreinfo);
  for (const MemoryRange& ram : crash.ram_outside_crash)
    PutProgramHeader(out, kPtLoad, kPfR | kPfW | kPfX, ram);
  return bytes;
}

}  // namespace hvsig::hv
