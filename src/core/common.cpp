#include "hvsig/crypto.h"
#include "hvsig/result.h"

namespace hvsig {

const char* ResultName(Result r) {
  switch (r) {
#define HVSIG_RESULT(name) \
  case Result::name:       \
    return #name;
#include "hvsig/result_codes.inc"
#undef HVSIG_RESULT
  }
  return "UnknownResult";
}

const char* DigestAlgName(DigestAlg alg) {
  switch (alg) {
    case DigestAlg::Sha1: return "sha1";
    case DigestAlg::Sha224: return "sha224";
    case DigestAlg::Sha256: return "sha256";
    case DigestAlg::Sha384: return "sha384";
    case DigestAlg::Sha512: return "sha512";
  }
  return "unknown";
}

Result DigestOnce(const CryptoProvider& provider, DigestAlg alg, Input data, uint8_t* out) {
  Digest digest;
  HVSIG_TRY(digest.Begin(provider, alg));
  digest.Update(data);
  digest.Finish(out);
  return Result::Success;
}

}  // namespace hvsig
