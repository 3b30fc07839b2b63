// The livepatch purpose: one decision per uploaded payload (include/hvsig/policy.h). Order:
// measure, check the payload's structure (livepatch::ParsePayload), refuse formats the policy
// does not accept, verify the signature of the one format present, then let the mode and secure
// boot decide acceptance.
#include "hvsig/policy.h"

namespace hvsig::policy {
namespace {

using keyring::Keyring;
using keyring::KeyringBit;
using keyring::KeyringId;

Result Reject(LivepatchDecision& out, Result r, uint64_t offset) {
  out.verdict = LivepatchVerdict::Rejected;
  out.error = Error{r, offset};
  return r;
}

// The blacklist never vouches, whatever the policy's mask says.
uint8_t Vouching(const LivepatchPolicy& policy) {
  return static_cast<uint8_t>(policy.keyrings & ~KeyringBit(KeyringId::Blacklist));
}

Result JudgeNote(const CryptoProvider& provider, const Keyrings& keyrings,
                 const LivepatchPolicy& policy, const livepatch::Payload& payload,
                 LivepatchDecision& out) {
  uint8_t digest[32];
  HVSIG_TRY(livepatch::DigestForNote(provider, payload, digest));
  const Input digest_view(digest, sizeof digest);
  const keyring::RawKey* vouched = nullptr;
  for (size_t r = 0; r < keyring::kKeyringCount && vouched == nullptr; ++r) {
    const Keyring* ring = keyrings.rings[r];
    if (ring == nullptr || !(Vouching(policy) & KeyringBit(ring->id))) continue;
    for (size_t k = 0; k < ring->raw_key_count && vouched == nullptr; ++k) {
      // A key of another size fails on the signature's length: it simply does not vouch.
      if (provider.verify_rsa_pkcs1(provider, ring->raw_keys[k].rsa, DigestAlg::Sha256,
                                    digest_view, payload.note_signature) != Result::Success) {
        continue;
      }
      vouched = &ring->raw_keys[k];
      out.has_keyring = true;
      out.keyring = ring->id;
    }
  }
  if (vouched == nullptr) return Reject(out, Result::NotTrusted, payload.note_signature_offset);
  out.signer_kind = SignerKind::RawKey;
  __builtin_memcpy(out.signer_sha256, vouched->spki_sha256, sizeof out.signer_sha256);
  const Keyring* blacklist = keyrings.rings[static_cast<size_t>(KeyringId::Blacklist)];
  if (blacklist != nullptr && keyring::FindRawKey(*blacklist, vouched->spki_sha256) >= 0) {
    return Reject(out, Result::RevokedRawKey, payload.note_signature_offset);
  }
  out.verdict = LivepatchVerdict::Trusted;
  return Result::Success;
}

Result JudgeModuleSignature(const CryptoProvider& provider, const Keyrings& keyrings,
                            const LivepatchPolicy& policy, LivepatchContext& context,
                            LivepatchDecision& out) {
  const livepatch::Payload& payload = context.payload;
  authenticode::DetachedVerification& d = context.detached;
  if (authenticode::PrepareDetached(payload.pkcs7, d) == Result::Success) {
    const pkcs7::SignerInfo& signer = d.signed_data.signer;
    // pkcs7_verify(VERIFYING_MODULE_SIGNATURE) refuses authenticated attributes.
    if (signer.has_signed_attributes) {
      return Reject(out, Result::ModsigHasSignedAttributes,
                    payload.pkcs7_offset +
                        static_cast<uint64_t>(signer.signed_attributes.data() - payload.pkcs7.data()));
    }
    MemoryImage content(payload.elf);
    authenticode::HashDetached(provider, content.Source(), d);
  }
  Policy detached = DefaultPolicy(Purpose::Livepatch);
  detached.mode = policy.mode;
  detached.first_keyrings = Vouching(policy);
  detached.fallback_keyrings = 0;
  Decision& decision = context.detached_decision;
  DecideDetached(provider, keyrings, detached, authenticode::Options{}, d, decision);
  if (decision.verdict != Verdict::Trusted) {
    // Reading the content cannot fail (it is in memory); every other offset is the blob's.
    return Reject(out, decision.error.result, payload.pkcs7_offset + decision.error.offset);
  }
  out.has_keyring = decision.has_keyring;
  out.keyring = decision.keyring;
  out.signer_kind = SignerKind::Certificate;
  out.signer = decision.audit.signer;
  HVSIG_TRY(DigestOnce(provider, DigestAlg::Sha256, d.verdict.chain[0], out.signer_sha256));
  out.verdict = LivepatchVerdict::Trusted;
  return Result::Success;
}

Result Judge(const CryptoProvider& provider, Input file, const Keyrings& keyrings,
             const LivepatchPolicy& policy, LivepatchContext& context, LivepatchDecision& out) {
  HVSIG_TRY(DigestOnce(provider, DigestAlg::Sha256, file, out.payload_sha256));
  Error error;
  if (livepatch::ParsePayload(file, context.payload, error) != Result::Success) {
    out.malformed = true;
    return Reject(out, error.result, error.offset);
  }
  const livepatch::Payload& payload = context.payload;
  out.format = payload.format;
  out.func_count = payload.func_count;
  switch (payload.format) {
    case livepatch::Format::None:
      out.verdict = LivepatchVerdict::Unsigned;
      out.error = Error{Result::LivepatchNotSigned, 0};
      return Result::LivepatchNotSigned;
    case livepatch::Format::XenNote:
      if (!(policy.formats & livepatch::FormatBit(payload.format))) {
        return Reject(out, Result::LivepatchFormatNotAccepted, payload.note_signature_offset);
      }
      return JudgeNote(provider, keyrings, policy, payload, out);
    case livepatch::Format::ModuleSignature:
      if (!(policy.formats & livepatch::FormatBit(payload.format))) {
        return Reject(out, Result::LivepatchFormatNotAccepted, payload.pkcs7_offset);
      }
      return JudgeModuleSignature(provider, keyrings, policy, context, out);
  }
  return Reject(out, Result::InvalidArgument, 0);
}

bool Accepts(const LivepatchPolicy& policy, const LivepatchDecision& d) {
  if (d.verdict == LivepatchVerdict::Trusted) return true;
  if (policy.secure_boot || d.malformed) return false;
  if (policy.mode != Mode::Enforce) return true;
  return d.verdict == LivepatchVerdict::Unsigned && !policy.require_signature;
}

}  // namespace

const char* LivepatchVerdictName(LivepatchVerdict verdict) {
  switch (verdict) {
    case LivepatchVerdict::Trusted: return "trusted";
    case LivepatchVerdict::Unsigned: return "unsigned";
    case LivepatchVerdict::Rejected: return "rejected";
  }
  return "unknown";
}

const char* SignerKindName(SignerKind kind) {
  switch (kind) {
    case SignerKind::None: return "none";
    case SignerKind::Certificate: return "certificate";
    case SignerKind::RawKey: return "raw-key";
  }
  return "unknown";
}

LivepatchPolicy DefaultLivepatchPolicy(bool secure_boot) {
  LivepatchPolicy policy{};
  policy.mode = Mode::Enforce;
  policy.secure_boot = secure_boot;
  policy.require_signature = false;
  policy.formats = livepatch::FormatBit(livepatch::Format::XenNote) |
                   livepatch::FormatBit(livepatch::Format::ModuleSignature);
  policy.keyrings = DefaultPolicy(Purpose::Livepatch).first_keyrings;
  return policy;
}

Result DecideLivepatch(const CryptoProvider& provider, Input file, const Keyrings& keyrings,
                       const LivepatchPolicy& policy, LivepatchContext& context,
                       LivepatchDecision& out) {
  out = LivepatchDecision{};
  out.verdict = LivepatchVerdict::Rejected;
  const Result judged = Judge(provider, file, keyrings, policy, context, out);
  // A provider failure inside a step is the rejection when the step recorded none.
  if (out.verdict == LivepatchVerdict::Rejected && out.error.result == Result::Success) {
    Reject(out, judged, 0);
  }
  out.accepted = Accepts(policy, out);
  return out.error.result;
}

}  // namespace hvsig::policy
