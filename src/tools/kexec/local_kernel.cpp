#include "tools/kexec/local_kernel.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "hvsig/crypto_openssl.h"
#include "hvsig/image.h"
#include "hvsig/pe.h"
#include "hvsig/pkcs7.h"
#include "hvsig/x509.h"
#include "tools/common/certs.h"

namespace hvsig::kexec_cli {

namespace {

void AddCertificates(const pkcs7::SignedData& signed_data, std::vector<LocalCertificate>& out) {
  for (uint8_t i = 0; i < signed_data.certificate_count; ++i) {
    Certificate cert;
    if (ParseCertificate(OpenSslProvider(), signed_data.certificates[i], cert) != Result::Success) continue;
    LocalCertificate local;
    if (DigestOnce(OpenSslProvider(), DigestAlg::Sha256, cert.subject, local.subject_sha256) != Result::Success) {
      continue;
    }
    local.serial.assign(cert.serial.begin(), cert.serial.end());
    local.subject = tools::NameToString(cert.subject);
    out.push_back(std::move(local));
  }
}

}  // namespace

std::vector<LocalCertificate> KernelCertificates(std::span<const uint8_t> kernel) {
  std::vector<LocalCertificate> out;
  MemoryImage memory(Input(kernel.data(), kernel.size()));
  auto pe = std::make_unique<pe::PeImage>();
  Error error;
  if (pe::ParsePe(memory.Source(), pe::Profile::Compat, *pe, error) != Result::Success) return out;
  for (uint8_t i = 0; i < pe->certificate_count; ++i) {
    const pe::ByteRange& der = pe->certificates[i].der;
    pkcs7::SignedData signed_data;
    if (pkcs7::ParseAuthenticode(Input(kernel.data() + der.offset, der.length), signed_data) != Result::Success) {
      continue;
    }
    AddCertificates(signed_data, out);
    for (uint8_t n = 0; n < signed_data.signer.nested_count; ++n) {
      pkcs7::SignedData nested;
      if (pkcs7::ParseAuthenticode(signed_data.signer.nested[n], nested) == Result::Success) {
        AddCertificates(nested, out);
      }
    }
  }
  return out;
}

const LocalCertificate* FindReportedSigner(const std::vector<LocalCertificate>& certificates,
                                           const uint8_t (&subject_sha256)[32], std::span<const uint8_t> serial) {
  for (const LocalCertificate& cert : certificates) {
    if (std::memcmp(cert.subject_sha256, subject_sha256, sizeof subject_sha256) != 0) continue;
    if (!serial.empty() && !std::equal(serial.begin(), serial.end(), cert.serial.begin(), cert.serial.end())) {
      continue;
    }
    return &cert;
  }
  return nullptr;
}

}  // namespace hvsig::kexec_cli
