// Livepatch payload structure: livepatch::ParsePayload (Xen's livepatch_elf.c checks, the
// appended module signature's framing, the signature note's structure).
#include "fuzz_support.h"
#include "hvsig/livepatch.h"

HVSIG_FUZZ_TARGET(livepatch_elf) {
  using namespace hvsig;
  static livepatch::Payload* payload = new livepatch::Payload();
  const Input file(data, size);
  Error error;
  if (livepatch::ParsePayload(file, *payload, error) != Result::Success) {
    HVSIG_FUZZ_CHECK(error.result != Result::Success && error.offset <= size);
    return 0;
  }
  const livepatch::Payload& p = *payload;
  HVSIG_FUZZ_CHECK(p.elf.data() == data && p.elf.size() <= size);
  HVSIG_FUZZ_CHECK(p.section_count < livepatch::kMaxSections);
  HVSIG_FUZZ_CHECK(p.funcs_offset <= p.elf.size() &&
                   uint64_t{p.func_count} * livepatch::kFuncSize <= p.elf.size() - p.funcs_offset);
  if (p.format == livepatch::Format::XenNote) {
    HVSIG_FUZZ_CHECK(p.note_signature_offset + p.note_signature.size() <= p.elf.size());
    HVSIG_FUZZ_CHECK(p.note_signature.size() < livepatch::kMaxNoteSignature);
  }
  if (p.format == livepatch::Format::ModuleSignature) {
    HVSIG_FUZZ_CHECK(p.pkcs7_offset == p.elf.size() && p.pkcs7.data() == data + p.pkcs7_offset);
    HVSIG_FUZZ_CHECK(p.pkcs7_offset + p.pkcs7.size() + livepatch::kModuleSignatureInfoSize +
                         livepatch::kModuleSignatureMarkerSize == size);
  }
  return 0;
}
