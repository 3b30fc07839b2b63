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

// RFC 4514 rendering of a Name element; "<unprintable: Result>" if it does not render.
std::string NameToString(Input name);

}  // namespace hvsig::tools
