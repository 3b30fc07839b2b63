// Loading certificates for the tools: DER, or PEM with one or many CERTIFICATE blocks.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "hvsig/crypto.h"
#include "hvsig/x509.h"

namespace hvsig::tools {

// Parsed certificates and the bytes they point into (a deque: elements never move).
struct CertificateStore {
  std::deque<std::vector<uint8_t>> der;
  std::vector<Certificate> parsed;
  std::vector<std::string> origin;  // "file" or "file#n" for reports
};

// Appends every certificate of path. False with a message (naming the failed check and its
// offset) on an unreadable file or a certificate that does not parse.
bool LoadCertificates(const std::string& path, const CryptoProvider& provider,
                      CertificateStore& store, std::string& error);

// Splits PEM text into the DER of each "-----BEGIN label-----" block. False on bad base64.
bool DecodePem(const std::string& text, const std::string& label,
               std::vector<std::vector<uint8_t>>& blocks);

// Signature-database files for a keyring: a certificate (DER or PEM) is appended to `certs` as
// is (when certs is not null); anything else is read as signature lists (bare ESL, efivarfs,
// .auth, or an OVMF variable store's `variable`) and appended to `esl`. Returns an empty string
// or what failed.
std::string LoadSignatureDatabase(const std::string& path, const char* variable,
                                  std::vector<std::vector<uint8_t>>* certs,
                                  std::vector<uint8_t>& esl);

// RFC 4514 rendering of a Name element; "<unprintable: Result>" if it does not render.
std::string NameToString(Input name);

}  // namespace hvsig::tools
