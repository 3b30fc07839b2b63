// The X.509 parser and chain building: the input is up to four DER certificates back to back.
// Each is parsed, its names rendered and its self-signature checked; then each is offered to
// a secondary keyring whose admission requires a chain to the builtin keyring (the fuzz CA
// and every certificate of the input that parsed), as Linux's restrict_link does.
#include <string.h>

#include "fuzz_support.h"
#include "hvsig/der.h"
#include "hvsig/keyring.h"
#include "hvsig/x509.h"

namespace {

using namespace hvsig;

constexpr size_t kMaxCertificates = 4;

struct State {
  Certificate certs[kMaxCertificates];
  keyring::Keyring builtin;
  keyring::Keyring secondary;
  char name[4096];
};

void CheckName(State& s, Input name) {
  size_t length = 0;
  if (FormatName(name, s.name, sizeof s.name, length) == Result::Success) {
    HVSIG_FUZZ_CHECK(length < sizeof s.name && s.name[length] == '\0' && strlen(s.name) == length);
  }
}

}  // namespace

HVSIG_FUZZ_TARGET(x509) {
  static State* state = new State();
  State& s = *state;
  const CryptoProvider& provider = fuzz::Provider();
  const fuzz::Trust& trust = fuzz::FuzzTrust();

  SubjectPublicKeyInfo spki;
  (void)ParseSubjectPublicKeyInfo(provider, Input(data, size), spki);

  keyring::Init(s.builtin, keyring::KeyringId::Builtin);
  keyring::Init(s.secondary, keyring::KeyringId::Secondary);
  HVSIG_FUZZ_CHECK(keyring::AddCertificate(s.builtin, trust.ca, keyring::Origin::Builtin) ==
                   Result::Success);

  der::Reader reader(Input(data, size));
  size_t count = 0;
  while (count < kMaxCertificates && !reader.AtEnd()) {
    Input der;
    if (reader.ReadRawAny(der) != Result::Success) break;
    Certificate& cert = s.certs[count];
    der::Error error;
    if (ParseCertificate(provider, der, cert, &error) != Result::Success) {
      HVSIG_FUZZ_CHECK(error.result != Result::Success && error.offset <= der.size());
      continue;
    }
    HVSIG_FUZZ_CHECK(cert.der == der);
    HVSIG_FUZZ_CHECK(cert.version >= 1 && cert.version <= 3);
    HVSIG_FUZZ_CHECK(cert.serial.size() >= 1 && cert.serial.size() <= kMaxSerialLength);
    HVSIG_FUZZ_CHECK(cert.ext_key_usage_count <= kMaxExtKeyUsages);
    CheckName(s, cert.issuer);
    CheckName(s, cert.subject);
    (void)HasExtKeyUsage(cert, kOidEkuCodeSigning);
    (void)HasKeyUsage(cert, KeyUsageBit::KeyCertSign);
    (void)VerifyCertificateSignature(provider, cert, cert.key);
    (void)keyring::AddCertificate(s.builtin, cert, keyring::Origin::Runtime);
    ++count;
  }
  for (size_t i = 0; i < count; ++i) {
    (void)keyring::FindIssuer(provider, s.builtin, s.certs[i]);
    (void)keyring::AddToSecondary(provider, s.secondary, s.builtin, &trust.blacklist, s.certs[i]);
    (void)keyring::FindBySkid(s.builtin, s.certs[i].authority_key_id);
    (void)keyring::FindByIssuerSerial(s.builtin, s.certs[i].issuer, s.certs[i].serial);
  }
  return 0;
}
