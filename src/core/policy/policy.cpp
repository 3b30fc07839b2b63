// The verification policy. Order of judgement, each step able only to reject:
//   1. the verifier's own rejections of the image (format, digest mismatch in strict, ...);
//   2. revocation: the image digest in every algorithm the blacklist lists, every certificate
//      of every signature (nested too) and every anchor that vouched, by DER, by subject+key,
//      by issuer, and by TBS hash; any hit rejects even if another signature is trusted;
//   3. SBAT against the level, when one is given;
//   4. trust: a signature vouched for by the purpose's keyrings (first, then fallback) whose
//      signer is not a module-signing key, or else an authorizing hash in db/MokList.
#include "hvsig/policy.h"

namespace hvsig::policy {
namespace {

using keyring::Keyring;
using keyring::KeyringBit;
using keyring::KeyringId;

// Linux's order: the system keyrings (machine is linked into secondary), then platform.
constexpr KeyringId kVouchOrder[] = {KeyringId::Builtin, KeyringId::Secondary, KeyringId::Machine,
                                     KeyringId::Platform};
constexpr uint8_t kAllVouching = KeyringBit(KeyringId::Builtin) |
                                 KeyringBit(KeyringId::Secondary) |
                                 KeyringBit(KeyringId::Machine) | KeyringBit(KeyringId::Platform);

const Keyring* Ring(const Keyrings& keyrings, KeyringId id) {
  return keyrings.rings[static_cast<size_t>(id)];
}

Result Reject(Decision& out, Result r, uint64_t offset, int8_t signature) {
  out.verdict = Verdict::Rejected;
  out.error = Error{r, offset};
  out.error_signature = signature;
  return r;
}

void RecordHit(Decision& out, const RevocationHit& hit) {
  if (out.revocation_count < kMaxRevocationHits) out.revocations[out.revocation_count] = hit;
  ++out.revocation_count;
}

// The anchor groups for the keyrings in mask (in kVouchOrder), chained for the verifier.
bool BuildGroups(const Keyrings& keyrings, uint8_t mask, Decision& out) {
  out.group_count = 0;
  for (KeyringId id : kVouchOrder) {
    const Keyring* ring = Ring(keyrings, id);
    if (!(mask & KeyringBit(id)) || ring == nullptr || ring->certificate_count == 0) continue;
    out.group_keyring[out.group_count] = id;
    out.groups[out.group_count] =
        authenticode::AnchorSet{ring->certificates, ring->certificate_count, nullptr};
    if (out.group_count > 0) out.groups[out.group_count - 1].next = &out.groups[out.group_count];
    ++out.group_count;
  }
  return out.group_count > 0;
}

// The verdict that makes the image trusted under the purpose, or -1. Signatures the verifier
// trusted but whose signer is a module-signing key are passed over (eku_refused counts them).
Result PickTrusted(const CryptoProvider& provider, const Policy& policy,
                   const authenticode::Options& options, authenticode::Verification& v,
                   Decision& out, int8_t& picked, int8_t& eku_refused) {
  picked = -1;
  if (v.verdict != Result::Success) return Result::Success;
  for (uint8_t i = 0; i < v.verdict_count && picked < 0; ++i) {
    const authenticode::SignatureVerdict& s = v.verdicts[i];
    if (s.status != Result::Success || (s.parent >= 0 && !options.trust_nested)) continue;
    if (policy.refuse_module_signing_eku) {
      HVSIG_TRY(ParseCertificate(provider, s.chain[0], out.scratch));
      if (HasExtKeyUsage(out.scratch, kOidEkuModuleSigning)) {
        if (eku_refused < 0) eku_refused = static_cast<int8_t>(i);
        continue;
      }
    }
    picked = static_cast<int8_t>(i);
  }
  return Result::Success;
}

// Runs the verifier with the keyrings in mask; picked is the vouching verdict or -1.
Result EvaluateWith(const CryptoProvider& provider, const Keyrings& keyrings, uint8_t mask,
                    const Policy& policy, const authenticode::Options& options,
                    authenticode::Verification& v, Decision& out, int8_t& picked,
                    int8_t& eku_refused) {
  picked = -1;
  if (!BuildGroups(keyrings, mask, out)) {
    static constexpr authenticode::AnchorSet kNone{nullptr, 0, nullptr};
    authenticode::Evaluate(provider, kNone, options, v);
    return Result::Success;
  }
  authenticode::Evaluate(provider, out.groups[0], options, v);
  return PickTrusted(provider, policy, options, v, out, picked, eku_refused);
}

void CheckImageHashes(const Keyring& blacklist, const authenticode::Verification& v,
                      Decision& out) {
  for (uint8_t d = 0; d < v.digest_count; ++d) {
    const int32_t entry =
        keyring::FindHash(blacklist, keyring::HashKind::Image, v.digest_algs[d], v.digests[d]);
    if (entry < 0) continue;
    RecordHit(out, RevocationHit{RevocationKind::ImageHash, blacklist.hashes[entry].origin,
                                 v.digest_algs[d], -1, static_cast<uint32_t>(entry), Input()});
  }
}

// Revocation of one certificate (parsed in out.scratch) found in signature `signature`.
Result CheckCertificate(const CryptoProvider& provider, const Keyring& blacklist,
                        int8_t signature, Decision& out) {
  const Certificate& cert = out.scratch;
  int32_t entry = -1;
  for (size_t i = 0; i < blacklist.certificate_count && entry < 0; ++i) {
    if (blacklist.certificates[i].der == cert.der) entry = static_cast<int32_t>(i);
  }
  if (entry < 0) entry = keyring::FindBySubjectKey(blacklist, cert.subject, cert.key.der);
  if (entry < 0) entry = keyring::FindIssuer(provider, blacklist, cert);
  if (entry >= 0) {
    RecordHit(out, RevocationHit{RevocationKind::Certificate,
                                 blacklist.certificate_origin[entry], DigestAlg::Sha256, signature,
                                 static_cast<uint32_t>(entry), cert.der});
  }
  for (size_t i = 0; i < blacklist.hash_count; ++i) {
    const keyring::HashEntry& hash = blacklist.hashes[i];
    if (hash.kind != keyring::HashKind::Tbs) continue;
    uint8_t digest[kMaxDigestLength];
    HVSIG_TRY(DigestOnce(provider, hash.alg, cert.tbs, digest));
    if (__builtin_memcmp(digest, hash.value.data(), hash.value.size()) != 0) continue;
    RecordHit(out, RevocationHit{RevocationKind::TbsHash, hash.origin, hash.alg, signature,
                                 static_cast<uint32_t>(i), cert.der});
  }
  return Result::Success;
}

// Every certificate signature s carries, and the anchor it reached.
Result CheckSignatureCertificates(const CryptoProvider& provider, const Keyring& blacklist,
                                  const pkcs7::SignedData& sd,
                                  const authenticode::SignatureVerdict& verdict, int8_t s,
                                  uint64_t der_offset, Decision& out) {
  for (uint8_t c = 0; c < sd.certificate_count; ++c) {
    Result r = ParseCertificate(provider, sd.certificates[c], out.scratch);
    if (r != Result::Success) return Reject(out, r, der_offset, s);
    HVSIG_TRY(CheckCertificate(provider, blacklist, s, out));
  }
  if (verdict.anchor_group < 0) return Result::Success;
  out.scratch = out.groups[verdict.anchor_group].certificates[verdict.anchor_index];
  return CheckCertificate(provider, blacklist, s, out);
}

Result CheckCertificates(const CryptoProvider& provider, const Keyring& blacklist,
                         const authenticode::Verification& v, Decision& out) {
  for (uint8_t s = 0; s < v.verdict_count; ++s) {
    HVSIG_TRY(CheckSignatureCertificates(provider, blacklist, v.signed_data[s], v.verdicts[s],
                                         static_cast<int8_t>(s), v.der_offset[s], out));
  }
  return Result::Success;
}

Result RevocationResult(RevocationKind kind) {
  switch (kind) {
    case RevocationKind::ImageHash: return Result::RevokedImageHash;
    case RevocationKind::Certificate: return Result::RevokedCertificate;
    case RevocationKind::TbsHash: return Result::RevokedTbsHash;
  }
  return Result::RevokedCertificate;
}

Result CheckSbatOf(const ImageSource& image, const Policy& policy,
                   const authenticode::Verification& v, Decision& out) {
  static constexpr char kName[8] = {'.', 's', 'b', 'a', 't', 0, 0, 0};
  const pe::Section* section = nullptr;
  for (uint16_t i = 0; i < v.pe.section_count && section == nullptr; ++i) {
    if (__builtin_memcmp(v.pe.sections[i].name, kName, sizeof kName) == 0) {
      section = &v.pe.sections[i];
    }
  }
  if (section == nullptr) {
    if (policy.require_sbat) return Reject(out, Result::SbatMissing, 0, -1);
    return Result::Success;
  }
  // Past VirtualSize the raw data is file-alignment padding.
  uint32_t size = section->size_of_raw_data;
  if (section->virtual_size != 0 && section->virtual_size < size) size = section->virtual_size;
  if (size > kMaxSbatSize) {
    return Reject(out, Result::SbatTooLarge, section->pointer_to_raw_data, -1);
  }
  if (ReadImage(image, section->pointer_to_raw_data, out.sbat_text, size) != Result::Success) {
    return Reject(out, Result::ImageReadFailed, section->pointer_to_raw_data, -1);
  }
  out.has_sbat = true;
  Error error;
  if (ParseSbatSection(Input(out.sbat_text, size), out.image_sbat, error) != Result::Success) {
    return Reject(out, error.result, section->pointer_to_raw_data + error.offset, -1);
  }
  size_t image_index = 0;
  size_t level_index = 0;
  if (CheckSbat(out.image_sbat, *policy.sbat_level, image_index, level_index) !=
      Result::Success) {
    return Reject(out, Result::SbatRevoked,
                  section->pointer_to_raw_data + out.image_sbat.entries[image_index].offset, -1);
  }
  return Result::Success;
}

// An image-hash entry of a vouching db/MokList equal to the image's digest.
bool FindAuthorizingHash(const Keyrings& keyrings, uint8_t mask,
                         const authenticode::Verification& v, Decision& out) {
  for (KeyringId id : kVouchOrder) {
    const Keyring* ring = Ring(keyrings, id);
    if (!(mask & KeyringBit(id)) || ring == nullptr) continue;
    for (uint8_t d = 0; d < v.digest_count; ++d) {
      const int32_t entry =
          keyring::FindHash(*ring, keyring::HashKind::Image, v.digest_algs[d], v.digests[d]);
      if (entry < 0) continue;
      out.has_keyring = true;
      out.keyring = id;
      out.hash_entry = entry;
      return true;
    }
  }
  return false;
}

Result SetIdentity(const CryptoProvider& provider, const Certificate& cert, Identity& id) {
  id.present = true;
  HVSIG_TRY(DigestOnce(provider, DigestAlg::Sha256, cert.subject, id.subject_sha256));
  id.serial_length = static_cast<uint8_t>(cert.serial.size());
  __builtin_memcpy(id.serial, cert.serial.data(), cert.serial.size());
  return Result::Success;
}

// The audit identities of the signature that vouched.
Result SetSignerAndAnchor(const CryptoProvider& provider, const authenticode::SignatureVerdict& s,
                          Decision& out) {
  HVSIG_TRY(ParseCertificate(provider, s.chain[0], out.scratch));
  HVSIG_TRY(SetIdentity(provider, out.scratch, out.audit.signer));
  return SetIdentity(provider, out.groups[s.anchor_group].certificates[s.anchor_index],
                     out.audit.anchor);
}

// sha256: what was judged (image or content), null if unknown; vouched: the signature that
// vouched, null if none.
Result FillAudit(const CryptoProvider& provider, const Policy& policy, const uint8_t* sha256,
                 const authenticode::SignatureVerdict* vouched, Decision& out) {
  AuditRecord& a = out.audit;
  __builtin_memset(&a, 0, sizeof a);
  a.purpose = policy.purpose;
  a.mode = policy.mode;
  a.verdict = out.verdict;
  a.accepted = out.accepted;
  a.reason = out.error.result;
  a.reason_offset = out.error.offset;
  if (sha256 != nullptr) __builtin_memcpy(a.image_sha256, sha256, 32);
  a.has_keyring = out.has_keyring;
  a.keyring = out.keyring;
  a.signature = out.signature;
  a.revocation_count = static_cast<uint16_t>(out.revocation_count > 0xffff ? 0xffff
                                                                           : out.revocation_count);
  if (vouched == nullptr) return Result::Success;
  return SetSignerAndAnchor(provider, *vouched, out);
}

// Steps 1-4 (see the top of the file); Decide wraps them with the mode and the audit record.
Result Judge(const CryptoProvider& provider, const ImageSource& image, const Keyrings& keyrings,
             const Policy& policy, const authenticode::Options& options,
             authenticode::Verification& v, Decision& out) {
  if (!v.hashed) return Reject(out, v.error.result, v.error.offset, v.error_signature);

  // Trust first (the anchors it reaches are checked for revocation), judged last.
  const uint8_t vouching = policy.first_keyrings | policy.fallback_keyrings;
  int8_t picked = -1;
  int8_t eku_refused = -1;
  HVSIG_TRY(EvaluateWith(provider, keyrings, policy.first_keyrings, policy, options, v, out,
                         picked, eku_refused));
  const Error first_error = v.error;
  const int8_t first_error_signature = v.error_signature;
  if (picked < 0 && v.pe.is_signed() && policy.fallback_keyrings != 0) {
    HVSIG_TRY(EvaluateWith(provider, keyrings, policy.fallback_keyrings, policy, options, v, out,
                           picked, eku_refused));
  }
  // Would a keyring the purpose does not accept vouch? Then that is the reason.
  bool other_keyring_vouches = false;
  const uint8_t others = kAllVouching & static_cast<uint8_t>(~vouching);
  if (picked < 0 && v.pe.is_signed() && others != 0) {
    int8_t other = -1;
    int8_t ignored = -1;
    HVSIG_TRY(EvaluateWith(provider, keyrings, others, policy, options, v, out, other, ignored));
    other_keyring_vouches = other >= 0;
  }

  // A rejection of the image's form stands whatever the keyrings say.
  const bool form_rejected = v.pe.is_signed() && first_error.result != Result::NotTrusted &&
                             first_error.result != Result::Success;
  if (form_rejected && picked < 0) {
    return Reject(out, first_error.result, first_error.offset, first_error_signature);
  }

  const Keyring* blacklist = Ring(keyrings, KeyringId::Blacklist);
  if (blacklist != nullptr) {
    CheckImageHashes(*blacklist, v, out);
    HVSIG_TRY(CheckCertificates(provider, *blacklist, v, out));
    if (out.revocation_count > 0) {
      const RevocationHit& hit = out.revocations[0];
      const uint64_t offset = hit.signature < 0 ? 0 : v.der_offset[hit.signature];
      return Reject(out, RevocationResult(hit.kind), offset, hit.signature);
    }
  }
  if (policy.sbat_level != nullptr) HVSIG_TRY(CheckSbatOf(image, policy, v, out));

  if (picked >= 0) {
    const authenticode::SignatureVerdict& s = v.verdicts[picked];
    out.verdict = Verdict::Trusted;
    out.signature = picked;
    out.has_keyring = true;
    out.keyring = out.group_keyring[s.anchor_group];
    return Result::Success;
  }
  if (policy.hash_authorization && FindAuthorizingHash(keyrings, vouching, v, out)) {
    out.verdict = Verdict::HashAuthorized;
    return Result::Success;
  }
  if (eku_refused >= 0) {
    return Reject(out, Result::SignerModuleSigningEku, v.der_offset[eku_refused], eku_refused);
  }
  if (other_keyring_vouches) {
    return Reject(out, Result::PurposeKeyringNotAllowed, v.der_offset[v.trusted_by], v.trusted_by);
  }
  return Reject(out, first_error.result, first_error.offset, first_error_signature);
}

}  // namespace

const char* PurposeName(Purpose purpose) {
  switch (purpose) {
    case Purpose::Kexec: return "kexec";
    case Purpose::KexecCrash: return "kexec-crash";
    case Purpose::Livepatch: return "livepatch";
  }
  return "unknown";
}

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::Enforce: return "enforce";
    case Mode::Log: return "log";
    case Mode::Off: return "off";
  }
  return "unknown";
}

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::Trusted: return "trusted";
    case Verdict::HashAuthorized: return "hash-authorized";
    case Verdict::Rejected: return "rejected";
  }
  return "unknown";
}

const char* RevocationKindName(RevocationKind kind) {
  switch (kind) {
    case RevocationKind::ImageHash: return "image-hash";
    case RevocationKind::Certificate: return "certificate";
    case RevocationKind::TbsHash: return "tbs-hash";
  }
  return "unknown";
}

Policy DefaultPolicy(Purpose purpose) {
  Policy policy{};
  policy.purpose = purpose;
  policy.mode = Mode::Enforce;
  policy.refuse_module_signing_eku = true;
  policy.first_keyrings = KeyringBit(KeyringId::Builtin) | KeyringBit(KeyringId::Secondary);
  if (purpose == Purpose::Livepatch) return policy;
  policy.first_keyrings |= KeyringBit(KeyringId::Machine);
  policy.fallback_keyrings = KeyringBit(KeyringId::Platform);
  policy.hash_authorization = true;
  return policy;
}

void PrepareOptions(const Policy& policy, const Keyrings& keyrings,
                    authenticode::Options& options) {
  for (size_t r = 0; r < keyring::kKeyringCount; ++r) {
    const Keyring* ring = keyrings.rings[r];
    if (ring == nullptr) continue;
    const bool wanted = ring->id == KeyringId::Blacklist ||
                        (policy.hash_authorization &&
                         ((policy.first_keyrings | policy.fallback_keyrings) & KeyringBit(ring->id)));
    if (!wanted) continue;
    for (size_t i = 0; i < ring->hash_count; ++i) {
      if (ring->hashes[i].kind != keyring::HashKind::Image) continue;
      options.extra_digests |= 1u << static_cast<unsigned>(ring->hashes[i].alg);
    }
  }
}

namespace {

void ResetDecision(Decision& out) {
  out.verdict = Verdict::Rejected;
  out.error = Error{};
  out.error_signature = -1;
  out.signature = -1;
  out.has_keyring = false;
  out.keyring = KeyringId::Builtin;
  out.hash_entry = -1;
  out.group_count = 0;
  out.revocation_count = 0;
  out.has_sbat = false;
  out.image_sbat.count = 0;
}

// After judging: a step that failed inside (a provider error) rather than judging is the
// rejection; the mode decides acceptance.
void Conclude(Result judged, const Policy& policy, Decision& out) {
  if (out.verdict == Verdict::Rejected && out.error.result == Result::Success) {
    Reject(out, judged, 0, -1);
  }
  out.accepted = out.verdict != Verdict::Rejected || policy.mode != Mode::Enforce;
}

Result EvaluateDetachedWith(const CryptoProvider& provider, const Keyrings& keyrings, uint8_t mask,
                            const authenticode::Options& options,
                            authenticode::DetachedVerification& d, Decision& out) {
  if (!BuildGroups(keyrings, mask, out)) {
    static constexpr authenticode::AnchorSet kNone{nullptr, 0, nullptr};
    return authenticode::EvaluateDetached(provider, kNone, options, d);
  }
  return authenticode::EvaluateDetached(provider, out.groups[0], options, d);
}

// Steps 1, 2 and 4 of the top of the file for one detached signature. Content has no SBAT and
// no authorizing hash; a module-signing signer is what signs such content, so it is accepted.
Result JudgeDetached(const CryptoProvider& provider, const Keyrings& keyrings,
                     const Policy& policy, const authenticode::Options& options,
                     authenticode::DetachedVerification& d, Decision& out) {
  // Not hashed: the signature did not parse (signature 0) or the content could not be read.
  if (!d.hashed) {
    return Reject(out, d.error.result, d.error.offset,
                  d.error.result == Result::ImageReadFailed ? -1 : 0);
  }
  Result r = EvaluateDetachedWith(provider, keyrings, policy.first_keyrings, options, d, out);
  const Error first_error = d.error;
  if (r == Result::NotTrusted && policy.fallback_keyrings != 0) {
    r = EvaluateDetachedWith(provider, keyrings, policy.fallback_keyrings, options, d, out);
  }
  if (r != Result::Success && first_error.result != Result::NotTrusted) {
    return Reject(out, first_error.result, first_error.offset, 0);
  }
  const Keyring* blacklist = Ring(keyrings, KeyringId::Blacklist);
  if (blacklist != nullptr) {
    HVSIG_TRY(CheckSignatureCertificates(provider, *blacklist, d.signed_data, d.verdict, 0, 0, out));
    if (out.revocation_count > 0) {
      return Reject(out, RevocationResult(out.revocations[0].kind), 0, 0);
    }
  }
  if (r != Result::Success) return Reject(out, d.error.result, d.error.offset, 0);
  out.verdict = Verdict::Trusted;
  out.signature = 0;
  out.has_keyring = true;
  out.keyring = out.group_keyring[d.verdict.anchor_group];
  return Result::Success;
}

}  // namespace

Result Decide(const CryptoProvider& provider, const ImageSource& image, const Keyrings& keyrings,
              const Policy& policy, const authenticode::Options& options,
              authenticode::Verification& v, Decision& out) {
  ResetDecision(out);
  Conclude(Judge(provider, image, keyrings, policy, options, v, out), policy, out);
  const uint8_t* sha256 = nullptr;
  for (uint8_t d = 0; d < v.digest_count && v.hashed; ++d) {
    if (v.digest_algs[d] == DigestAlg::Sha256) sha256 = v.digests[d];
  }
  HVSIG_TRY(FillAudit(provider, policy, sha256,
                      out.signature < 0 ? nullptr : &v.verdicts[out.signature], out));
  return out.error.result;
}

Result DecideDetached(const CryptoProvider& provider, const Keyrings& keyrings,
                      const Policy& policy, const authenticode::Options& options,
                      authenticode::DetachedVerification& d, Decision& out) {
  ResetDecision(out);
  Conclude(JudgeDetached(provider, keyrings, policy, options, d, out), policy, out);
  const bool sha256 = d.hashed && d.signed_data.signer.digest_alg == DigestAlg::Sha256;
  HVSIG_TRY(FillAudit(provider, policy, sha256 ? d.content_digest : nullptr,
                      out.signature < 0 ? nullptr : &d.verdict, out));
  return out.error.result;
}

}  // namespace hvsig::policy
