// hvsig sign livepatch: signs a Xen livepatch payload with OpenSSL's libcrypto, in the tool (the
// core stays verify-only). The payload must first pass the core's own checks
// (livepatch::ParsePayload: what the verifier and the hypervisor run) and carry no signature.
//
// --format note: the ELF object gains a section ".note.Xen.signature" (SHT_NOTE, not
//   allocated) holding one note {namesz 4, descsz = the key's modulus size, type 1, "Xen\0",
//   descriptor}. The section is written here rather than with objcopy: the original bytes stay
//   where they are, then come the note, a copy of the section-name table with the new name, and
//   the section header table with one more entry (the old table is dropped when it ends the
//   file, as gcc writes it). The signature, RSA PKCS#1 v1.5 over SHA-256 of the result with the
//   descriptor still zero, is then written into the descriptor.
// --format modsig: scripts/sign-file's layout and CMS flags: a detached SignedData over the
//   object (SHA-256, no signed attributes, signer by issuer+serial, no certificates), then
//   struct module_signature {0, 0, PKEY_ID_PKCS7, 0, 0, {0}, be32 length} and the marker.
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/little_endian.h"
#include "hvsig/livepatch.h"
#include "tools/common/file_image.h"
#include "tools/hvsig/signing.h"

namespace hvsig::tools {
namespace {

using Bytes = std::vector<uint8_t>;

using openssl::BioPtr;
using openssl::MdCtxPtr;
using openssl::PkeyPtr;
using openssl::X509Ptr;
using CmsPtr = openssl::Owned<CMS_ContentInfo, CMS_ContentInfo_free>;

constexpr char kNoteSectionName[] = ".note.Xen.signature";
constexpr uint32_t kShtNote = 7;

// The payload as the verifier will see it: sane and not yet signed.
bool CheckUnsigned(const Bytes& payload, Failure& failure) {
  livepatch::Payload parsed;
  Error error;
  if (livepatch::ParsePayload(Input(payload.data(), payload.size()), parsed, error) !=
      Result::Success) {
    failure = {std::string("not a livepatch payload: ") + ResultName(error.result) + " at offset " +
               std::to_string(error.offset)};
    return false;
  }
  if (parsed.format != livepatch::Format::None) {
    failure = {std::string("already signed (") + livepatch::FormatName(parsed.format) + ")"};
    return false;
  }
  return true;
}

void PutLe(Bytes& b, size_t at, uint64_t v, size_t width) {
  for (size_t i = 0; i < width; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
void AppendLe(Bytes& b, uint64_t v, size_t width) {
  b.resize(b.size() + width);
  PutLe(b, b.size() - width, v, width);
}
void AlignTo(Bytes& b, size_t alignment) {
  while (b.size() % alignment != 0) b.push_back(0);
}

// The payload with an empty (zero) signature note of descriptor_size bytes; CheckUnsigned has
// validated the header and section table this reads.
Bytes AddSignatureNote(const Bytes& payload, size_t descriptor_size) {
  const uint64_t shoff = Le64(payload.data() + 40);
  const uint16_t shnum = Le16(payload.data() + 60);
  const uint16_t shstrndx = Le16(payload.data() + 62);
  const size_t table_size = static_cast<size_t>(shnum) * livepatch::kSectionHeaderSize;
  const Bytes table(payload.begin() + static_cast<std::ptrdiff_t>(shoff),
                    payload.begin() + static_cast<std::ptrdiff_t>(shoff + table_size));
  const size_t strtab_header = static_cast<size_t>(shstrndx) * livepatch::kSectionHeaderSize;
  const uint64_t strtab_offset = Le64(table.data() + strtab_header + 24);
  const uint64_t strtab_size = Le64(table.data() + strtab_header + 32);

  Bytes out(payload.begin(), shoff + table_size == payload.size()
                                  ? payload.begin() + static_cast<std::ptrdiff_t>(shoff)
                                  : payload.end());
  AlignTo(out, 4);
  const size_t note_offset = out.size();
  AppendLe(out, 4, 4);
  AppendLe(out, descriptor_size, 4);
  AppendLe(out, livepatch::kNoteType, 4);
  out.insert(out.end(), {'X', 'e', 'n', 0});
  out.resize(out.size() + ((descriptor_size + 3) & ~size_t{3}));
  const size_t note_size = out.size() - note_offset;

  const size_t new_strtab_offset = out.size();
  out.insert(out.end(), payload.begin() + static_cast<std::ptrdiff_t>(strtab_offset),
             payload.begin() + static_cast<std::ptrdiff_t>(strtab_offset + strtab_size));
  out.insert(out.end(), kNoteSectionName, kNoteSectionName + sizeof kNoteSectionName);
  const size_t new_strtab_size = out.size() - new_strtab_offset;

  AlignTo(out, 8);
  const size_t new_shoff = out.size();
  out.insert(out.end(), table.begin(), table.end());
  PutLe(out, new_shoff + strtab_header + 24, new_strtab_offset, 8);
  PutLe(out, new_shoff + strtab_header + 32, new_strtab_size, 8);
  Bytes note_header(livepatch::kSectionHeaderSize, 0);
  PutLe(note_header, 0, strtab_size, 4);  // the name's index: where it was appended
  PutLe(note_header, 4, kShtNote, 4);
  PutLe(note_header, 24, note_offset, 8);
  PutLe(note_header, 32, note_size, 8);
  PutLe(note_header, 48, 4, 8);  // sh_addralign
  out.insert(out.end(), note_header.begin(), note_header.end());
  PutLe(out, 40, new_shoff, 8);
  PutLe(out, 60, shnum + 1u, 2);
  return out;
}

bool SignNote(const Bytes& payload, EVP_PKEY* key, Bytes& out, Failure& failure) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    failure = {"format note needs an RSA key", kExitUsage};
    return false;
  }
  const size_t signature_size = static_cast<size_t>(EVP_PKEY_get_size(key));
  out = AddSignatureNote(payload, signature_size);
  livepatch::Payload parsed;
  Error error;
  if (livepatch::ParsePayload(Input(out.data(), out.size()), parsed, error) != Result::Success ||
      parsed.format != livepatch::Format::XenNote) {
    failure = {std::string("the noted payload does not parse: ") + ResultName(error.result)};
    return false;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t length = signature_size;
  Bytes signature(signature_size);
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), signature.data(), &length, out.data(), out.size()) != 1 ||
      length != signature_size) {
    failure = {"RSA signing failed" + OpenSslReason(), kExitUsage};
    return false;
  }
  std::memcpy(out.data() + parsed.note_signature_offset, signature.data(), signature_size);
  return true;
}

bool SignModule(const Bytes& payload, EVP_PKEY* key, X509* cert, Bytes& out, Failure& failure) {
  BioPtr content(BIO_new_mem_buf(payload.data(), static_cast<int>(payload.size())));
  constexpr unsigned kFlags = CMS_NOCERTS | CMS_BINARY | CMS_DETACHED | CMS_PARTIAL;
  CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, kFlags));
  const bool built =
      content && cms &&
      CMS_add1_signer(cms.get(), cert, key, EVP_sha256(),
                      CMS_NOCERTS | CMS_BINARY | CMS_NOSMIMECAP | CMS_NOATTR) != nullptr &&
      CMS_final(cms.get(), content.get(), nullptr, kFlags) == 1;
  unsigned char* der = nullptr;
  const int der_length = built ? i2d_CMS_ContentInfo(cms.get(), &der) : -1;
  if (der_length <= 0) {
    failure = {"CMS signing failed" + OpenSslReason(), kExitUsage};
    return false;
  }
  out = payload;
  out.insert(out.end(), der, der + der_length);
  OPENSSL_free(der);
  const uint8_t info[livepatch::kModuleSignatureInfoSize] = {
      0, 0, livepatch::kPkeyIdPkcs7, 0, 0, 0, 0, 0,
      static_cast<uint8_t>(der_length >> 24), static_cast<uint8_t>(der_length >> 16),
      static_cast<uint8_t>(der_length >> 8), static_cast<uint8_t>(der_length)};
  out.insert(out.end(), info, info + sizeof info);
  out.insert(out.end(), livepatch::kModuleSignatureMarker,
             livepatch::kModuleSignatureMarker + livepatch::kModuleSignatureMarkerSize);
  return true;
}

bool Sign(const SignLivepatchOptions& options, Bytes& out, Failure& failure) {
  Bytes payload;
  std::string io_error;
  if (!ReadWholeFile(options.payload, payload, io_error)) {
    failure = {io_error, kExitUsage};
    return false;
  }
  if (!CheckUnsigned(payload, failure)) return false;
  PkeyPtr key;
  if (!LoadPrivateKey(options.key, key, failure)) return false;
  X509Ptr cert;
  if (options.format == "modsig" && options.cert.empty()) {
    failure = {"format modsig needs --cert", kExitUsage};
    return false;
  }
  if (!options.cert.empty() && !LoadSignerCertificate(options.cert, key.get(), options.key, cert, failure)) {
    return false;
  }
  if (options.format == "note") return SignNote(payload, key.get(), out, failure);
  return SignModule(payload, key.get(), cert.get(), out, failure);
}

}  // namespace

int RunSignLivepatch(const GlobalOptions&, const SignLivepatchOptions& options) {
  Bytes out;
  Failure failure;
  if (!Sign(options, out, failure)) {
    std::fprintf(stderr, "hvsig sign livepatch: %s: %s\n", options.payload.c_str(),
                 failure.message.c_str());
    return failure.exit_code;
  }
  if (!WriteOutput(options.output, out, failure)) {
    std::fprintf(stderr, "hvsig sign livepatch: %s\n", failure.message.c_str());
    return failure.exit_code;
  }
  return kExitOk;
}

}  // namespace hvsig::tools
