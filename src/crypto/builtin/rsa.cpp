// RSA signature verification (RFC 8017): RSASSA-PKCS1-v1_5 and RSASSA-PSS with MGF1, for
// 2048..8192-bit moduli.
//
// Stack: a verify call keeps the modulus and the signature value (2 KiB, RsaWork), which the
// public-key operation turns into the encoded message in place; the bignum code needs about
// 2.4 KiB more (see bignum.h). The encoding checks run after that returns and use at most 1 KiB
// plus a digest context. Peak is about 4.7 KiB whatever the key size (buffers are sized for
// 8192 bits); no frame exceeds 4 KiB.
#include <string.h>

#include "crypto/builtin/bignum.h"
#include "crypto/builtin/builtin.h"

namespace hvsig::builtin {
namespace {

constexpr size_t kMinModulusBits = 2048;
constexpr size_t kMaxModulusBits = kMaxBigNumBits;

// A public key whose magnitudes have passed CheckKey, without leading zero octets.
struct CheckedRsaKey {
  Input modulus;
  Input exponent;
  size_t modulus_bits;
};

Input StripLeadingZeros(Input magnitude) {
  size_t skip = 0;
  while (skip < magnitude.size() && magnitude[skip] == 0) {
    ++skip;
  }
  return Input(magnitude.data() + skip, magnitude.size() - skip);
}

// Orders magnitudes without leading zero octets.
bool IsLess(Input a, Input b) {
  if (a.size() != b.size()) {
    return a.size() < b.size();
  }
  return memcmp(a.data(), b.data(), a.size()) < 0;
}

Result CheckKey(const RsaPublicKey& key, CheckedRsaKey& out) {
  const Input modulus = StripLeadingZeros(key.modulus);
  if (modulus.empty()) {
    return Result::CryptoBadKey;
  }
  const size_t modulus_bits = BitLength(modulus);
  if (modulus_bits < kMinModulusBits) {
    return Result::CryptoKeyTooSmall;
  }
  if (modulus_bits > kMaxModulusBits) {
    return Result::CryptoKeyTooLarge;
  }
  // A product of two odd primes is odd, and Montgomery reduction needs an odd modulus.
  if ((modulus[modulus.size() - 1] & 1) == 0) {
    return Result::CryptoBadKey;
  }
  const Input exponent = StripLeadingZeros(key.exponent);
  if (exponent.empty()) {
    return Result::CryptoBadKey;
  }
  // e = 1 makes every message its own signature.
  if (exponent.size() == 1 && exponent[0] < 3) {
    return Result::CryptoBadKey;
  }
  // An even e shares the factor 2 with (p-1)(q-1), so no private key can exist.
  if ((exponent[exponent.size() - 1] & 1) == 0) {
    return Result::CryptoBadKey;
  }
  if (!IsLess(exponent, modulus)) {
    return Result::CryptoBadKey;
  }
  out = CheckedRsaKey{modulus, exponent, modulus_bits};
  return Result::Success;
}

// The public-key operation's numbers, kept by the verify entry points: the encoded message is
// then produced in the value's own storage rather than in a third 1 KiB buffer.
struct RsaWork {
  MontgomeryModulus modulus;
  BigNum value;
};

// RSAVP1 (RFC 8017 5.2.2) followed by I2OSP to the modulus length: points encoded_message at
// key.modulus.size() octets in work.
Result RecoverEncodedMessage(const CheckedRsaKey& key, Input signature, RsaWork& work,
                             uint8_t*& encoded_message) {
  if (signature.size() != key.modulus.size()) {
    return Result::CryptoBadSignatureLength;
  }
  InitMontgomeryModulus(work.modulus, key.modulus);
  LoadBigNum(signature, work.modulus.limb_count, work.value);
  if (!IsLessThanModulus(work.modulus, work.value)) {
    return Result::CryptoSignatureOutOfRange;
  }
  ModularExponentiate(work.modulus, work.value, key.exponent);
  encoded_message = StoreBigNumInPlace(work.value, key.modulus.size());
  return Result::Success;
}

// DER of DigestInfo ::= SEQUENCE { AlgorithmIdentifier { oid, NULL }, OCTET STRING (digest) }
// up to the digest octets (RFC 8017 9.2 note 1).
constexpr uint8_t kSha1DigestInfoPrefix[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                             0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
constexpr uint8_t kSha224DigestInfoPrefix[] = {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                               0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                               0x04, 0x05, 0x00, 0x04, 0x1c};
constexpr uint8_t kSha256DigestInfoPrefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                               0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                               0x01, 0x05, 0x00, 0x04, 0x20};
constexpr uint8_t kSha384DigestInfoPrefix[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                               0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                               0x02, 0x05, 0x00, 0x04, 0x30};
constexpr uint8_t kSha512DigestInfoPrefix[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                               0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                               0x03, 0x05, 0x00, 0x04, 0x40};
constexpr size_t kMaxDigestInfoPrefixLength = sizeof(kSha224DigestInfoPrefix);

// RFC 8017 9.2 step 3 needs emLen >= tLen + 11; the smallest accepted modulus always has room.
static_assert(kMinModulusBits / 8 >= 11 + kMaxDigestInfoPrefixLength + kMaxDigestLength);

Input DigestInfoPrefix(DigestAlg alg) {
  switch (alg) {
    case DigestAlg::Sha1: return Input(kSha1DigestInfoPrefix);
    case DigestAlg::Sha224: return Input(kSha224DigestInfoPrefix);
    case DigestAlg::Sha256: return Input(kSha256DigestInfoPrefix);
    case DigestAlg::Sha384: return Input(kSha384DigestInfoPrefix);
    case DigestAlg::Sha512: return Input(kSha512DigestInfoPrefix);
  }
  return Input();
}

// EMSA-PKCS1-v1_5 (RFC 8017 9.2) rebuilt in full and compared: parsing the recovered message
// instead is what made Bleichenbacher's e = 3 forgeries possible. Not inlined so that its 1 KiB
// buffer is not part of the frame that is live during the exponentiation.
[[gnu::noinline]] Result MatchEmsaPkcs1(Input encoded_message, Input digest_info_prefix,
                                        Input digest) {
  uint8_t expected[kMaxBigNumBytes];
  const size_t padding_length =
      encoded_message.size() - 3 - digest_info_prefix.size() - digest.size();
  uint8_t* cursor = expected;
  *cursor++ = 0x00;
  *cursor++ = 0x01;
  memset(cursor, 0xff, padding_length);
  cursor += padding_length;
  *cursor++ = 0x00;
  memcpy(cursor, digest_info_prefix.data(), digest_info_prefix.size());
  cursor += digest_info_prefix.size();
  memcpy(cursor, digest.data(), digest.size());
  if (memcmp(expected, encoded_message.data(), encoded_message.size()) != 0) {
    return Result::CryptoBadSignature;
  }
  return Result::Success;
}

// db ^= MGF1(seed, db_length) (RFC 8017 B.2.1).
Result ApplyMgf1Mask(const CryptoProvider& self, DigestAlg alg, Input seed, uint8_t* db,
                     size_t db_length) {
  const size_t block_length = DigestLength(alg);
  uint8_t block[kMaxDigestLength];
  uint32_t counter = 0;
  for (size_t offset = 0; offset < db_length; offset += block_length, ++counter) {
    const uint8_t counter_octets[4] = {uint8_t(counter >> 24), uint8_t(counter >> 16),
                                       uint8_t(counter >> 8), uint8_t(counter)};
    Digest digest;
    HVSIG_TRY(digest.Begin(self, alg));
    digest.Update(seed);
    digest.Update(counter_octets, sizeof(counter_octets));
    digest.Finish(block);
    const size_t chunk = db_length - offset < block_length ? db_length - offset : block_length;
    for (size_t i = 0; i < chunk; ++i) {
      db[offset + i] ^= block[i];
    }
  }
  return Result::Success;
}

// EMSA-PSS-VERIFY (RFC 8017 9.1.2) on the k-octet output of RSAVP1, which is unmasked in place.
// Not inlined, for the same reason as MatchEmsaPkcs1 (its digest context).
[[gnu::noinline]] Result MatchEmsaPss(const CryptoProvider& self, uint8_t* recovered,
                                      size_t recovered_length, size_t modulus_bits, DigestAlg alg,
                                      DigestAlg mgf1_alg, int32_t salt_length,
                                      Input message_hash) {
  const size_t em_bits = modulus_bits - 1;
  const size_t em_length = (em_bits + 7) / 8;
  // RFC 8017 8.1.2 converts to emLen octets; when that is one short of k, the integer must fit.
  uint8_t* em = recovered + (recovered_length - em_length);
  if (em != recovered && recovered[0] != 0) {
    return Result::CryptoBadSignature;
  }
  const size_t hash_length = DigestLength(alg);
  if (em[em_length - 1] != 0xbc) {
    return Result::CryptoBadSignature;
  }
  // RFC 8017 9.1.2 step 3 (emLen >= hLen + sLen + 2): the smallest accepted modulus leaves
  // room for the largest hash, and a salt longer than the caller expects fails the salt-length
  // comparison below.
  static_assert((kMinModulusBits - 1) / 8 >= kMaxDigestLength + 2);
  uint8_t* db = em;
  const size_t db_length = em_length - hash_length - 1;
  const Input h(em + db_length, hash_length);
  const uint8_t top_octet_mask = uint8_t(0xff >> (8 * em_length - em_bits));
  if ((db[0] & ~top_octet_mask) != 0) {
    return Result::CryptoBadSignature;
  }
  HVSIG_TRY(ApplyMgf1Mask(self, mgf1_alg, h, db, db_length));
  db[0] &= top_octet_mask;

  // DB = PS (zeros) || 0x01 || salt. Locating the 0x01 gives the salt length, which must then
  // equal the expected one when the caller gave it.
  size_t separator = 0;
  while (separator < db_length && db[separator] == 0) {
    ++separator;
  }
  if (separator == db_length) {
    return Result::CryptoBadSignature;
  }
  if (db[separator] != 0x01) {
    return Result::CryptoBadSignature;
  }
  const Input salt(db + separator + 1, db_length - separator - 1);
  if (salt_length >= 0 && salt.size() != size_t(salt_length)) {
    return Result::CryptoBadSignature;
  }

  // H' = Hash(00 00 00 00 00 00 00 00 || mHash || salt)
  constexpr uint8_t kZeros[8] = {};
  uint8_t expected_h[kMaxDigestLength];
  Digest digest;
  HVSIG_TRY(digest.Begin(self, alg));
  digest.Update(kZeros, sizeof(kZeros));
  digest.Update(message_hash);
  digest.Update(salt);
  digest.Finish(expected_h);
  if (memcmp(expected_h, h.data(), hash_length) != 0) {
    return Result::CryptoBadSignature;
  }
  return Result::Success;
}

}  // namespace

Result CheckRsaKey(const CryptoProvider&, const RsaPublicKey& key) {
  CheckedRsaKey checked;
  return CheckKey(key, checked);
}

Result VerifyRsaPkcs1(const CryptoProvider&, const RsaPublicKey& key, DigestAlg alg,
                      Input digest, Input signature) {
  CheckedRsaKey checked;
  HVSIG_TRY(CheckKey(key, checked));
  const Input digest_info_prefix = DigestInfoPrefix(alg);
  if (digest_info_prefix.empty()) {
    return Result::CryptoUnsupportedAlgorithm;
  }
  if (digest.size() != DigestLength(alg)) {
    return Result::CryptoBadDigestLength;
  }
  RsaWork work;
  uint8_t* encoded_message = nullptr;
  HVSIG_TRY(RecoverEncodedMessage(checked, signature, work, encoded_message));
  return MatchEmsaPkcs1(Input(encoded_message, checked.modulus.size()), digest_info_prefix,
                        digest);
}

Result VerifyRsaPss(const CryptoProvider& self, const RsaPublicKey& key, DigestAlg alg,
                    DigestAlg mgf1_alg, int32_t salt_length, Input digest, Input signature) {
  CheckedRsaKey checked;
  HVSIG_TRY(CheckKey(key, checked));
  if (DigestLength(alg) == 0) {
    return Result::CryptoUnsupportedAlgorithm;
  }
  if (DigestLength(mgf1_alg) == 0) {
    return Result::CryptoUnsupportedAlgorithm;
  }
  if (digest.size() != DigestLength(alg)) {
    return Result::CryptoBadDigestLength;
  }
  RsaWork work;
  uint8_t* encoded_message = nullptr;
  HVSIG_TRY(RecoverEncodedMessage(checked, signature, work, encoded_message));
  return MatchEmsaPss(self, encoded_message, checked.modulus.size(), checked.modulus_bits, alg,
                      mgf1_alg, salt_length, digest);
}

}  // namespace hvsig::builtin
