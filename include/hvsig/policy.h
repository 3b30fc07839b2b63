// The verification policy: which keyrings may vouch for an image of a given purpose, revocation
// (dbx, MokListX), SBAT, authorization by image hash, and the audit record of each decision.
// Decisions and their reasons are in docs/policy.md.
//
//   authenticode::Options options;            // profile, trust_nested, check_time
//   policy::PrepareOptions(policy, keyrings, options);      // adds the digests the lists need
//   authenticode::Prepare(provider, image, options, storage, v);
//   while (authenticode::Hash(image, hook, v) == Result::Preempted) { ...yield... }
//   policy::Decide(provider, image, keyrings, policy, options, v, decision);
//
// Decide never trusts more than authenticode::Evaluate does: it runs Evaluate once per group of
// keyrings and adds rejections (revocation, SBAT, module-signing EKU, purpose).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hvsig/authenticode.h"
#include "hvsig/keyring.h"
#include "hvsig/livepatch.h"

namespace hvsig::policy {

enum class Purpose : uint8_t { Kexec, KexecCrash, Livepatch };
const char* PurposeName(Purpose purpose);  // "kexec", "kexec-crash", "livepatch"

// What a loader does with the decision (applied by the hypervisor, reported by the CLI):
// Enforce loads only Trusted or HashAuthorized images; Log verifies, reports and loads anyway;
// Off loads without verifying.
enum class Mode : uint8_t { Enforce, Log, Off };
const char* ModeName(Mode mode);  // "enforce", "log", "off"

// ---- SBAT (shim's SBAT.md) -----------------------------------------------------------------

constexpr size_t kMaxSbatEntries = 32;  // records in an image's .sbat or in an SbatLevel
constexpr size_t kMaxSbatSize = 4096;   // bytes of an image's .sbat section

struct SbatEntry {
  Input component;
  uint32_t generation;
  uint32_t offset;  // of the record in the parsed text
};

struct SbatList {
  uint8_t count;
  SbatEntry entries[kMaxSbatEntries];
};

// An image's .sbat section, strictly: records of exactly six comma-separated fields
// (component, generation, vendor, package, version, url), each ended by '\n'; the first record
// is the "sbat" component; a component is [A-Za-z0-9._-]+ and appears once; a generation is a
// decimal number 1..999999999 without leading zeros; the other fields are non-empty printable
// ASCII without ',' or '"'. The text ends at the first NUL, and only NULs may follow it.
// SbatMalformed (error.offset: the byte at fault) or SbatTooManyEntries.
Result ParseSbatSection(Input section, SbatList& out, Error& error);

// A revocation level as shim's SbatLevel variable holds it ("sbat,1,2021030218\ngrub,3\n"):
// records of a component and a generation, optionally a third field of digits (a datestamp,
// ignored), '\n'-separated, the final '\n' optional; first record "sbat"; each component once.
// SbatLevelMalformed or SbatTooManyEntries.
Result ParseSbatLevel(Input text, SbatList& out, Error& error);

// SbatRevoked if a component of image has a generation below level's for that component;
// image_index and level_index name the pair.
Result CheckSbat(const SbatList& image, const SbatList& level, size_t& image_index,
                 size_t& level_index);

// ---- Policy --------------------------------------------------------------------------------

struct Policy {
  Purpose purpose;
  Mode mode;
  // Keyrings (KeyringBit sets) whose certificates may vouch: first, and if none of those does,
  // fallback (Linux: builtin, secondary and machine, then platform). Blacklist never vouches.
  uint8_t first_keyrings;
  uint8_t fallback_keyrings;
  // A hash entry in db (platform) or MokList (machine), if that keyring may vouch, authorizes
  // an image with exactly that Authenticode digest, signed or not.
  bool hash_authorization;
  // Refuse signers with the module-signing EKU (as shim does for images).
  bool refuse_module_signing_eku;
  const SbatList* sbat_level;  // null: no SBAT check
  bool require_sbat;           // an image without .sbat fails when sbat_level is set
};

// kexec, kexec-crash: builtin+secondary+machine, then platform; hash authorization on.
// livepatch: builtin+secondary only; hash authorization off. Enforce, EKU refused, no SBAT.
Policy DefaultPolicy(Purpose purpose);

// The embedder's keyrings, indexed by KeyringId; null means empty.
struct Keyrings {
  const keyring::Keyring* rings[keyring::kKeyringCount];
};

// Adds to options.extra_digests every image-hash algorithm the blacklist lists, and those of
// db/MokList when the policy authorizes by hash.
void PrepareOptions(const Policy& policy, const Keyrings& keyrings, authenticode::Options& options);

enum class Verdict : uint8_t { Trusted, HashAuthorized, Rejected };
const char* VerdictName(Verdict verdict);  // "trusted", "hash-authorized", "rejected"

enum class RevocationKind : uint8_t {
  ImageHash,    // the image's digest
  Certificate,  // a signature's certificate (or its anchor) is, or is issued by, a revoked one
  TbsHash,      // a signature's certificate's TBS digest
};
const char* RevocationKindName(RevocationKind kind);  // "image-hash", "certificate", "tbs-hash"

struct RevocationHit {
  RevocationKind kind;
  keyring::Origin origin;  // dbx or MokListX (as the blacklist entry says)
  DigestAlg alg;           // ImageHash, TbsHash
  int8_t signature;        // verdict index, -1 for ImageHash
  uint32_t entry;          // index into the blacklist's hashes (hashes) or certificates
  Input certificate;       // the signature's certificate that is revoked (not ImageHash)
};
// Hits recorded per decision; revocation_count keeps counting past it.
constexpr size_t kMaxRevocationHits = 16;

struct Identity {
  bool present;
  uint8_t subject_sha256[32];  // SHA-256 of the subject Name's DER
  uint8_t serial_length;
  uint8_t serial[kMaxSerialLength];
};

// One per decision, fixed size, no pointers: what a hypervisor logs.
struct AuditRecord {
  Purpose purpose;
  Mode mode;
  Verdict verdict;
  bool accepted;          // what the mode makes of the verdict
  Result reason;          // Success for Trusted and HashAuthorized
  uint64_t reason_offset; // file offset of the check that decided a rejection
  uint8_t image_sha256[32];
  bool has_keyring;
  keyring::KeyringId keyring;  // the keyring that vouched or whose hash authorized
  int8_t signature;            // verdict index that vouched, -1 if none
  Identity signer;
  Identity anchor;
  uint16_t revocation_count;
};

struct Decision {
  Verdict verdict;
  bool accepted;
  Error error;            // the rejection's reason (Result) and file offset
  int8_t error_signature; // verdict index the rejection comes from, -1 if the image
  int8_t signature;       // verdict index that vouched, -1 if none
  bool has_keyring;
  keyring::KeyringId keyring;
  int32_t hash_entry;     // HashAuthorized: index into that keyring's hashes
  // Anchor groups of the last evaluation: a verdict's anchor_group indexes these.
  uint8_t group_count;
  keyring::KeyringId group_keyring[keyring::kKeyringCount];
  authenticode::AnchorSet groups[keyring::kKeyringCount];
  size_t revocation_count;
  RevocationHit revocations[kMaxRevocationHits];
  bool has_sbat;
  SbatList image_sbat;
  uint8_t sbat_text[kMaxSbatSize];
  AuditRecord audit;
  Certificate scratch;  // keeps certificates off the stack
};

// Decides after authenticode::Prepare and Hash (or after Prepare failed: the decision is then
// that rejection). The Result is the decision's reason; Success for Trusted/HashAuthorized.
Result Decide(const CryptoProvider& provider, const ImageSource& image, const Keyrings& keyrings,
              const Policy& policy, const authenticode::Options& options,
              authenticode::Verification& v, Decision& out);

// The same for a detached signature over content the caller hashed (authenticode::
// PrepareDetached, HashDetached): trust through the purpose's keyrings (first, then fallback),
// revocation of the signature's certificates and its anchor. No SBAT, no hash authorization,
// no module-signing EKU refusal (module-signing keys are what sign such content). The audit's
// image_sha256 is the content's SHA-256 when the signer used SHA-256.
Result DecideDetached(const CryptoProvider& provider, const Keyrings& keyrings,
                      const Policy& policy, const authenticode::Options& options,
                      authenticode::DetachedVerification& d, Decision& out);

// ---- Livepatch payloads (purpose livepatch; docs/livepatch.md) ------------------------------
//
// One call per upload: the payload's SHA-256 (the measurement, whatever the payload is), then
// livepatch::ParsePayload (Xen's ELF checks, the signature containers' structure: no
// signature work when they fail), then the signature of the format found:
//   XenNote          the first raw RSA key of the policy's keyrings that verifies it vouches;
//                    a blacklisted raw key (same SPKI fingerprint) is RevokedRawKey;
//   ModuleSignature  Linux's module rules: PKCS#7 over id-data, detached, no signed attributes
//                    (ModsigHasSignedAttributes), signer by issuer+serial or SKID in the
//                    policy's keyrings or chained to them, then DecideDetached's revocation.
// What a hypervisor returns to XEN_SYSCTL_LIVEPATCH_UPLOAD:
//   accepted                   0
//   Unsigned, not accepted     -EPERM under secure boot, else -ENODATA
//   Rejected, malformed        -EINVAL (what Xen's own ELF checks return)
//   Rejected, otherwise        -EKEYREJECTED

enum class LivepatchVerdict : uint8_t { Trusted, Unsigned, Rejected };
const char* LivepatchVerdictName(LivepatchVerdict verdict);  // "trusted", "unsigned", "rejected"

struct LivepatchPolicy {
  // Enforce: only Trusted, or Unsigned when no signature is required, is accepted. Log and Off
  // accept anything that passes the ELF checks, except under secure boot.
  Mode mode;
  // Secure boot requires a trusted signature whatever the mode (Xen's -EPERM).
  bool secure_boot;
  bool require_signature;  // the same without secure boot
  uint8_t formats;         // livepatch::FormatBit set of the signature formats accepted
  uint8_t keyrings;        // KeyringBit set whose certificates and raw keys vouch
};

// Enforce, both formats, builtin+secondary (as DefaultPolicy(Purpose::Livepatch)), signature
// required only under secure boot.
LivepatchPolicy DefaultLivepatchPolicy(bool secure_boot);

enum class SignerKind : uint8_t { None, Certificate, RawKey };
const char* SignerKindName(SignerKind kind);  // "none", "certificate", "raw-key"

// Fixed size, no pointers: what a hypervisor logs and measures.
struct LivepatchDecision {
  LivepatchVerdict verdict;
  bool accepted;
  bool malformed;            // ParsePayload refused it: no signature was looked at
  Error error;               // reason (Success when Trusted, LivepatchNotSigned when Unsigned)
                             // and its file offset
  livepatch::Format format;  // the container found (None when malformed or unsigned)
  uint32_t func_count;       // .livepatch.funcs entries
  bool has_keyring;
  keyring::KeyringId keyring;  // the keyring that vouched
  SignerKind signer_kind;
  uint8_t signer_sha256[32];   // SHA-256 of the signer certificate's DER, or of the raw key's SPKI
  Identity signer;             // Certificate: subject digest and serial
  uint8_t payload_sha256[32];  // SHA-256 of the whole file as uploaded
};

// Caller-owned storage for one decision (about 8 KiB: allocate it, not on a hypervisor stack).
struct LivepatchContext {
  livepatch::Payload payload;
  authenticode::DetachedVerification detached;
  Decision detached_decision;
};

// The Result is the decision's reason (out.error.result). file must stay unchanged during the call.
Result DecideLivepatch(const CryptoProvider& provider, Input file, const Keyrings& keyrings,
                       const LivepatchPolicy& policy, LivepatchContext& context,
                       LivepatchDecision& out);

}  // namespace hvsig::policy
