// Xen livepatch payloads: the ELF checks Xen's livepatch_elf.c makes before it uses a payload,
// and the two signature containers found on them (docs/livepatch.md compares them):
//   XenNote          a ".note.Xen.signature" SHT_NOTE section holding one note named "Xen" of
//                    type 1 (version 1 | RSA 0 << 16 | SHA-256 0 << 24) whose descriptor is an
//                    RSA PKCS#1 v1.5 SHA-256 signature over the whole file with the descriptor
//                    zeroed (the 2025 XenServer proposal); checked against raw RSA keys;
//   ModuleSignature  Linux's module layout: ELF object, detached PKCS#7, struct
//                    module_signature, "~Module signature appended~\n"; checked against X.509
//                    keyrings (authenticode::PrepareDetached and policy::DecideDetached).
// This component parses and locates; trust is policy::DecideLivepatch's. Nothing here hashes or
// verifies except DigestForNote, so a payload that fails ParsePayload costs no signature work.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hvsig/crypto.h"
#include "hvsig/input.h"
#include "hvsig/result.h"

namespace hvsig::livepatch {

constexpr size_t kElfHeaderSize = 64;      // sizeof(Elf64_Ehdr)
constexpr size_t kSectionHeaderSize = 64;  // sizeof(Elf64_Shdr)
constexpr size_t kSymbolSize = 24;         // sizeof(Elf64_Sym)
constexpr uint32_t kMaxSections = 1024;    // Xen refuses e_shnum >= 1024
// sizeof(struct livepatch_func) in Xen 4.17's public/sysctl.h on x86-64: three pointers,
// new_size, old_size, version, _pad[39] (opaque[31], applied, _pad[7] before 4.17.3), and the
// 32-byte livepatch_expectation_t.
constexpr size_t kFuncSize = 104;
constexpr size_t kFuncVersionOffset = 32;
constexpr uint8_t kPayloadVersion = 2;     // LIVEPATCH_PAYLOAD_VERSION
constexpr uint32_t kNoteType = 1;          // version 1, RSA, SHA-256, other bits zero
constexpr uint32_t kMaxNoteSignature = 1024;  // the proposal's MAX_SIG_NOTE_SIZE (exclusive)
constexpr size_t kModuleSignatureInfoSize = 12;  // sizeof(struct module_signature)
constexpr size_t kModuleSignatureMarkerSize = 28;
constexpr uint8_t kModuleSignatureMarker[kModuleSignatureMarkerSize] = {
    '~', 'M', 'o', 'd', 'u', 'l', 'e', ' ', 's', 'i', 'g', 'n', 'a', 't',
    'u', 'r', 'e', ' ', 'a', 'p', 'p', 'e', 'n', 'd', 'e', 'd', '~', '\n'};
constexpr uint8_t kPkeyIdPkcs7 = 2;

enum class Format : uint8_t { None, XenNote, ModuleSignature };
const char* FormatName(Format format);  // "none", "note", "modsig"
constexpr uint8_t FormatBit(Format format) {
  return static_cast<uint8_t>(1u << static_cast<unsigned>(format));
}

struct Payload {
  Input file;    // as uploaded
  Input elf;     // the ELF object: the whole file, or what precedes an appended signature
  Format format;
  uint16_t section_count;
  uint16_t funcs_index;    // the .livepatch.funcs section
  uint64_t funcs_offset;
  uint32_t func_count;     // entries of kFuncSize
  // XenNote: the descriptor, where the signature is and what the digest zeroes.
  uint64_t note_signature_offset;
  Input note_signature;
  // ModuleSignature: the PKCS#7 blob.
  uint64_t pkcs7_offset;
  Input pkcs7;
};

// Splits off an appended module signature (Linux's mod_check_sig: sig_len bound, id_type
// PKEY_ID_PKCS7, algo/hash/signer_len/key_id_len/__pad zero), checks the ELF object as Xen's
// livepatch_elf.c does (header, section table and every section in bounds, string tables
// terminated, one sane symbol table whose names and section indexes are in range), requires
// one .livepatch.funcs of whole, current-version entries, and locates a signature note (its
// note structure checked). A payload carrying both containers is LivepatchBothSignatureFormats.
// error.offset counts from the first byte of file.
Result ParsePayload(Input file, Payload& out, Error& error);

// The digest a XenNote signature covers: SHA-256 of the file with the descriptor's bytes
// zeroed, hashed as before/zeros/after without copying the file.
Result DigestForNote(const CryptoProvider& provider, const Payload& payload, uint8_t out[32]);

}  // namespace hvsig::livepatch
