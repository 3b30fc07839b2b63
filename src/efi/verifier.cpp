// hvsig-verify.efi's use of the core: the builtin keyring from the compiled-in certificates
// (kBuiltinKeys, generated from HVSIG_EFI_TRUST_ANCHORS), an optional dbx, and the kexec policy.
// Compiled with the core's freestanding flags; all state lives in the caller's context.
#include "efi/verifier.h"

#include <new>

#include "hvsig/authenticode.h"
#include "hvsig/crypto_builtin.h"
#include "hvsig/efi.h"
#include "hvsig/keyring.h"
#include "hvsig/policy.h"

namespace {

using namespace hvsig;

// Debian's and Microsoft's signatures are under 16 KiB; a kernel with more is refused.
constexpr size_t kSignatureStorage = 64 * 1024;

struct Context {
  keyring::Keyring builtin;
  keyring::Keyring blacklist;
  authenticode::Verification verification;
  policy::Decision decision;
  uint8_t signatures[kSignatureStorage];
};

Context& ContextOf(void* context) { return *static_cast<Context*>(context); }

void Hex(const uint8_t* bytes, size_t length, char* out) {
  constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < length; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  out[2 * length] = '\0';
}

}  // namespace

extern "C" size_t hvsig_efi_context_size(void) { return sizeof(Context); }

extern "C" const char* hvsig_efi_setup(void* storage, const uint8_t* dbx, size_t dbx_size,
                                       uint64_t* offset) {
  Context& c = *new (storage) Context{};
  const CryptoProvider& provider = BuiltinProvider();
  keyring::Init(c.builtin, keyring::KeyringId::Builtin);
  keyring::Init(c.blacklist, keyring::KeyringId::Blacklist);
  size_t index = 0;
  der::Error der_error;
  const Result loaded =
      keyring::LoadBuiltin(provider, keyring::kBuiltinKeys, c.builtin, index, der_error);
  if (loaded != Result::Success) {
    *offset = der_error.offset;
    return ResultName(loaded);
  }
  if (dbx_size == 0) return nullptr;
  efi::SignatureDatabase database{};
  Error error;
  Result r = efi::OpenSignatureDatabase(Input(dbx, dbx_size), efi::VariableFormat::Auto, "dbx",
                                        database, error);
  if (r == Result::Success) {
    r = keyring::AddSignatureLists(provider, c.blacklist, database.lists, database.lists_offset,
                                   keyring::Origin::Dbx, error);
  }
  if (r != Result::Success) {
    *offset = error.offset;
    return ResultName(error.result);
  }
  return nullptr;
}

extern "C" void hvsig_efi_verify(void* storage, const uint8_t* image, size_t size,
                                 hvsig_efi_verdict* out) {
  Context& c = ContextOf(storage);
  const CryptoProvider& provider = BuiltinProvider();
  const policy::Policy policy = policy::DefaultPolicy(policy::Purpose::Kexec);
  policy::Keyrings keyrings{};
  keyrings.rings[static_cast<size_t>(keyring::KeyringId::Builtin)] = &c.builtin;
  keyrings.rings[static_cast<size_t>(keyring::KeyringId::Blacklist)] = &c.blacklist;

  authenticode::Options options;  // strict profile; no clock here, so no validity periods
  policy::PrepareOptions(policy, keyrings, options);
  // The digest printed is SHA-256 whatever the signature uses, to compare with `hvsig digest`.
  options.extra_digests |= 1u << static_cast<unsigned>(DigestAlg::Sha256);

  MemoryImage memory(Input(image, size));
  const ImageSource source = memory.Source();
  authenticode::Verification& v = c.verification;
  const MutableBytes signatures{c.signatures, sizeof c.signatures};
  if (authenticode::Prepare(provider, source, options, signatures, v) == Result::Success) {
    authenticode::Hash(source, nullptr, v);
  }
  policy::Decide(provider, source, keyrings, policy, options, v, c.decision);

  const policy::Decision& d = c.decision;
  out->accepted = d.accepted;
  out->verdict = policy::VerdictName(d.verdict);
  out->reason = ResultName(d.error.result);
  out->reason_offset = d.error.offset;
  __builtin_memcpy(out->sha256, "none", 5);
  if (!v.hashed) return;
  for (uint8_t i = 0; i < v.digest_count; ++i) {
    if (v.digest_algs[i] == DigestAlg::Sha256) Hex(v.digests[i], 32, out->sha256);
  }
}
