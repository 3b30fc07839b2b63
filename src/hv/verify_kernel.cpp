#include "hv/verify_kernel.h"

#include <cerrno>
#include <cstring>

#include "hvsig/authenticode.h"
#include "hvsig/x509.h"

namespace hvsig::hv {
namespace {

using keyring::KeyringId;

std::string AddCertificates(const CryptoProvider& provider, const std::vector<std::vector<uint8_t>>& certs,
                            keyring::Origin origin, BootKeyrings& out, keyring::Keyring& ring) {
  for (const std::vector<uint8_t>& der : certs) {
    out.storage.push_back(der);
    const std::vector<uint8_t>& kept = out.storage.back();
    Certificate cert;
    Result r = ParseCertificate(provider, Input(kept.data(), kept.size()), cert);
    if (r == Result::Success) r = keyring::AddCertificate(ring, cert, origin);
    if (r != Result::Success) {
      return std::string(keyring::KeyringName(ring.id)) + ": " + ResultName(r);
    }
  }
  return {};
}

// Raw RSA keys (livepatch note signatures); the same key twice is kept once.
std::string AddRawKeys(const CryptoProvider& provider, const std::vector<std::vector<uint8_t>>& keys,
                       BootKeyrings& out, keyring::Keyring& ring) {
  for (const std::vector<uint8_t>& spki : keys) {
    out.storage.push_back(spki);
    const std::vector<uint8_t>& kept = out.storage.back();
    const Result r = keyring::AddRawRsaKeySpki(provider, ring, Input(kept.data(), kept.size()),
                                               keyring::Origin::Builtin);
    if (r != Result::Success) {
      return std::string(keyring::KeyringName(ring.id)) + " raw key: " + ResultName(r);
    }
  }
  return {};
}

std::string AddLists(const CryptoProvider& provider, const std::vector<uint8_t>& lists,
                     keyring::Origin origin, BootKeyrings& out, keyring::Keyring& ring) {
  if (lists.empty()) return {};
  out.storage.push_back(lists);
  const std::vector<uint8_t>& kept = out.storage.back();
  Error error;
  const Result r = keyring::AddSignatureLists(provider, ring, Input(kept.data(), kept.size()), 0,
                                              origin, error);
  if (r != Result::Success) return std::string(keyring::KeyringName(ring.id)) + ": " + ResultName(r);
  return {};
}

KernelVerdict FromPolicy(policy::Verdict verdict) {
  switch (verdict) {
    case policy::Verdict::Trusted: return KernelVerdict::Trusted;
    case policy::Verdict::HashAuthorized: return KernelVerdict::HashAuthorized;
    case policy::Verdict::Rejected: return KernelVerdict::Rejected;
  }
  return KernelVerdict::Rejected;
}

// Where the signatures' copies go while they are parsed (the Debian kernel's is ~1.8 KiB).
constexpr size_t kSignatureStorage = 64 << 10;

struct DetachedState {
  authenticode::DetachedVerification verification;
  policy::Decision decision;
};

// The parts of a decision both checks report.
void FromDecision(const policy::Decision& d, KernelCheck& check) {
  check.verdict = FromPolicy(d.verdict);
  check.accepted = d.accepted;
  check.reason = d.verdict == policy::Verdict::Rejected ? d.error.result : Result::Success;
  check.reason_offset = d.error.offset;
  check.error = ErrnoForResult(check.reason);
  check.signer = d.audit.signer;
  check.anchor = d.audit.anchor;
  check.has_keyring = d.has_keyring;
  check.keyring = d.keyring;
}

struct VerifyState {
  authenticode::Verification verification;
  policy::Decision decision;
  uint8_t storage[kSignatureStorage];
};

// Parses sources into keyrings; returns an empty string or what failed.
std::string LoadKeyrings(const CryptoProvider& provider, const KeyringSources& sources,
                         BootKeyrings& out) {
  // storage must not reallocate once certificates point into it.
  out.storage.reserve(sources.builtin_certs.size() + sources.db_certs.size() +
                      sources.mok_certs.size() + sources.builtin_raw_keys.size() + 4);
  for (size_t i = 0; i < keyring::kKeyringCount; ++i) {
    keyring::Init(out.rings[i], static_cast<KeyringId>(i));
    out.view.rings[i] = &out.rings[i];
  }
  auto& rings = out.rings;
  std::string error;
  if (error.empty()) {
    error = AddCertificates(provider, sources.builtin_certs, keyring::Origin::Builtin, out,
                            rings[static_cast<size_t>(KeyringId::Builtin)]);
  }
  if (error.empty()) {
    error = AddRawKeys(provider, sources.builtin_raw_keys, out,
                       rings[static_cast<size_t>(KeyringId::Builtin)]);
  }
  if (error.empty()) {
    error = AddCertificates(provider, sources.db_certs, keyring::Origin::Db, out,
                            rings[static_cast<size_t>(KeyringId::Platform)]);
  }
  if (error.empty()) {
    error = AddLists(provider, sources.db_esl, keyring::Origin::Db, out,
                     rings[static_cast<size_t>(KeyringId::Platform)]);
  }
  if (error.empty()) {
    error = AddCertificates(provider, sources.mok_certs, keyring::Origin::MokList, out,
                            rings[static_cast<size_t>(KeyringId::Machine)]);
  }
  if (error.empty()) {
    error = AddLists(provider, sources.mok_esl, keyring::Origin::MokList, out,
                     rings[static_cast<size_t>(KeyringId::Machine)]);
  }
  if (error.empty()) {
    error = AddLists(provider, sources.dbx_esl, keyring::Origin::Dbx, out,
                     rings[static_cast<size_t>(KeyringId::Blacklist)]);
  }
  if (error.empty()) {
    error = AddLists(provider, sources.mokx_esl, keyring::Origin::MokListX, out,
                     rings[static_cast<size_t>(KeyringId::Blacklist)]);
  }
  return error;
}

}  // namespace

std::shared_ptr<const BootKeyrings> LoadBootKeyrings(const CryptoProvider& provider,
                                                     const KeyringSources& sources) {
  auto keyrings = std::make_shared<BootKeyrings>();
  keyrings->load_error = LoadKeyrings(provider, sources, *keyrings);
  return keyrings;
}

const char* KernelVerdictName(KernelVerdict verdict) {
  switch (verdict) {
    case KernelVerdict::None: return "none";
    case KernelVerdict::Trusted: return "trusted";
    case KernelVerdict::HashAuthorized: return "hash-authorized";
    case KernelVerdict::Rejected: return "rejected";
  }
  return "unknown";
}

int ErrnoForResult(Result result) {
  switch (result) {
    case Result::Success:
      return 0;
    case Result::ImageNotSigned:
      return -ENODATA;
    case Result::NotTrusted:
    case Result::PurposeKeyringNotAllowed:
    case Result::ChainTooDeep:
      return -ENOKEY;
    // The PE container: the image itself is malformed.
    case Result::PeTooLarge:
    case Result::PeTruncated:
    case Result::PeBadDosMagic:
    case Result::PeBadLfanew:
    case Result::PeBadSignature:
    case Result::PeBadOptionalMagic:
    case Result::PeOptionalHeaderTooSmall:
    case Result::PeTooFewDataDirectories:
    case Result::PeTooManySections:
    case Result::PeBadSizeOfHeaders:
    case Result::PeSectionOutsideFile:
    case Result::PeSectionOverlapsHeaders:
    case Result::PeSectionOverlapsSection:
    case Result::PeSectionOverlapsCertTable:
    case Result::PeUnhashedGap:
    case Result::PeExtraDataOverlapsCertTable:
    case Result::PeCertTableBeforeHeaders:
    case Result::PeCertTableOutsideFile:
    case Result::PeDataAfterCertTable:
    case Result::ImageReadFailed:
      return -ELIBBAD;
    // The signature container and its contents: malformed signature.
    case Result::PeCertEntryTooShort:
    case Result::PeCertEntryOverrun:
    case Result::PeCertEntryBadRevision:
    case Result::PeCertEntryBadType:
    case Result::PeCertEntryNotDer:
    case Result::PeCertEntryBadPadding:
    case Result::PeTooManySignatures:
    case Result::PeSignatureTooLarge:
    case Result::SignerNotFound:
    case Result::SignerKeyMismatch:
    case Result::DigestAlgorithmNotAllowed:
    case Result::CryptoUnsupportedAlgorithm:
    case Result::CryptoBadSignatureEncoding:
      return -EBADMSG;
    default:
      break;
  }
  // DER, X.509 and PKCS#7 structure: malformed signature. The enum is grouped, so ranges hold.
  const auto value = static_cast<uint16_t>(result);
  if (value >= static_cast<uint16_t>(Result::DerTruncated) &&
      value <= static_cast<uint16_t>(Result::CertKeyTypeMismatch)) {
    return -EBADMSG;
  }
  if (value >= static_cast<uint16_t>(Result::Pkcs7NotSignedData) &&
      value <= static_cast<uint16_t>(Result::Pkcs7TooManyNested)) {
    return -EBADMSG;
  }
  // Digest mismatches, bad signatures, revocation, SBAT, EKU, validity, and anything the
  // verifier could not finish: rejected (fail closed).
  return -EKEYREJECTED;
}

KernelCheck VerifyKernel(const CryptoProvider& provider, const BootKeyrings& keyrings,
                         policy::Purpose purpose, policy::Mode mode, const ImageSource& kernel) {
  KernelCheck check;
  // ~150 KiB of verifier state: heap, never a hypervisor stack.
  auto state = std::make_unique<VerifyState>();
  policy::Policy policy = policy::DefaultPolicy(purpose);
  policy.mode = mode;
  authenticode::Options options;
  policy::PrepareOptions(policy, keyrings.view, options);
  options.extra_digests |= 1u << static_cast<unsigned>(DigestAlg::Sha256);

  authenticode::Verification& v = state->verification;
  const Result prepared = authenticode::Prepare(provider, kernel, options,
                                                MutableBytes{state->storage, sizeof state->storage}, v);
  if (prepared == Result::Success) {
    // Hosted model: no preemption hook (docs/hypervisor-model.md: continuations).
    authenticode::Hash(kernel, nullptr, v);
  }
  policy::Decision& d = state->decision;
  policy::Decide(provider, kernel, keyrings.view, policy, options, v, d);
  FromDecision(d, check);
  for (uint8_t i = 0; v.hashed && i < v.digest_count; ++i) {
    if (v.digest_algs[i] != DigestAlg::Sha256) continue;
    std::memcpy(check.sha256, v.digests[i], sizeof check.sha256);
    check.has_digest = true;
  }
  return check;
}

KernelCheck VerifyInitrd(const CryptoProvider& provider, const BootKeyrings& keyrings,
                         policy::Purpose purpose, policy::Mode mode, const ImageSource& initrd,
                         Input signature) {
  KernelCheck check;
  auto state = std::make_unique<DetachedState>();
  policy::Policy policy = policy::DefaultPolicy(purpose);
  policy.mode = mode;
  const authenticode::Options options;
  authenticode::DetachedVerification& v = state->verification;
  if (authenticode::PrepareDetached(signature, v) == Result::Success) {
    authenticode::HashDetached(provider, initrd, v);
  }
  policy::Decision& d = state->decision;
  policy::DecideDetached(provider, keyrings.view, policy, options, v, d);
  FromDecision(d, check);
  check.has_digest = v.hashed && v.signed_data.signer.digest_alg == DigestAlg::Sha256;
  if (check.has_digest) std::memcpy(check.sha256, v.content_digest, sizeof check.sha256);
  return check;
}

}  // namespace hvsig::hv
