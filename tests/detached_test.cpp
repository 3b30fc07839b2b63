// Detached CMS signatures over caller-supplied content (authenticode::PrepareDetached /
// HashDetached, policy::DecideDetached), as Linux verifies module and IMA signatures. The
// signatures are made at test time by `openssl cms -sign -binary` (the oracle), with and
// without signed attributes (-noattr), certificates (-nocerts) and issuer+serial vs SKID
// (-keyid); the signer's certificate is then found in a keyring.
#include <memory>

#include "hvsig/crypto_builtin.h"
#include "hvsig/policy.h"
#include "signing_support.h"
#include "test_support.h"

namespace hvsig::test {
namespace {

using authenticode::DetachedVerification;

struct SignOptions {
  bool attributes = true;
  bool certificates = true;
  bool key_id = false;
  bool attached = false;  // -nodetach: eContent present (not a detached signature)
};

Bytes Sign(const std::string& tag, const Bytes& content, const Credential& signer,
           const SignOptions& o) {
  return CmsSign("detached-" + tag, content, signer,
                 std::string(o.attributes ? "" : " -noattr") + (o.certificates ? "" : " -nocerts") +
                     (o.key_id ? " -keyid" : "") + (o.attached ? " -nodetach" : ""));
}

// Content served in small, odd-sized chunks: hashing must not assume one contiguous view.
struct ChunkedContent {
  const Bytes* bytes;
  static Result View(void* opaque, uint64_t offset, size_t max_length, Input& chunk) {
    const auto* self = static_cast<const ChunkedContent*>(opaque);
    size_t length = 4093;
    if (length > max_length) length = max_length;
    if (length > self->bytes->size() - offset) length = self->bytes->size() - offset;
    chunk = Input(self->bytes->data() + offset, length);
    return Result::Success;
  }
};

struct Rings {
  Rings() {
    for (size_t i = 0; i < keyring::kKeyringCount; ++i) {
      keyring::Init(rings[i], static_cast<keyring::KeyringId>(i));
      view.rings[i] = &rings[i];
    }
  }
  void Add(keyring::KeyringId id, const std::string& pem_cert) {
    ders.push_back(std::make_unique<Bytes>(CertificateDer(pem_cert)));
    Certificate cert;
    ASSERT_EQ(ParseCertificate(BuiltinProvider(), In(*ders.back()), cert), Result::Success);
    ASSERT_EQ(keyring::AddCertificate(rings[static_cast<size_t>(id)], cert,
                                      id == keyring::KeyringId::Blacklist ? keyring::Origin::Dbx
                                                                          : keyring::Origin::Builtin),
              Result::Success);
  }
  std::vector<std::unique_ptr<Bytes>> ders;
  keyring::Keyring rings[keyring::kKeyringCount];
  policy::Keyrings view;
};

struct Outcome {
  Result result;
  std::unique_ptr<policy::Decision> decision = std::make_unique<policy::Decision>();
  std::unique_ptr<DetachedVerification> v = std::make_unique<DetachedVerification>();
};

std::unique_ptr<Outcome> Verify(const Bytes& content, const Bytes& signature, const Rings& rings,
                                policy::Purpose purpose = policy::Purpose::Kexec) {
  auto o = std::make_unique<Outcome>();
  const CryptoProvider& provider = BuiltinProvider();
  if (authenticode::PrepareDetached(In(signature), *o->v) == Result::Success) {
    ChunkedContent chunked{&content};
    const ImageSource source{content.size(), ChunkedContent::View, &chunked};
    EXPECT_EQ(authenticode::HashDetached(provider, source, *o->v), Result::Success);
  }
  const policy::Policy policy = policy::DefaultPolicy(purpose);
  o->result = policy::DecideDetached(provider, rings.view, policy, authenticode::Options{}, *o->v,
                                     *o->decision);
  return o;
}

Bytes Content(size_t size = 300000) {
  std::mt19937 rng(11);
  return RandomBytes(size, &rng);
}

class Detached : public ::testing::Test {
 protected:
  void SetUp() override {
    id = Identity("detached", KeyType::Rsa2048);
    ec = Identity("detached-ec", KeyType::P256);
  }
  SigningIdentity id, ec;
};

TEST_F(Detached, EachSignatureShapeIsTrustedThroughTheCaInAKeyring) {
  const Bytes content = Content();
  Rings rings;
  rings.Add(keyring::KeyringId::Builtin, id.ca.cert);
  for (bool attributes : {true, false}) {
    SCOPED_TRACE(attributes ? "signed attributes" : "-noattr");
    const Bytes sig = Sign("shape", content, id.signer, {attributes, true, false, false});
    auto o = Verify(content, sig, rings);
    EXPECT_EQ(o->result, Result::Success) << ResultName(o->result);
    EXPECT_EQ(o->decision->verdict, policy::Verdict::Trusted);
    EXPECT_EQ(o->decision->keyring, keyring::KeyringId::Builtin);
    EXPECT_EQ(o->v->signed_data.signer.has_signed_attributes, attributes);
    EXPECT_EQ(Bytes(o->decision->audit.image_sha256, o->decision->audit.image_sha256 + 32),
              OpenSslDigest(DigestAlg::Sha256, content));
    ASSERT_TRUE(o->decision->audit.signer.present);
    const Bytes signer_der = CertificateDer(id.signer.cert);
    Certificate signer;
    ASSERT_EQ(ParseCertificate(BuiltinProvider(), In(signer_der), signer), Result::Success);
    EXPECT_EQ(Bytes(o->decision->audit.signer.subject_sha256,
                    o->decision->audit.signer.subject_sha256 + 32),
              OpenSslDigest(DigestAlg::Sha256, Bytes(signer.subject.begin(), signer.subject.end())));
    EXPECT_TRUE(o->decision->audit.anchor.present);
  }
}

TEST_F(Detached, WithoutCertificatesTheSignerIsFoundInTheKeyrings) {
  const Bytes content = Content();
  Rings signer_in_ring;
  signer_in_ring.Add(keyring::KeyringId::Platform, ec.signer.cert);  // fallback keyring for kexec
  Rings only_ca;
  only_ca.Add(keyring::KeyringId::Builtin, ec.ca.cert);
  for (bool attributes : {true, false}) {
    for (bool key_id : {false, true}) {
      SCOPED_TRACE(std::string(attributes ? "attrs" : "noattr") + (key_id ? " keyid" : " issuer+serial"));
      const Bytes sig = Sign("nocerts", content, ec.signer, {attributes, false, key_id, false});
      auto o = Verify(content, sig, signer_in_ring);
      EXPECT_EQ(o->v->signed_data.certificate_count, 0);
      EXPECT_EQ(o->v->signed_data.signer.identified_by_key_id, key_id);
      EXPECT_EQ(o->result, Result::Success) << ResultName(o->result);
      EXPECT_EQ(o->decision->keyring, keyring::KeyringId::Platform);
      // The keyring that only holds the CA cannot name the signer: untrusted, as Linux's ENOKEY.
      EXPECT_EQ(Verify(content, sig, only_ca)->result, Result::NotTrusted);
    }
  }
}

TEST_F(Detached, ChangedContentIsAMismatch) {
  const Bytes content = Content();
  Bytes changed = content;
  changed[changed.size() / 3] ^= 1;
  Rings rings;
  rings.Add(keyring::KeyringId::Builtin, id.ca.cert);
  auto with = Verify(changed, Sign("changed-attr", content, id.signer, {}), rings);
  EXPECT_EQ(with->result, Result::MessageDigestMismatch);
  EXPECT_EQ(with->decision->verdict, policy::Verdict::Rejected);
  // Without attributes the signature covers the digest itself: it no longer verifies.
  auto without = Verify(changed, Sign("changed-noattr", content, id.signer, {false}), rings);
  EXPECT_EQ(without->result, Result::CryptoBadSignature);
  EXPECT_EQ(Verify(Bytes(content.begin(), content.end() - 1),
                   Sign("changed-noattr", content, id.signer, {false}), rings)->result,
            Result::CryptoBadSignature) << "truncated content";
}

TEST_F(Detached, UnknownSignerIsUntrustedAndRevokedSignerIsRevoked) {
  const Bytes content = Content();
  const SigningIdentity unknown = Identity("detached-unknown", KeyType::Rsa2048);
  Rings rings;
  rings.Add(keyring::KeyringId::Builtin, id.ca.cert);
  EXPECT_EQ(Verify(content, Sign("unknown", content, unknown.signer, {}), rings)->result,
            Result::NotTrusted);

  rings.Add(keyring::KeyringId::Blacklist, id.signer.cert);
  auto revoked = Verify(content, Sign("revoked", content, id.signer, {}), rings);
  EXPECT_EQ(revoked->result, Result::RevokedCertificate);
  EXPECT_EQ(revoked->decision->revocation_count, 1u);
  // Revocation holds when the signer comes from a keyring too.
  Rings ring_signer;
  ring_signer.Add(keyring::KeyringId::Builtin, id.signer.cert);
  ring_signer.Add(keyring::KeyringId::Blacklist, id.signer.cert);
  EXPECT_EQ(Verify(content, Sign("revoked-nocerts", content, id.signer, {true, false}),
                   ring_signer)->result,
            Result::RevokedCertificate);
}

TEST_F(Detached, MalformedSignaturesAreParseErrors) {
  const Bytes content = Content(5000);
  Rings rings;
  rings.Add(keyring::KeyringId::Builtin, id.ca.cert);
  const Bytes good = Sign("malformed", content, id.signer, {});
  auto truncated = Verify(content, Bytes(good.begin(), good.end() - 10), rings);
  // The outer SEQUENCE's length runs past the input.
  EXPECT_EQ(truncated->result, Result::DerTruncated) << ResultName(truncated->result);
  EXPECT_EQ(truncated->decision->verdict, policy::Verdict::Rejected);
  // SEQUENCEs where the contentType OID belongs.
  EXPECT_EQ(Verify(content, Bytes(64, 0x30), rings)->result, Result::DerUnexpectedTag);
  EXPECT_EQ(Verify(content, Bytes{}, rings)->result, Result::DerTruncated);
  // Content inside the signature: not a detached signature.
  EXPECT_EQ(Verify(content, Sign("attached", content, id.signer, {true, true, false, true}), rings)
                ->result,
            Result::Pkcs7ContentNotDetached);
}

}  // namespace
}  // namespace hvsig::test
