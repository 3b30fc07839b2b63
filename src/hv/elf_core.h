// ELF64 core header for a crash (kdump) kernel: the table of contents of the crashed machine's
// memory that the crash kernel reads through elfcorehdr= (Linux: crash_prepare_elf64_headers();
// kexec-tools: crash_create_elf64_headers()). It only describes memory; the notes and RAM it
// points at stay where they are.
#pragma once

#include <cstdint>
#include <vector>

#include "hv/bzimage_loader.h"

namespace hvsig::hv {

inline constexpr uint64_t kElf64HeaderSize = 64;
inline constexpr uint64_t kElf64ProgramHeaderSize = 56;

// Ehdr (ELFCLASS64, ELFDATA2LSB, ET_CORE, EM_X86_64) followed by one PT_NOTE per CPU crash
// note, one PT_NOTE for vmcoreinfo when its size is not 0, and one PT_LOAD per RAM range.
// Every p_offset and p_paddr is the machine address (the crash kernel's /proc/vmcore rewrites
// the offsets); p_vaddr is 0 because the machine's memory has no fixed virtual mapping under
// Xen.
std::vector<uint8_t> BuildElfCoreHeader(const CrashEnvironment& crash);

}  // namespace hvsig::hv
