#include <cstdio>
#include <memory>

#include "hvsig/pe.h"
#include "tools/common/file_image.h"
#include "tools/hvsig/commands.h"

namespace hvsig::tools {

const CryptoProvider& SelectProvider(const std::string& name) { return *ProviderByName(name); }

bool ParseDigestAlg(const std::string& name, DigestAlg& alg) {
  for (DigestAlg candidate : {DigestAlg::Sha1, DigestAlg::Sha224, DigestAlg::Sha256,
                              DigestAlg::Sha384, DigestAlg::Sha512}) {
    if (name == DigestAlgName(candidate)) {
      alg = candidate;
      return true;
    }
  }
  return false;
}

int RunDigest(const GlobalOptions& global, const DigestOptions& options) {
  DigestAlg alg;
  if (!ParseDigestAlg(options.alg, alg)) {
    std::fprintf(stderr, "hvsig digest: unknown algorithm %s\n", options.alg.c_str());
    return kExitUsage;
  }
  FileImage file;
  std::string io_error;
  if (!file.Open(options.image, io_error)) {
    std::fprintf(stderr, "hvsig digest: %s\n", io_error.c_str());
    return kExitUsage;
  }
  auto pe = std::make_unique<pe::PeImage>();
  Error error;
  // The digest is defined for any well-formed image, whatever its layout: use the compat
  // profile so gaps are hashed the way the spec (and pesign -h) does.
  if (pe::ParsePe(file.Source(), pe::Profile::Compat, *pe, error) != Result::Success) {
    std::fprintf(stderr, "hvsig digest: %s: malformed PE: %s at offset %llu\n",
                 options.image.c_str(), ResultName(error.result),
                 static_cast<unsigned long long>(error.offset));
    return kExitRejected;
  }
  uint8_t digest[kMaxDigestLength];
  if (pe::ComputeImageDigest(SelectProvider(global.provider), file.Source(), *pe, alg, digest,
                             error) != Result::Success) {
    std::fprintf(stderr, "hvsig digest: %s: %s at offset %llu\n", options.image.c_str(),
                 ResultName(error.result), static_cast<unsigned long long>(error.offset));
    return error.result == Result::ImageReadFailed ? kExitUsage : kExitRejected;
  }
  std::printf("%s\n", Hex(digest, DigestLength(alg)).c_str());
  return kExitOk;
}

}  // namespace hvsig::tools
