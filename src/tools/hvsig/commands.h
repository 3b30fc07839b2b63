// The hvsig subcommands. Each returns the process exit code.
#pragma once

#include <string>
#include <vector>

#include "hvsig/crypto.h"

namespace hvsig::tools {

struct GlobalOptions {
  std::string provider = "builtin";
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

// The provider named on the command line (builtin uses SHA-NI when the CPU has it).
const CryptoProvider& SelectProvider(const std::string& name);
bool ParseDigestAlg(const std::string& name, DigestAlg& alg);

constexpr int kExitOk = 0;
constexpr int kExitRejected = 1;
constexpr int kExitUsage = 2;

}  // namespace hvsig::tools
