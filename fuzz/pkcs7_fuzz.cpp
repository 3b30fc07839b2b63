// PKCS#7 signature blobs: the input is a WIN_CERTIFICATE payload (the DER plus alignment
// padding), parsed as Authenticode SignedData and as a detached CMS signature; what parses is
// carried through signed-attribute digesting, content hashing and chain building to the fuzz
// CA (authenticode::EvaluateDetached).
#include "fuzz_support.h"
#include "hvsig/authenticode.h"
#include "hvsig/pkcs7.h"

namespace {

using namespace hvsig;

struct State {
  pkcs7::SignedData signed_data;
  authenticode::DetachedVerification detached;
};

constexpr uint8_t kContent[] = "hvsig fuzz detached content\n";

}  // namespace

HVSIG_FUZZ_TARGET(pkcs7) {
  static State* state = new State();
  State& s = *state;
  const CryptoProvider& provider = fuzz::Provider();
  const Input payload(data, size);

  size_t der_length = 0;
  if (pkcs7::MeasureSignatureBlob(payload, der_length) == Result::Success) {
    HVSIG_FUZZ_CHECK(der_length <= size && size - der_length <= 7);
  }
  const Input der(data, der_length);

  for (pkcs7::ContentKind kind : {pkcs7::ContentKind::Authenticode, pkcs7::ContentKind::DetachedData}) {
    der::Error error;
    if (pkcs7::ParseSignedData(der, kind, s.signed_data, &error) != Result::Success) {
      HVSIG_FUZZ_CHECK(error.offset <= der.size());
      continue;
    }
    const pkcs7::SignedData& sd = s.signed_data;
    HVSIG_FUZZ_CHECK(sd.certificate_count <= pkcs7::kMaxCertificates);
    HVSIG_FUZZ_CHECK(sd.signer.nested_count <= pkcs7::kMaxNested);
    if (kind == pkcs7::ContentKind::Authenticode) {
      HVSIG_FUZZ_CHECK(sd.indirect.digest.size() == DigestLength(sd.indirect.digest_alg));
    }
    if (sd.signer.has_signed_attributes) {
      uint8_t digest[kMaxDigestLength];
      (void)pkcs7::DigestSignedAttributes(provider, sd.signer, digest);
    }
  }

  authenticode::DetachedVerification& d = s.detached;
  if (authenticode::PrepareDetached(der, d) != Result::Success) return 0;
  uint8_t content_copy[sizeof kContent];
  __builtin_memcpy(content_copy, kContent, sizeof kContent);
  MemoryImage content(Input(content_copy, sizeof content_copy));
  if (authenticode::HashDetached(provider, content.Source(), d) != Result::Success) return 0;
  const fuzz::Trust& trust = fuzz::FuzzTrust();
  const authenticode::AnchorSet anchors{&trust.ca, 1};
  (void)authenticode::EvaluateDetached(provider, anchors, authenticode::Options{}, d);
  return 0;
}
