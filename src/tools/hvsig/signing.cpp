#include "tools/hvsig/signing.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "tools/common/file_image.h"

namespace hvsig::tools {
namespace {

bool IsPem(const std::vector<uint8_t>& bytes) {
  static const std::string kBegin = "-----BEGIN";
  return std::search(bytes.begin(), bytes.end(), kBegin.begin(), kBegin.end()) != bytes.end();
}

// A passphrase callback that declines: an encrypted key fails instead of prompting.
int NoPassphrase(char*, int, int, void*) { return -1; }

bool ReadInput(const std::string& path, std::vector<uint8_t>& bytes, Failure& failure) {
  std::string io_error;
  if (ReadWholeFile(path, bytes, io_error)) return true;
  failure = {io_error, kExitUsage};
  return false;
}

}  // namespace

std::string OpenSslReason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return std::string(" (") + text + ")";
}

bool LoadPrivateKey(const std::string& path, openssl::PkeyPtr& key, Failure& failure) {
  std::vector<uint8_t> bytes;
  if (!ReadInput(path, bytes, failure)) return false;
  if (IsPem(bytes)) {
    openssl::BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
    key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  } else {
    const uint8_t* p = bytes.data();
    key.reset(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(bytes.size())));
  }
  if (!key) {
    failure = {path + ": not a private key (PEM or DER, unencrypted)" + OpenSslReason()};
    return false;
  }
  return true;
}

bool LoadCertificates(const std::string& path, std::vector<openssl::X509Ptr>& out, Failure& failure) {
  std::vector<uint8_t> bytes;
  if (!ReadInput(path, bytes, failure)) return false;
  const size_t first = out.size();
  if (IsPem(bytes)) {
    openssl::BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
    while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr)) {
      out.emplace_back(cert);
    }
    // The loop ends at the end of the input or at a block that is not a certificate.
    const unsigned long last = ERR_peek_last_error();
    if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
      ERR_clear_error();
    }
  } else {
    const uint8_t* p = bytes.data();
    X509* cert = d2i_X509(nullptr, &p, static_cast<long>(bytes.size()));
    if (cert != nullptr) out.emplace_back(cert);
    if (cert != nullptr && p != bytes.data() + bytes.size()) {
      failure = {path + ": bytes after the DER certificate"};
      return false;
    }
  }
  if (out.size() == first || ERR_peek_error() != 0) {
    failure = {path + ": not a certificate (PEM or DER)" + OpenSslReason()};
    return false;
  }
  return true;
}

bool LoadSignerCertificate(const std::string& cert_path, EVP_PKEY* key, const std::string& key_path,
                           openssl::X509Ptr& cert, Failure& failure) {
  std::vector<openssl::X509Ptr> certificates;
  if (!LoadCertificates(cert_path, certificates, failure)) return false;
  if (certificates.size() != 1) {
    failure = {cert_path + ": holds " + std::to_string(certificates.size()) +
               " certificates; give the signer's alone"};
    return false;
  }
  if (X509_check_private_key(certificates[0].get(), key) != 1) {
    ERR_clear_error();
    failure = {key_path + ": does not match the public key of " + cert_path};
    return false;
  }
  cert = std::move(certificates[0]);
  return true;
}

bool WriteOutput(const std::string& path, const std::vector<uint8_t>& bytes, Failure& failure) {
  const std::string temporary = path + ".hvsig-tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::remove(temporary.c_str());
      failure = {path + ": cannot write", kExitUsage};
      return false;
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    failure = {path + ": cannot write", kExitUsage};
    return false;
  }
  return true;
}

}  // namespace hvsig::tools
