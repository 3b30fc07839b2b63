// The hvsig subcommands. Each returns the process exit code.
#pragma once

#include <string>
#include <vector>

#include "hvsig/crypto.h"
#include "hvsig/crypto_providers.h"

namespace hvsig::tools {

struct GlobalOptions {
  std::string provider = DefaultProviderName();
};

struct DigestOptions {
  std::string alg = "sha256";
  std::string image;
};

struct InspectOptions {
  bool json = false;
  std::string image;
};

struct VerifyOptions {
  std::vector<std::string> certs;      // builtin keyring
  std::vector<std::string> secondary;  // secondary keyring (each signed by builtin/secondary)
  std::vector<std::string> db;         // platform keyring
  std::vector<std::string> dbx;        // blacklist
  std::vector<std::string> mok;        // machine keyring
  std::vector<std::string> mokx;       // blacklist
  std::string purpose = "kexec";
  std::string sbat_level;              // file or text; empty: no SBAT check
  std::string hash_authorization = "default";  // default | on | off
  std::string profile = "strict";
  bool json = false;
  bool check_time = false;
  bool trust_nested = false;
  std::vector<std::string> rsa_keys;  // livepatch: raw RSA keys (builtin keyring)
  bool secure_boot = false;           // livepatch
  bool require_signature = false;     // livepatch
  std::string livepatch_formats = "both";
  std::string image;
};

int RunVerify(const GlobalOptions& global, const VerifyOptions& options);
int RunDigest(const GlobalOptions& global, const DigestOptions& options);
int RunInspect(const GlobalOptions& global, const InspectOptions& options);

struct EslListOptions {
  bool json = false;
  std::string var;              // variable-store variable to read (db, dbx, KEK, MokList, ...)
  std::string format = "auto";  // auto | esl | efivarfs | auth | varstore
  std::string file;
};
int RunEslList(const GlobalOptions& global, const EslListOptions& options);

struct KeyringListOptions {
  bool json = false;
};
int RunKeyringList(const GlobalOptions& global, const KeyringListOptions& options);

// hvsig sign pe: Authenticode (SHA-256) with an RSA or ECDSA key; exit 1 on an image that is
// already signed unless replace.
struct SignPeOptions {
  std::string key;                    // private key, PEM or DER
  std::string cert;                   // the signer's certificate, PEM or DER
  std::vector<std::string> addcerts;  // further certificates to embed (the chain)
  bool replace = false;               // drop an existing certificate table
  std::string image;
  std::string output;
};
int RunSignPe(const GlobalOptions& global, const SignPeOptions& options);

// hvsig sign livepatch: format note adds a .note.Xen.signature section (RSA PKCS#1 v1.5
// SHA-256 over the file with the descriptor zeroed); format modsig appends a detached CMS
// signature (SHA-256, no signed attributes, issuer+serial, no certificates), struct
// module_signature and the marker, as Linux's scripts/sign-file. Exit 1 on a payload that is not
// a sane livepatch object or is already signed.
struct SignLivepatchOptions {
  std::string format;  // note | modsig
  std::string key;
  std::string cert;
  std::string payload;
  std::string output;
};
int RunSignLivepatch(const GlobalOptions& global, const SignLivepatchOptions& options);

// The provider named on the command line (one of ProviderNames(), checked by the parser).
const CryptoProvider& SelectProvider(const std::string& name);
bool ParseDigestAlg(const std::string& name, DigestAlg& alg);

constexpr int kExitOk = 0;
constexpr int kExitRejected = 1;
constexpr int kExitUsage = 2;

}  // namespace hvsig::tools
