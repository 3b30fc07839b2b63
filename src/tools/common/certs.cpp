#include "tools/common/certs.h"

#include "hvsig/efi.h"
#include "tools/common/file_image.h"

namespace hvsig::tools {
namespace {

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool DecodeBase64(const std::string& text, std::vector<uint8_t>& out) {
  uint32_t accumulator = 0;
  int bits = 0;
  size_t padding = 0;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    const int value = Base64Value(c);
    if (value < 0 || padding != 0) return false;
    accumulator = (accumulator << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(accumulator >> bits));
    }
  }
  return padding <= 2;
}

}  // namespace

bool DecodePem(const std::string& text, const std::string& label,
               std::vector<std::vector<uint8_t>>& blocks) {
  const std::string begin = "-----BEGIN " + label + "-----";
  const std::string end = "-----END " + label + "-----";
  size_t at = 0;
  while ((at = text.find(begin, at)) != std::string::npos) {
    const size_t body = at + begin.size();
    const size_t stop = text.find(end, body);
    if (stop == std::string::npos) return false;
    std::vector<uint8_t> der;
    if (!DecodeBase64(text.substr(body, stop - body), der)) return false;
    blocks.push_back(std::move(der));
    at = stop + end.size();
  }
  return true;
}

bool LoadCertificates(const std::string& path, const CryptoProvider& provider,
                      CertificateStore& store, std::string& error) {
  std::vector<uint8_t> bytes;
  if (!ReadWholeFile(path, bytes, error)) return false;
  const std::string text(bytes.begin(), bytes.end());
  std::vector<std::vector<uint8_t>> blocks;
  if (text.find("-----BEGIN") != std::string::npos) {
    if (!DecodePem(text, "CERTIFICATE", blocks)) {
      error = path + ": malformed PEM";
      return false;
    }
    if (blocks.empty()) {
      error = path + ": no CERTIFICATE block";
      return false;
    }
  } else {
    blocks.push_back(std::move(bytes));
  }
  for (size_t i = 0; i < blocks.size(); ++i) {
    store.der.push_back(std::move(blocks[i]));
    const std::vector<uint8_t>& der = store.der.back();
    Certificate cert{};
    der::Error der_error;
    if (ParseCertificate(provider, Input(der.data(), der.size()), cert, &der_error) !=
        Result::Success) {
      error = path + (blocks.size() > 1 ? "#" + std::to_string(i) : "") + ": " +
              ResultName(der_error.result) + " at offset " + std::to_string(der_error.offset);
      store.der.pop_back();
      return false;
    }
    store.parsed.push_back(cert);
    store.origin.push_back(blocks.size() > 1 ? path + "#" + std::to_string(i) : path);
  }
  return true;
}

std::string LoadSignatureDatabase(const std::string& path, const char* variable,
                                  std::vector<std::vector<uint8_t>>* certs,
                                  std::vector<uint8_t>& esl) {
  std::vector<uint8_t> bytes;
  std::string error;
  if (!ReadWholeFile(path, bytes, error)) return error;
  const std::string text(bytes.begin(), bytes.end());
  if (certs != nullptr && text.find("-----BEGIN CERTIFICATE-----") != std::string::npos) {
    if (!DecodePem(text, "CERTIFICATE", *certs)) return path + ": bad PEM";
    return {};
  }
  if (certs != nullptr && !bytes.empty() && bytes[0] == 0x30) {  // a DER SEQUENCE: Certificate
    certs->push_back(bytes);
    return {};
  }
  efi::SignatureDatabase database{};
  Error parse_error;
  const Result r = efi::OpenSignatureDatabase(Input(bytes.data(), bytes.size()),
                                              efi::VariableFormat::Auto, variable, database,
                                              parse_error);
  if (r != Result::Success) {
    return path + ": " + ResultName(r) + " at offset " + std::to_string(parse_error.offset);
  }
  esl.insert(esl.end(), database.lists.data(), database.lists.data() + database.lists.size());
  return {};
}

std::string NameToString(Input name) {
  std::vector<char> buffer(4096);
  size_t length = 0;
  Result r = FormatName(name, buffer.data(), buffer.size(), length);
  if (r != Result::Success) return std::string("<unprintable: ") + ResultName(r) + ">";
  return std::string(buffer.data(), length);
}

}  // namespace hvsig::tools
