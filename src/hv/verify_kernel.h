// The one place the kexec model asks the hvsig core about a kernel: the keyrings loaded at
// boot, the policy decision for purpose kexec / kexec-crash, and the mapping of the core's
// Result onto the errno the file-load op returns (docs/abi.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hvsig/crypto.h"
#include "hvsig/image.h"
#include "hvsig/keyring.h"
#include "hvsig/policy.h"

namespace hvsig::hv {

// What the firmware and the build hand to the keyrings at boot (DER certificates, EFI
// signature lists as db/dbx/MokList/MokListX hold them).
struct KeyringSources {
  std::vector<std::vector<uint8_t>> builtin_certs;
  std::vector<std::vector<uint8_t>> db_certs;        // platform
  std::vector<uint8_t> db_esl;                       // platform, EFI_SIGNATURE_LISTs
  std::vector<std::vector<uint8_t>> mok_certs;       // machine
  std::vector<uint8_t> mok_esl;                      // machine, MokList's EFI_SIGNATURE_LISTs
  std::vector<uint8_t> dbx_esl;                      // blacklist
  std::vector<uint8_t> mokx_esl;                     // blacklist, MokListX's EFI_SIGNATURE_LISTs
  std::vector<std::vector<uint8_t>> builtin_raw_keys;  // builtin, raw RSA keys as SPKI DER
};

// Keyrings parsed at boot. The certificates are views into `storage`.
struct BootKeyrings {
  std::vector<std::vector<uint8_t>> storage;
  keyring::Keyring rings[keyring::kKeyringCount];
  policy::Keyrings view;
  std::string load_error;  // empty, or what failed to load (the rings then hold what came before)
};

// One boot's keyrings, loaded once and shared read-only by that boot's kexec and livepatch
// models, as Xen holds one set (load_error says whether loading failed).
std::shared_ptr<const BootKeyrings> LoadBootKeyrings(const CryptoProvider& provider,
                                                     const KeyringSources& sources);

enum class KernelVerdict : uint8_t { None, Trusted, HashAuthorized, Rejected };
const char* KernelVerdictName(KernelVerdict verdict);

struct KernelCheck {
  int error = 0;                 // 0 or the negative errno of the rejection (even in mode log)
  KernelVerdict verdict = KernelVerdict::None;
  bool accepted = false;         // what the mode makes of it
  Result reason = Result::Success;
  uint64_t reason_offset = 0;
  bool has_digest = false;
  uint8_t sha256[32] = {};       // the Authenticode SHA-256
  policy::Identity signer{};
  policy::Identity anchor{};
  bool has_keyring = false;
  keyring::KeyringId keyring = keyring::KeyringId::Builtin;
};

// -ELIBBAD malformed PE, -EBADMSG malformed signature, -EKEYREJECTED bad signature / digest
// mismatch / revoked, -ENOKEY nothing permitted vouches, -ENODATA unsigned.
int ErrnoForResult(Result result);

KernelCheck VerifyKernel(const CryptoProvider& provider, const BootKeyrings& keyrings,
                         policy::Purpose purpose, policy::Mode mode, const ImageSource& kernel);

// The initrd against its detached PKCS#7/CMS signature (policy::DecideDetached), same keyrings
// and purpose. sha256 is the initrd's SHA-256 when the signer used SHA-256.
KernelCheck VerifyInitrd(const CryptoProvider& provider, const BootKeyrings& keyrings,
                         policy::Purpose purpose, policy::Mode mode, const ImageSource& initrd,
                         Input signature);

}  // namespace hvsig::hv
