// What `hvsig sign pe` and `hvsig sign livepatch` share: the signer's key and certificates read
// with libcrypto, libcrypto's reason for a failure, and how the output file is written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crypto/openssl/openssl_ptr.h"
#include "tools/hvsig/commands.h"

namespace hvsig::tools {

// A failure: the message and the exit code it calls for.
struct Failure {
  std::string message;
  int exit_code = kExitRejected;
};

// libcrypto's reason for the last failure as " (reason)", or "" if it left none; empties its
// error queue.
std::string OpenSslReason();

// An unencrypted private key, PEM or DER (an encrypted one fails instead of prompting).
bool LoadPrivateKey(const std::string& path, openssl::PkeyPtr& key, Failure& failure);

// Every certificate of a file, appended to out: one DER certificate, or each CERTIFICATE block
// of a PEM file.
bool LoadCertificates(const std::string& path, std::vector<openssl::X509Ptr>& out, Failure& failure);

// The signer's certificate: the one certificate of cert_path, which must hold the public half
// of key (read from key_path).
bool LoadSignerCertificate(const std::string& cert_path, EVP_PKEY* key, const std::string& key_path,
                           openssl::X509Ptr& cert, Failure& failure);

// Writes next to the output and renames, so a failure never leaves a partial file at path.
bool WriteOutput(const std::string& path, const std::vector<uint8_t>& bytes, Failure& failure);

}  // namespace hvsig::tools
