// What the kernel file in hand says about its own signature, for display only: the hypervisor
// decides and reports the signer as hashes (OUT signer_subject_sha256, signer_serial); this
// names that certificate by finding it among the certificates the file carries.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace hvsig::kexec_cli {

struct LocalCertificate {
  uint8_t subject_sha256[32];
  std::vector<uint8_t> serial;  // magnitude, as x509 parses it
  std::string subject;          // RFC 4514
};

// Every certificate of every signature in the file, nested signatures included, in file order;
// none if the file is not a PE or carries no signature that parses.
std::vector<LocalCertificate> KernelCertificates(std::span<const uint8_t> kernel);

// The certificate the hypervisor reported (same subject hash; same serial when one was
// reported), or null.
const LocalCertificate* FindReportedSigner(const std::vector<LocalCertificate>& certificates,
                                           const uint8_t (&subject_sha256)[32], std::span<const uint8_t> serial);

}  // namespace hvsig::kexec_cli
