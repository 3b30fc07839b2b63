// The keyrings `hvsig verify` builds from its options (verify.cpp), shared by the PE and the
// livepatch paths.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "hvsig/keyring.h"
#include "tools/common/certs.h"
#include "tools/hvsig/commands.h"

namespace hvsig::tools {

// The keyrings and what their entries came from (for reports).
struct KeySources {
  std::unique_ptr<keyring::Keyring> rings[keyring::kKeyringCount];
  std::vector<std::string> origin[keyring::kKeyringCount];  // per certificate: its file
  std::vector<std::string> raw_key_origin;                   // per builtin raw key: its file
  std::deque<std::vector<uint8_t>> bytes;                    // what the keyrings point into
  CertificateStore certificates;

  keyring::Keyring& ring(keyring::KeyringId id) { return *rings[static_cast<size_t>(id)]; }
  std::vector<std::string>& origins(keyring::KeyringId id) { return origin[static_cast<size_t>(id)]; }
};

// A failure while loading keys: the message and the exit code it calls for.
struct LoadError {
  std::string message;
  int exit_code = kExitOk;
};

// builtin (compiled-in, --cert, --rsa-key), secondary, platform (--db), machine (--mok),
// blacklist (--dbx, --mokx).
bool LoadKeys(const CryptoProvider& provider, const VerifyOptions& options, KeySources& keys,
              LoadError& error);

std::string Describe(Result r, uint64_t offset);

int RunVerifyLivepatch(const GlobalOptions& global, const VerifyOptions& options);

}  // namespace hvsig::tools
