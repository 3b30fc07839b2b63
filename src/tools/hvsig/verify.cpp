// hvsig verify: Authenticode verification under a policy (include/hvsig/policy.h).
// Key sources: --cert (builtin keyring, after the compiled-in keys), --secondary (each
// certificate must be signed by a builtin or secondary key), --db (platform), --mok (machine),
// --dbx and --mokx (blacklist). Signature databases may be raw ESL, efivarfs, .auth or an
// OVMF/edk2 variable store (then the variable the option names: db, dbx, MokList, MokListX).
// Exit 0 trusted or hash-authorized, 1 rejected or a malformed key source / SBAT level,
// 2 usage or I/O error.
#include <cstdio>
#include <ctime>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hvsig/authenticode.h"
#include "hvsig/efi.h"
#include "hvsig/keyring.h"
#include "hvsig/policy.h"
#include "tools/common/certs.h"
#include "tools/common/file_image.h"
#include "tools/hvsig/commands.h"
#include "tools/hvsig/keys.h"

namespace hvsig::tools {
namespace {

using keyring::Keyring;
using keyring::KeyringId;

// Signatures larger than this in total are refused (Debian's and Microsoft's are < 16 KiB).
constexpr size_t kSignatureStorage = 1 << 20;

void AddLoaded(KeySources& keys, KeyringId id, const std::string& file, Result r,
               LoadError& error) {
  if (r != Result::Success) {
    error = {file + ": " + ResultName(r), kExitRejected};
    return;
  }
  // An identical certificate is not added twice: only a new one gets an origin.
  while (keys.origins(id).size() < keys.ring(id).certificate_count) keys.origins(id).push_back(file);
}

bool LoadCertificateFiles(const CryptoProvider& provider, const std::vector<std::string>& files,
                          KeySources& keys, KeyringId id, LoadError& error) {
  for (const std::string& path : files) {
    const size_t first = keys.certificates.parsed.size();
    std::string io_error;
    if (!LoadCertificates(path, provider, keys.certificates, io_error)) {
      error = {io_error, kExitUsage};
      return false;
    }
    for (size_t i = first; i < keys.certificates.parsed.size(); ++i) {
      const Certificate& cert = keys.certificates.parsed[i];
      const Result r = id == KeyringId::Secondary
                           ? keyring::AddToSecondary(provider, keys.ring(id),
                                                     keys.ring(KeyringId::Builtin),
                                                     &keys.ring(KeyringId::Blacklist), cert)
                           : keyring::AddCertificate(keys.ring(id), cert, keyring::Origin::Runtime);
      AddLoaded(keys, id, keys.certificates.origin[i], r, error);
      if (error.exit_code != kExitOk) return false;
    }
  }
  return true;
}

bool LoadDatabases(const CryptoProvider& provider, const std::vector<std::string>& files,
                   const char* variable, keyring::Origin origin, KeySources& keys, KeyringId id,
                   LoadError& error) {
  for (const std::string& path : files) {
    keys.bytes.emplace_back();
    std::vector<uint8_t>& bytes = keys.bytes.back();
    std::string io_error;
    if (!ReadWholeFile(path, bytes, io_error)) {
      error = {io_error, kExitUsage};
      return false;
    }
    efi::SignatureDatabase database{};
    Error parse_error;
    Result r = efi::OpenSignatureDatabase(Input(bytes.data(), bytes.size()),
                                          efi::VariableFormat::Auto, variable, database,
                                          parse_error);
    if (r == Result::Success) {
      r = keyring::AddSignatureLists(provider, keys.ring(id), database.lists,
                                     database.lists_offset, origin, parse_error);
    }
    if (r != Result::Success) {
      error = {path + ": " + Describe(parse_error.result, parse_error.offset), kExitRejected};
      return false;
    }
    while (keys.origins(id).size() < keys.ring(id).certificate_count) {
      keys.origins(id).push_back(path);
    }
  }
  return true;
}

// PEM "PUBLIC KEY" or DER: a SubjectPublicKeyInfo; PEM "RSA PUBLIC KEY": PKCS#1's
// RSAPublicKey { modulus, publicExponent }, added as modulus and exponent.
bool LoadRawRsaKeys(const CryptoProvider& provider, const std::vector<std::string>& files,
                    KeySources& keys, LoadError& error) {
  Keyring& builtin = keys.ring(KeyringId::Builtin);
  for (const std::string& path : files) {
    std::vector<uint8_t> file;
    std::string io_error;
    if (!ReadWholeFile(path, file, io_error)) {
      error = {io_error, kExitUsage};
      return false;
    }
    const std::string text(file.begin(), file.end());
    std::vector<std::vector<uint8_t>> blocks;
    const bool pkcs1 = text.find("-----BEGIN RSA PUBLIC KEY-----") != std::string::npos;
    const bool pem = pkcs1 || text.find("-----BEGIN PUBLIC KEY-----") != std::string::npos;
    if (pem && (!DecodePem(text, pkcs1 ? "RSA PUBLIC KEY" : "PUBLIC KEY", blocks) ||
                blocks.size() != 1)) {
      error = {path + ": not one PEM public key", kExitRejected};
      return false;
    }
    keys.bytes.push_back(pem ? blocks[0] : file);
    const Input der(keys.bytes.back().data(), keys.bytes.back().size());
    der::Error der_error;
    Result r = Result::Success;
    if (pkcs1) {
      RsaPublicKey key;
      der::Reader reader(der, &der_error);
      r = der::Nested(reader, der::kSequence, [&](der::Reader& rsa) {
        HVSIG_TRY(der::ReadUnsignedInteger(rsa, 1024, key.modulus));
        return der::ReadUnsignedInteger(rsa, 1024, key.exponent);
      });
      if (r == Result::Success) r = reader.ExpectEnd();
      if (r == Result::Success) {
        r = keyring::AddRawRsaKey(provider, builtin, key, keyring::Origin::Runtime);
        der_error = der::Error{r, 0};
      }
    } else {
      r = keyring::AddRawRsaKeySpki(provider, builtin, der, keyring::Origin::Runtime, &der_error);
    }
    if (r != Result::Success) {
      error = {path + ": " + Describe(der_error.result, der_error.offset), kExitRejected};
      return false;
    }
    while (keys.raw_key_origin.size() < builtin.raw_key_count) keys.raw_key_origin.push_back(path);
  }
  return true;
}

}  // namespace

std::string Describe(Result r, uint64_t offset) {
  return std::string(ResultName(r)) + " at offset " + std::to_string(offset);
}

bool LoadKeys(const CryptoProvider& provider, const VerifyOptions& options, KeySources& keys,
              LoadError& error) {
  for (size_t i = 0; i < keyring::kKeyringCount; ++i) {
    keys.rings[i] = std::make_unique<Keyring>();
    keyring::Init(*keys.rings[i], static_cast<KeyringId>(i));
  }
  size_t index = 0;
  der::Error der_error;
  if (keyring::LoadBuiltin(provider, keyring::kBuiltinKeys, keys.ring(KeyringId::Builtin), index,
                           der_error) != Result::Success) {
    error = {"compiled-in key " + std::to_string(index) + ": " +
                 Describe(der_error.result, der_error.offset),
             kExitRejected};
    return false;
  }
  keys.origins(KeyringId::Builtin).assign(keys.ring(KeyringId::Builtin).certificate_count,
                                          "compiled-in");
  // The blacklist first: secondary additions are checked against it.
  return LoadDatabases(provider, options.dbx, "dbx", keyring::Origin::Dbx, keys,
                       KeyringId::Blacklist, error) &&
         LoadDatabases(provider, options.mokx, "MokListX", keyring::Origin::MokListX, keys,
                       KeyringId::Blacklist, error) &&
         LoadDatabases(provider, options.db, "db", keyring::Origin::Db, keys, KeyringId::Platform,
                       error) &&
         LoadDatabases(provider, options.mok, "MokList", keyring::Origin::MokList, keys,
                       KeyringId::Machine, error) &&
         LoadCertificateFiles(provider, options.certs, keys, KeyringId::Builtin, error) &&
         LoadCertificateFiles(provider, options.secondary, keys, KeyringId::Secondary, error) &&
         LoadRawRsaKeys(provider, options.rsa_keys, keys, error);
}

namespace {

bool ParsePurpose(const std::string& name, policy::Purpose& purpose) {
  for (policy::Purpose p :
       {policy::Purpose::Kexec, policy::Purpose::KexecCrash, policy::Purpose::Livepatch}) {
    if (name == policy::PurposeName(p)) {
      purpose = p;
      return true;
    }
  }
  return false;
}

// --sbat-level: a file if one exists at that path, else the level text itself.
std::string SbatLevelText(const std::string& arg) {
  std::vector<uint8_t> bytes;
  std::string io_error;
  if (ReadWholeFile(arg, bytes, io_error)) return std::string(bytes.begin(), bytes.end());
  return arg;
}

struct GroupOrigin {
  const char* keyring;
  std::string file;
  Input subject;
};

GroupOrigin AnchorOf(const policy::Decision& d, KeySources& keys,
                     const authenticode::SignatureVerdict& s) {
  const KeyringId id = d.group_keyring[s.anchor_group];
  const size_t index = static_cast<size_t>(s.anchor_index);
  return {keyring::KeyringName(id), keys.origins(id)[index],
          keys.ring(id).certificates[index].subject};
}

nlohmann::json VerdictJson(const authenticode::SignatureVerdict& s, const policy::Decision& d,
                           KeySources& keys, const CryptoProvider& provider) {
  const size_t length = DigestLength(s.digest_alg);
  nlohmann::json j;
  j["index"] = s.table_index;
  j["nested_in"] = s.parent < 0 ? nlohmann::json(nullptr) : nlohmann::json(s.parent);
  j["status"] = s.status == Result::Success ? "trusted" : ResultName(s.status);
  if (s.status != Result::Success) j["offset"] = s.error_offset;
  j["digest_algorithm"] = DigestAlgName(s.digest_alg);
  j["image_digest"] = Hex(s.image_digest, length);
  j["signed_digest"] = Hex(s.signed_digest, length);
  j["digest_match"] = s.digest_match;
  if (s.signer_found) {
    j["signer"] = {{"subject", NameToString(s.signer_subject)},
                   {"issuer", NameToString(s.signer_issuer)},
                   {"serial", Hex(s.signer_serial.data(), s.signer_serial.size())}};
  } else {
    j["signer"] = nullptr;
  }
  nlohmann::json chain = nlohmann::json::array();
  for (uint8_t i = 0; i < s.chain_length; ++i) {
    Certificate cert{};
    // Chain entries already parsed during verification; re-parse for their names.
    if (ParseCertificate(provider, s.chain[i], cert) == Result::Success) {
      chain.push_back({{"subject", NameToString(cert.subject)},
                       {"issuer", NameToString(cert.issuer)}});
    }
  }
  j["chain"] = chain;
  if (s.anchor_group >= 0) {
    const GroupOrigin anchor = AnchorOf(d, keys, s);
    j["anchor"] = {{"subject", NameToString(anchor.subject)},
                   {"keyring", anchor.keyring},
                   {"file", anchor.file}};
  } else {
    j["anchor"] = nullptr;
  }
  return j;
}

std::string Reason(const authenticode::Verification& v, const policy::Decision& d,
                   KeySources& keys) {
  if (d.verdict == policy::Verdict::Trusted) {
    const authenticode::SignatureVerdict& s = v.verdicts[static_cast<size_t>(d.signature)];
    const GroupOrigin anchor = AnchorOf(d, keys, s);
    return "signature " + std::to_string(d.signature) + " by " + NameToString(s.signer_subject) +
           " chains to " + anchor.file + " (keyring " + anchor.keyring + ")";
  }
  if (d.verdict == policy::Verdict::HashAuthorized) {
    return std::string("image digest listed in ") + keyring::KeyringName(d.keyring) + " (" +
           keyring::OriginName(keys.ring(d.keyring).hashes[d.hash_entry].origin) + ")";
  }
  std::string reason = Describe(d.error.result, d.error.offset);
  if (d.error_signature >= 0) reason += " (signature " + std::to_string(d.error_signature) + ")";
  return reason;
}

nlohmann::json RevocationsJson(const policy::Decision& d, KeySources& keys,
                               const CryptoProvider& provider) {
  nlohmann::json hits = nlohmann::json::array();
  const Keyring& blacklist = keys.ring(KeyringId::Blacklist);
  const size_t shown = d.revocation_count < policy::kMaxRevocationHits ? d.revocation_count
                                                                        : policy::kMaxRevocationHits;
  for (size_t i = 0; i < shown; ++i) {
    const policy::RevocationHit& hit = d.revocations[i];
    nlohmann::json j;
    j["kind"] = policy::RevocationKindName(hit.kind);
    j["source"] = keyring::OriginName(hit.origin);
    j["signature"] = hit.signature < 0 ? nlohmann::json(nullptr) : nlohmann::json(hit.signature);
    if (hit.kind == policy::RevocationKind::Certificate) {
      const Certificate& revoked = blacklist.certificates[hit.entry];
      j["entry"] = NameToString(revoked.subject);
    } else {
      const keyring::HashEntry& entry = blacklist.hashes[hit.entry];
      j["algorithm"] = DigestAlgName(hit.alg);
      j["entry"] = Hex(entry.value.data(), entry.value.size());
    }
    if (hit.kind != policy::RevocationKind::ImageHash) {
      Certificate cert{};
      if (ParseCertificate(provider, hit.certificate, cert) == Result::Success) {
        j["certificate"] = NameToString(cert.subject);
      }
    }
    hits.push_back(j);
  }
  return hits;
}

nlohmann::json IdentityJson(const policy::Identity& id) {
  if (!id.present) return nullptr;
  return {{"subject_sha256", Hex(id.subject_sha256, sizeof id.subject_sha256)},
          {"serial", Hex(id.serial, id.serial_length)}};
}

// Livepatch payloads are ELF objects; a PE image under purpose livepatch keeps the PE path.
bool IsElfFile(const std::string& path) {
  FileImage file;
  std::string io_error;
  std::vector<uint8_t> magic;
  return file.Open(path, io_error) && file.ReadRange(0, 4, magic) && magic.size() == 4 &&
         magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F';
}

nlohmann::json AuditJson(const policy::AuditRecord& a) {
  return {{"purpose", policy::PurposeName(a.purpose)},
          {"mode", policy::ModeName(a.mode)},
          {"verdict", policy::VerdictName(a.verdict)},
          {"accepted", a.accepted},
          {"reason", ResultName(a.reason)},
          {"reason_offset", a.reason_offset},
          {"image_sha256", Hex(a.image_sha256, sizeof a.image_sha256)},
          {"keyring", a.has_keyring ? nlohmann::json(keyring::KeyringName(a.keyring)) : nullptr},
          {"signature", a.signature < 0 ? nlohmann::json(nullptr) : nlohmann::json(a.signature)},
          {"signer", IdentityJson(a.signer)},
          {"anchor", IdentityJson(a.anchor)},
          {"revocation_count", a.revocation_count}};
}

}  // namespace

int RunVerify(const GlobalOptions& global, const VerifyOptions& options) {
  const CryptoProvider& provider = SelectProvider(global.provider);
  policy::Purpose purpose = policy::Purpose::Kexec;
  if (!ParsePurpose(options.purpose, purpose)) {
    std::fprintf(stderr, "hvsig verify: unknown purpose %s\n", options.purpose.c_str());
    return kExitUsage;
  }
  if (purpose == policy::Purpose::Livepatch && IsElfFile(options.image)) {
    return RunVerifyLivepatch(global, options);
  }
  policy::Policy policy = policy::DefaultPolicy(purpose);
  if (options.hash_authorization == "on") policy.hash_authorization = true;
  if (options.hash_authorization == "off") policy.hash_authorization = false;

  KeySources keys;
  LoadError load_error;
  if (!LoadKeys(provider, options, keys, load_error)) {
    std::fprintf(stderr, "hvsig verify: %s\n", load_error.message.c_str());
    return load_error.exit_code;
  }
  std::string sbat_text;
  auto sbat_level = std::make_unique<policy::SbatList>();
  if (!options.sbat_level.empty()) {
    sbat_text = SbatLevelText(options.sbat_level);
    Error error;
    if (policy::ParseSbatLevel(Input(reinterpret_cast<const uint8_t*>(sbat_text.data()),
                                     sbat_text.size()),
                               *sbat_level, error) != Result::Success) {
      std::fprintf(stderr, "hvsig verify: --sbat-level: %s\n",
                   Describe(error.result, error.offset).c_str());
      return kExitRejected;
    }
    policy.sbat_level = sbat_level.get();
  }

  FileImage file;
  std::string io_error;
  if (!file.Open(options.image, io_error)) {
    std::fprintf(stderr, "hvsig verify: %s\n", io_error.c_str());
    return kExitUsage;
  }

  authenticode::Options verify_options;
  verify_options.profile = options.profile == "compat" ? pe::Profile::Compat : pe::Profile::Strict;
  verify_options.trust_nested = options.trust_nested;
  verify_options.check_time = options.check_time;
  verify_options.now = static_cast<der::Time>(std::time(nullptr));
  policy::Keyrings keyrings{};
  for (size_t i = 0; i < keyring::kKeyringCount; ++i) keyrings.rings[i] = keys.rings[i].get();
  policy::PrepareOptions(policy, keyrings, verify_options);

  auto v = std::make_unique<authenticode::Verification>();
  auto decision = std::make_unique<policy::Decision>();
  // Not zeroed: Prepare writes what it uses, and untouched pages cost no page faults.
  auto storage = std::make_unique_for_overwrite<uint8_t[]>(kSignatureStorage);
  if (authenticode::Prepare(provider, file.Source(), verify_options,
                            MutableBytes{storage.get(), kSignatureStorage}, *v) == Result::Success) {
    authenticode::Hash(file.Source(), nullptr, *v);
  }
  policy::Decide(provider, file.Source(), keyrings, policy, verify_options, *v, *decision);
  const policy::Decision& d = *decision;
  if (d.error.result == Result::ImageReadFailed) {
    std::fprintf(stderr, "hvsig verify: %s: read error\n", options.image.c_str());
    return kExitUsage;
  }
  const bool trusted = d.verdict != policy::Verdict::Rejected;
  const std::string reason = Reason(*v, d, keys);

  if (options.json) {
    nlohmann::json j;
    j["file"] = options.image;
    j["verdict"] = policy::VerdictName(d.verdict);
    j["reason"] = reason;
    j["profile"] = options.profile;
    j["purpose"] = policy::PurposeName(purpose);
    j["keyring"] = d.has_keyring ? nlohmann::json(keyring::KeyringName(d.keyring)) : nullptr;
    nlohmann::json digests = nlohmann::json::object();
    if (v->hashed) {
      for (uint8_t i = 0; i < v->digest_count; ++i) {
        digests[DigestAlgName(v->digest_algs[i])] =
            Hex(v->digests[i], DigestLength(v->digest_algs[i]));
      }
    }
    j["digests"] = digests;
    nlohmann::json signatures = nlohmann::json::array();
    for (uint8_t i = 0; i < v->verdict_count; ++i) {
      signatures.push_back(VerdictJson(v->verdicts[i], d, keys, provider));
    }
    j["signatures"] = signatures;
    j["revocations"] = RevocationsJson(d, keys, provider);
    j["revocation_count"] = d.revocation_count;
    if (d.has_sbat) {
      nlohmann::json sbat = nlohmann::json::array();
      for (uint8_t i = 0; i < d.image_sbat.count; ++i) {
        const policy::SbatEntry& e = d.image_sbat.entries[i];
        sbat.push_back({{"component", std::string(e.component.begin(), e.component.end())},
                        {"generation", e.generation}});
      }
      j["sbat"] = sbat;
    } else {
      j["sbat"] = nullptr;
    }
    j["audit"] = AuditJson(d.audit);
    std::printf("%s\n", j.dump(2).c_str());
    return trusted ? kExitOk : kExitRejected;
  }

  std::printf("%s: %s\n", trusted ? policy::VerdictName(d.verdict) : "rejected", reason.c_str());
  for (uint8_t i = 0; i < v->verdict_count; ++i) {
    const authenticode::SignatureVerdict& s = v->verdicts[i];
    std::printf("signature %u%s: %s, %s %s\n", i,
                s.parent < 0 ? "" : (" (nested in " + std::to_string(s.parent) + ")").c_str(),
                s.status == Result::Success ? "trusted" : ResultName(s.status),
                DigestAlgName(s.digest_alg), s.digest_match ? "digest matches" : "digest differs");
    if (s.signer_found) {
      std::printf("  signer: %s\n  issuer: %s\n", NameToString(s.signer_subject).c_str(),
                  NameToString(s.signer_issuer).c_str());
    }
  }
  const size_t shown = d.revocation_count < policy::kMaxRevocationHits ? d.revocation_count
                                                                        : policy::kMaxRevocationHits;
  for (size_t i = 0; i < shown; ++i) {
    const policy::RevocationHit& hit = d.revocations[i];
    std::printf("revoked: %s (%s)%s\n", policy::RevocationKindName(hit.kind),
                keyring::OriginName(hit.origin),
                hit.signature < 0 ? "" : (" signature " + std::to_string(hit.signature)).c_str());
  }
  return trusted ? kExitOk : kExitRejected;
}

int RunKeyringList(const GlobalOptions& global, const KeyringListOptions& options) {
  const CryptoProvider& provider = SelectProvider(global.provider);
  auto builtin = std::make_unique<Keyring>();
  size_t index = 0;
  der::Error error;
  if (keyring::LoadBuiltin(provider, keyring::kBuiltinKeys, *builtin, index, error) !=
      Result::Success) {
    std::fprintf(stderr, "hvsig keyring list: compiled-in key %zu: %s\n", index,
                 Describe(error.result, error.offset).c_str());
    return kExitRejected;
  }
  nlohmann::json keys = nlohmann::json::array();
  for (size_t i = 0; i < builtin->certificate_count; ++i) {
    const Certificate& cert = builtin->certificates[i];
    uint8_t fingerprint[32];
    DigestOnce(provider, DigestAlg::Sha256, cert.der, fingerprint);
    const std::string subject = NameToString(cert.subject);
    const std::string serial = Hex(cert.serial.data(), cert.serial.size());
    const std::string sha256 = Hex(fingerprint, sizeof fingerprint);
    if (options.json) {
      keys.push_back({{"subject", subject}, {"issuer", NameToString(cert.issuer)},
                      {"serial", serial}, {"sha256", sha256}});
    } else {
      std::printf("builtin %s %s %s\n", sha256.c_str(), serial.c_str(), subject.c_str());
    }
  }
  if (options.json) {
    nlohmann::json j;
    j["keyring"] = "builtin";
    j["capacity"] = keyring::kMaxCertificates;
    j["certificates"] = keys;
    std::printf("%s\n", j.dump(2).c_str());
  }
  return kExitOk;
}

}  // namespace hvsig::tools
