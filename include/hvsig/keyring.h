// Keyrings, modelled on Linux's certs/ (system_keyring.c, blacklist.c) and what UEFI Secure
// Boot and shim hand to it:
//   builtin    certificates compiled into hvsig (HVSIG_BUILTIN_KEYS, generated source);
//   secondary  runtime additions, each signed by a builtin or secondary key
//              (restrict_link_by_builtin_and_secondary_trusted);
//   platform   UEFI db: certificates, and image hashes that authorize one exact image;
//   machine    shim's MokList(RT): certificates and image hashes;
//   blacklist  dbx + MokListX: image hashes (SHA-1/224/256/384/512), revoked certificates,
//              and revoked certificates named by their TBSCertificate hash (SHA-256/384/512).
//
// A Keyring is caller-owned storage with fixed capacities (kMaxCertificates,
// kMaxHashes); adding past one is KeyringFull and leaves the keyring as it was before the
// call. Certificates and hashes are views: the bytes they were parsed from must outlive the
// keyring. Nothing is allocated; the builtin list is a constinit array.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hvsig/crypto.h"
#include "hvsig/efi.h"
#include "hvsig/input.h"
#include "hvsig/result.h"
#include "hvsig/x509.h"

namespace hvsig::keyring {

enum class KeyringId : uint8_t { Builtin, Secondary, Platform, Machine, Blacklist };
constexpr size_t kKeyringCount = 5;
// "builtin", "secondary", "platform", "machine", "blacklist".
const char* KeyringName(KeyringId id);
constexpr uint8_t KeyringBit(KeyringId id) { return static_cast<uint8_t>(1u << static_cast<unsigned>(id)); }

// Per keyring. Microsoft's dbx (2024) holds about 430 SHA-256 entries; db and MokList a
// handful of certificates.
constexpr size_t kMaxCertificates = 64;
constexpr size_t kMaxHashes = 1024;

// Where an entry came from, for reports: the variable, or the embedder's file.
enum class Origin : uint8_t { Builtin, Runtime, Db, Dbx, MokList, MokListX };
const char* OriginName(Origin origin);  // "builtin", "runtime", "db", "dbx", "MokList", "MokListX"

enum class HashKind : uint8_t {
  Image,  // an Authenticode digest (EFI_CERT_SHA*)
  Tbs,    // a revoked certificate's TBSCertificate digest (EFI_CERT_X509_SHA*)
};

struct HashEntry {
  HashKind kind;
  DigestAlg alg;
  Origin origin;
  Input value;  // DigestLength(alg) bytes
};

// Bare RSA public keys (no certificate): what Xen's livepatch note signatures are checked
// against. The key is identified by the SHA-256 of its SubjectPublicKeyInfo DER (as
// `openssl pkey -pubin -outform DER | sha256sum` prints it), whichever form it was added in.
constexpr size_t kMaxRawKeys = 16;

struct RawKey {
  RsaPublicKey rsa;  // views into the embedder's bytes
  uint8_t spki_sha256[32];
  Origin origin;
};

struct Keyring {
  KeyringId id;
  size_t certificate_count;
  Certificate certificates[kMaxCertificates];
  Origin certificate_origin[kMaxCertificates];
  size_t hash_count;
  HashEntry hashes[kMaxHashes];
  // Database entries of types no keyring uses (RSA-2048 keys, X509_SHA* in db, unknown GUIDs):
  // counted, never acted upon.
  size_t ignored_entries;
  size_t raw_key_count;
  RawKey raw_keys[kMaxRawKeys];
};

void Init(Keyring& keyring, KeyringId id);

// Appends a certificate. An identical one (same DER) already present is not added again.
// KeyringFull at capacity.
Result AddCertificate(Keyring& keyring, const Certificate& cert, Origin origin);
// Appends a hash; InvalidArgument if value has not DigestLength(alg) bytes.
Result AddHash(Keyring& keyring, HashKind kind, DigestAlg alg, Input value, Origin origin);

// Appends a bare RSA key after the provider validated it (its Result otherwise: CryptoBadKey,
// CryptoKeyTooSmall, ...). The same key (by SPKI fingerprint) is not added twice; KeyringFull
// at kMaxRawKeys.
Result AddRawRsaKey(const CryptoProvider& provider, Keyring& keyring, const RsaPublicKey& key,
                    Origin origin);
// The same from a SubjectPublicKeyInfo (DER, rsaEncryption); another key type is
// CertUnsupportedKeyAlgorithm. spki must outlive the keyring.
Result AddRawRsaKeySpki(const CryptoProvider& provider, Keyring& keyring, Input spki,
                        Origin origin, der::Error* error = nullptr);
// SHA-256 of the SubjectPublicKeyInfo DER that encodes key (leading zero octets ignored).
Result RsaKeyFingerprint(const CryptoProvider& provider, const RsaPublicKey& key,
                         uint8_t out[32]);
// The index of the raw key with this fingerprint, or -1.
int32_t FindRawKey(const Keyring& keyring, const uint8_t* spki_sha256);

// Adds every entry of EFI_SIGNATURE_LISTs (efi::OpenSignatureDatabase's lists). The whole
// input is validated first and the keyring is changed only if every entry fits; a parse failure
// returns the ESL check's Result with error set. What goes where:
//   X509                 certificates (revoked ones in the blacklist);
//   SHA1/224/256/384/512 image hashes;
//   X509_SHA256/384/512  TBS hashes, blacklist only (ignored elsewhere);
//   anything else        ignored_entries.
// Builtin and secondary take no database (InvalidArgument).
Result AddSignatureLists(const CryptoProvider& provider, Keyring& keyring, Input lists,
                         uint64_t lists_offset, Origin origin, Error& error);

// Linux's restrict_link_by_builtin_and_secondary_trusted: cert joins secondary only if it is
// signed by a key in builtin or secondary (found by its issuer name, with AKID/SKID agreement
// where both exist). KeyringLinkNotPermitted otherwise; KeyringBlacklisted if blacklist (may
// be null) revokes it or its TBS hash.
Result AddToSecondary(const CryptoProvider& provider, Keyring& secondary, const Keyring& builtin,
                      const Keyring* blacklist, const Certificate& cert);

// Lookups; each returns the certificate's index or -1.
int32_t FindBySubjectKey(const Keyring& keyring, Input subject, Input spki_der);
int32_t FindBySkid(const Keyring& keyring, Input subject_key_id);
int32_t FindByIssuerSerial(const Keyring& keyring, Input issuer, Input serial);
// The index of a certificate that issued cert (name match, key ids agree, signature verifies).
int32_t FindIssuer(const CryptoProvider& provider, const Keyring& keyring, const Certificate& cert);
// The index of a hash entry of this kind and algorithm with this value, or -1.
int32_t FindHash(const Keyring& keyring, HashKind kind, DigestAlg alg, const uint8_t* value);

// ---- builtin ------------------------------------------------------------------------------

// The DER of the certificates compiled in. The build generates its definition
// (cmake/EmbedKeys.cmake) from HVSIG_BUILTIN_KEYS.
struct BuiltinKeyList {
  const Input* keys;
  size_t count;
};
extern const BuiltinKeyList kBuiltinKeys;

// Parses each key of list into builtin (Init first). A key that does not parse is its Result
// (error.offset inside that key, index the key's position); KeyringFull past capacity.
Result LoadBuiltin(const CryptoProvider& provider, const BuiltinKeyList& list, Keyring& builtin,
                   size_t& index, der::Error& error);

}  // namespace hvsig::keyring
