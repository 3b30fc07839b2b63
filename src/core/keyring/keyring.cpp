// Keyrings: fixed-capacity certificate and hash sets, filled from the compiled-in list, from
// UEFI signature databases, or (secondary) from certificates a trusted key signed.
#include "hvsig/keyring.h"

namespace hvsig::keyring {
namespace {

bool KeyIdsAgree(const Certificate& child, const Certificate& issuer) {
  if (child.authority_key_id.empty() || issuer.subject_key_id.empty()) return true;
  return child.authority_key_id == issuer.subject_key_id;
}

bool AcceptsDatabases(KeyringId id) {
  return id == KeyringId::Platform || id == KeyringId::Machine || id == KeyringId::Blacklist;
}

Result AddEntry(Keyring& keyring, const efi::SignatureEntry& entry, Origin origin) {
  DigestAlg alg = DigestAlg::Sha256;
  if (entry.type == efi::SignatureType::X509) {
    return AddCertificate(keyring, entry.certificate, origin);
  }
  const bool has_digest = efi::SignatureTypeDigest(entry.type, alg);
  if (has_digest && !efi::IsTbsHashType(entry.type)) {
    return AddHash(keyring, HashKind::Image, alg, entry.hash, origin);
  }
  // A TBS hash revokes; in db or MokList it would mean nothing.
  if (has_digest && keyring.id == KeyringId::Blacklist) {
    return AddHash(keyring, HashKind::Tbs, alg, entry.hash, origin);
  }
  ++keyring.ignored_entries;
  return Result::Success;
}

// Whether blacklist revokes cert itself (by DER, or by its TBS hash in any listed algorithm).
Result IsRevoked(const CryptoProvider& provider, const Keyring& blacklist, const Certificate& cert,
                 bool& revoked) {
  revoked = false;
  for (size_t i = 0; i < blacklist.certificate_count && !revoked; ++i) {
    revoked = blacklist.certificates[i].der == cert.der;
  }
  for (size_t i = 0; i < blacklist.hash_count && !revoked; ++i) {
    const HashEntry& entry = blacklist.hashes[i];
    if (entry.kind != HashKind::Tbs) continue;
    uint8_t digest[kMaxDigestLength];
    HVSIG_TRY(DigestOnce(provider, entry.alg, cert.tbs, digest));
    revoked = __builtin_memcmp(digest, entry.value.data(), entry.value.size()) == 0;
  }
  return Result::Success;
}

}  // namespace

const char* KeyringName(KeyringId id) {
  switch (id) {
    case KeyringId::Builtin: return "builtin";
    case KeyringId::Secondary: return "secondary";
    case KeyringId::Platform: return "platform";
    case KeyringId::Machine: return "machine";
    case KeyringId::Blacklist: return "blacklist";
  }
  return "unknown";
}

const char* OriginName(Origin origin) {
  switch (origin) {
    case Origin::Builtin: return "builtin";
    case Origin::Runtime: return "runtime";
    case Origin::Db: return "db";
    case Origin::Dbx: return "dbx";
    case Origin::MokList: return "MokList";
    case Origin::MokListX: return "MokListX";
  }
  return "unknown";
}

void Init(Keyring& keyring, KeyringId id) {
  keyring.id = id;
  keyring.certificate_count = 0;
  keyring.hash_count = 0;
  keyring.ignored_entries = 0;
}

Result AddCertificate(Keyring& keyring, const Certificate& cert, Origin origin) {
  for (size_t i = 0; i < keyring.certificate_count; ++i) {
    if (keyring.certificates[i].der == cert.der) return Result::Success;
  }
  if (keyring.certificate_count == kMaxCertificates) return Result::KeyringFull;
  keyring.certificate_origin[keyring.certificate_count] = origin;
  keyring.certificates[keyring.certificate_count++] = cert;
  return Result::Success;
}

Result AddHash(Keyring& keyring, HashKind kind, DigestAlg alg, Input value, Origin origin) {
  if (value.size() != DigestLength(alg)) return Result::InvalidArgument;
  if (keyring.hash_count == kMaxHashes) return Result::KeyringFull;
  keyring.hashes[keyring.hash_count++] = HashEntry{kind, alg, origin, value};
  return Result::Success;
}

Result AddSignatureLists(const CryptoProvider& provider, Keyring& keyring, Input lists,
                         uint64_t lists_offset, Origin origin, Error& error) {
  if (!AcceptsDatabases(keyring.id)) return Result::InvalidArgument;
  size_t count = 0;
  HVSIG_TRY(efi::ValidateSignatureLists(provider, lists, lists_offset, count, error));

  const size_t certificates_before = keyring.certificate_count;
  const size_t hashes_before = keyring.hash_count;
  const size_t ignored_before = keyring.ignored_entries;
  efi::SignatureListReader reader(provider, lists, lists_offset);
  efi::SignatureEntry entry;
  Result r = Result::Success;
  while (r == Result::Success && !reader.AtEnd()) {
    r = reader.Next(entry, error);
    if (r != Result::Success) break;
    r = AddEntry(keyring, entry, origin);
    if (r != Result::Success) error = Error{r, entry.entry_offset};
  }
  if (r != Result::Success) {
    // Appends only: restoring the counts undoes the partial database.
    keyring.certificate_count = certificates_before;
    keyring.hash_count = hashes_before;
    keyring.ignored_entries = ignored_before;
  }
  return r;
}

Result AddToSecondary(const CryptoProvider& provider, Keyring& secondary, const Keyring& builtin,
                      const Keyring* blacklist, const Certificate& cert) {
  if (secondary.id != KeyringId::Secondary) return Result::InvalidArgument;
  if (blacklist != nullptr) {
    bool revoked = false;
    HVSIG_TRY(IsRevoked(provider, *blacklist, cert, revoked));
    if (revoked) return Result::KeyringBlacklisted;
  }
  const bool vouched = FindIssuer(provider, builtin, cert) >= 0 ||
                       FindIssuer(provider, secondary, cert) >= 0;
  if (!vouched) return Result::KeyringLinkNotPermitted;
  return AddCertificate(secondary, cert, Origin::Runtime);
}

int32_t FindBySubjectKey(const Keyring& keyring, Input subject, Input spki_der) {
  for (size_t i = 0; i < keyring.certificate_count; ++i) {
    const Certificate& c = keyring.certificates[i];
    if (c.subject == subject && c.key.der == spki_der) return static_cast<int32_t>(i);
  }
  return -1;
}

int32_t FindBySkid(const Keyring& keyring, Input subject_key_id) {
  if (subject_key_id.empty()) return -1;
  for (size_t i = 0; i < keyring.certificate_count; ++i) {
    if (keyring.certificates[i].subject_key_id == subject_key_id) return static_cast<int32_t>(i);
  }
  return -1;
}

int32_t FindByIssuerSerial(const Keyring& keyring, Input issuer, Input serial) {
  for (size_t i = 0; i < keyring.certificate_count; ++i) {
    const Certificate& c = keyring.certificates[i];
    if (c.issuer == issuer && c.serial == serial) return static_cast<int32_t>(i);
  }
  return -1;
}

int32_t FindIssuer(const CryptoProvider& provider, const Keyring& keyring, const Certificate& cert) {
  for (size_t i = 0; i < keyring.certificate_count; ++i) {
    const Certificate& issuer = keyring.certificates[i];
    if (!(issuer.subject == cert.issuer) || !KeyIdsAgree(cert, issuer)) continue;
    if (VerifyCertificateSignature(provider, cert, issuer.key) == Result::Success) {
      return static_cast<int32_t>(i);
    }
  }
  return -1;
}

int32_t FindHash(const Keyring& keyring, HashKind kind, DigestAlg alg, const uint8_t* value) {
  for (size_t i = 0; i < keyring.hash_count; ++i) {
    const HashEntry& entry = keyring.hashes[i];
    if (entry.kind != kind || entry.alg != alg) continue;
    if (__builtin_memcmp(entry.value.data(), value, entry.value.size()) == 0) {
      return static_cast<int32_t>(i);
    }
  }
  return -1;
}

Result LoadBuiltin(const CryptoProvider& provider, const BuiltinKeyList& list, Keyring& builtin,
                   size_t& index, der::Error& error) {
  Init(builtin, KeyringId::Builtin);
  for (index = 0; index < list.count; ++index) {
    Certificate cert;
    HVSIG_TRY(ParseCertificate(provider, list.keys[index], cert, &error));
    HVSIG_TRY(AddCertificate(builtin, cert, Origin::Builtin));
  }
  return Result::Success;
}

}  // namespace hvsig::keyring
