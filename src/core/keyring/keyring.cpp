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

// AlgorithmIdentifier { rsaEncryption, NULL }: the fixed head of every RSA SPKI.
constexpr uint8_t kRsaAlgorithmIdentifier[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                               0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};

Input StripLeadingZeros(Input magnitude) {
  size_t skip = 0;
  while (skip < magnitude.size() && magnitude[skip] == 0) ++skip;
  return Input(magnitude.data() + skip, magnitude.size() - skip);
}

// Octets of a DER tag and definite length for contents of `length` octets.
size_t HeaderSize(size_t length) {
  if (length <= 0x7f) return 2;
  size_t octets = 0;
  for (size_t l = length; l != 0; l >>= 8) ++octets;
  return 2 + octets;
}

// A non-negative INTEGER needs a leading zero octet when its top bit is set.
bool NeedsSignOctet(Input magnitude) { return magnitude.empty() || (magnitude[0] & 0x80) != 0; }

size_t IntegerSize(Input magnitude) {
  const size_t contents = magnitude.size() + (NeedsSignOctet(magnitude) ? 1 : 0);
  return HeaderSize(contents) + contents;
}

void DigestHeader(Digest& digest, uint8_t tag, size_t length) {
  uint8_t header[2 + sizeof(size_t)];
  size_t used = 0;
  header[used++] = tag;
  if (length <= 0x7f) {
    header[used++] = static_cast<uint8_t>(length);
  } else {
    const size_t octets = HeaderSize(length) - 2;
    header[used++] = static_cast<uint8_t>(0x80 | octets);
    for (size_t i = octets; i > 0; --i) header[used++] = static_cast<uint8_t>(length >> (8 * (i - 1)));
  }
  digest.Update(header, used);
}

void DigestInteger(Digest& digest, Input magnitude) {
  const bool sign_octet = NeedsSignOctet(magnitude);
  DigestHeader(digest, der::kInteger, magnitude.size() + (sign_octet ? 1 : 0));
  const uint8_t zero = 0;
  if (sign_octet) digest.Update(&zero, 1);
  digest.Update(magnitude);
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
  keyring.raw_key_count = 0;
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

Result RsaKeyFingerprint(const CryptoProvider& provider, const RsaPublicKey& key,
                         uint8_t out[32]) {
  const Input modulus = StripLeadingZeros(key.modulus);
  const Input exponent = StripLeadingZeros(key.exponent);
  const size_t integers = IntegerSize(modulus) + IntegerSize(exponent);
  const size_t rsa_key = HeaderSize(integers) + integers;
  const size_t bit_string = 1 + rsa_key;  // the unused-bits octet, then RSAPublicKey
  const size_t spki = sizeof kRsaAlgorithmIdentifier + HeaderSize(bit_string) + bit_string;
  Digest digest;
  HVSIG_TRY(digest.Begin(provider, DigestAlg::Sha256));
  DigestHeader(digest, der::kSequence, spki);
  digest.Update(kRsaAlgorithmIdentifier, sizeof kRsaAlgorithmIdentifier);
  DigestHeader(digest, der::kBitString, bit_string);
  const uint8_t no_unused_bits = 0;
  digest.Update(&no_unused_bits, 1);
  DigestHeader(digest, der::kSequence, integers);
  DigestInteger(digest, modulus);
  DigestInteger(digest, exponent);
  digest.Finish(out);
  return Result::Success;
}

Result AddRawRsaKey(const CryptoProvider& provider, Keyring& keyring, const RsaPublicKey& key,
                    Origin origin) {
  HVSIG_TRY(provider.check_rsa_key(provider, key));
  RawKey entry{key, {}, origin};
  HVSIG_TRY(RsaKeyFingerprint(provider, key, entry.spki_sha256));
  if (FindRawKey(keyring, entry.spki_sha256) >= 0) return Result::Success;
  if (keyring.raw_key_count == kMaxRawKeys) return Result::KeyringFull;
  keyring.raw_keys[keyring.raw_key_count++] = entry;
  return Result::Success;
}

Result AddRawRsaKeySpki(const CryptoProvider& provider, Keyring& keyring, Input spki,
                        Origin origin, der::Error* error) {
  SubjectPublicKeyInfo parsed;
  HVSIG_TRY(ParseSubjectPublicKeyInfo(provider, spki, parsed, error));
  if (parsed.type != KeyType::Rsa) {
    if (error != nullptr) *error = der::Error{Result::CertUnsupportedKeyAlgorithm, 0};
    return Result::CertUnsupportedKeyAlgorithm;
  }
  return AddRawRsaKey(provider, keyring, parsed.rsa, origin);
}

int32_t FindRawKey(const Keyring& keyring, const uint8_t* spki_sha256) {
  for (size_t i = 0; i < keyring.raw_key_count; ++i) {
    if (__builtin_memcmp(keyring.raw_keys[i].spki_sha256, spki_sha256, 32) == 0) {
      return static_cast<int32_t>(i);
    }
  }
  return -1;
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
