// CryptoProvider on libgcrypt: gcry_md_* for digests, gcry_pk_verify on S-expressions for RSA
// and ECDSA.
//
// libgcrypt accepts more than hvsig does (any RSA key size or exponent, signatures shorter than
// the modulus, and it takes ECDSA r and s as bare numbers), so the builtin provider's checks run
// first, with its Results (the RSA ones are shared with the OpenSSL provider), and libgcrypt
// only does the arithmetic.
#include "hvsig/crypto_gcrypt.h"

#include <gcrypt.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "crypto/hosted/rsa_policy.h"
#include "hvsig/der.h"

namespace hvsig {
namespace {

template <auto Free>
struct FreeWith {
  template <typename T>
  void operator()(T* p) const { Free(p); }
};
using SexpPtr = std::unique_ptr<gcry_sexp, FreeWith<gcry_sexp_release>>;
using MpiPtr = std::unique_ptr<gcry_mpi, FreeWith<gcry_mpi_release>>;
using PointPtr = std::unique_ptr<gcry_mpi_point, FreeWith<gcry_mpi_point_release>>;
using EcContextPtr = std::unique_ptr<gcry_context, FreeWith<gcry_ctx_release>>;

// libgcrypt must be told, once and before any other use, which version the caller was built
// against and that initialization is over. Verification handles no secrets, so no secure
// memory pool is set up (it would need mlock and, without it, warns on every allocation). A
// process whose other code initialized libgcrypt already keeps its settings. The function-local
// static makes this once-only and thread-safe.
bool LibraryReady() {
  static const bool ready = [] {
    if (gcry_check_version(GCRYPT_VERSION) == nullptr) {
      return false;  // the runtime library is older than the headers we were built with
    }
    if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
      gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
      gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    }
    return true;
  }();
  return ready;
}

int MdAlgo(DigestAlg alg) {
  switch (alg) {
    case DigestAlg::Sha1: return GCRY_MD_SHA1;
    case DigestAlg::Sha224: return GCRY_MD_SHA224;
    case DigestAlg::Sha256: return GCRY_MD_SHA256;
    case DigestAlg::Sha384: return GCRY_MD_SHA384;
    case DigestAlg::Sha512: return GCRY_MD_SHA512;
  }
  return GCRY_MD_NONE;
}

// --- digests ----------------------------------------------------------------------------------

gcry_md_hd_t LoadHandle(const DigestContext& ctx) {
  gcry_md_hd_t handle;
  std::memcpy(&handle, ctx.state, sizeof handle);
  return handle;
}

void StoreHandle(DigestContext& ctx, gcry_md_hd_t handle) {
  std::memcpy(ctx.state, &handle, sizeof handle);
}

Result DigestInit(const CryptoProvider& self, DigestAlg alg, DigestContext& ctx) {
  if (!LibraryReady()) {
    return Result::CryptoProviderFailure;
  }
  const int algo = MdAlgo(alg);
  if (algo == GCRY_MD_NONE) {
    return Result::CryptoUnsupportedAlgorithm;
  }
  gcry_md_hd_t handle = nullptr;
  if (gcry_md_open(&handle, algo, 0) != 0) {
    return Result::CryptoProviderFailure;
  }
  ctx.provider = &self;
  ctx.alg = alg;
  StoreHandle(ctx, handle);
  return Result::Success;
}

void DigestUpdate(DigestContext& ctx, const uint8_t* data, size_t length) {
  gcry_md_write(LoadHandle(ctx), data, length);
}

void DigestRelease(DigestContext& ctx) {
  gcry_md_close(LoadHandle(ctx));
  StoreHandle(ctx, nullptr);
}

// The interface has no error channel for final (the builtin cannot fail there). gcry_md_read
// fails only for an algorithm the handle was not opened with, i.e. a corrupted context; a
// silently wrong digest would be worse than stopping.
void DigestFinal(DigestContext& ctx, uint8_t* out) {
  const unsigned char* digest = gcry_md_read(LoadHandle(ctx), MdAlgo(ctx.alg));
  if (digest == nullptr) {
    std::abort();
  }
  std::memcpy(out, digest, DigestLength(ctx.alg));
  DigestRelease(ctx);
}

// --- S-expressions ----------------------------------------------------------------------------

// gcry_sexp_build's %b takes an int length, then the bytes.
int SexpLength(Input bytes) { return static_cast<int>(bytes.size()); }

// Maps gcry_pk_verify's answer: only GPG_ERR_BAD_SIGNATURE is a verdict on the signature.
Result VerifyResult(gcry_error_t error) {
  if (error == 0) {
    return Result::Success;
  }
  if (gcry_err_code(error) == GPG_ERR_BAD_SIGNATURE) {
    return Result::CryptoBadSignature;
  }
  return Result::CryptoProviderFailure;
}

Result PkVerify(const SexpPtr& signature, const SexpPtr& data, const SexpPtr& key) {
  if (signature == nullptr || data == nullptr || key == nullptr) {
    return Result::CryptoProviderFailure;
  }
  return VerifyResult(gcry_pk_verify(signature.get(), data.get(), key.get()));
}

template <typename... Args>
SexpPtr BuildSexp(const char* format, Args... args) {
  gcry_sexp_t sexp = nullptr;
  if (gcry_sexp_build(&sexp, nullptr, format, args...) != 0) {
    return nullptr;
  }
  return SexpPtr(sexp);
}

// --- RSA --------------------------------------------------------------------------------------

SexpPtr RsaKeySexp(const hosted::NormalizedRsaKey& key) {
  return BuildSexp("(public-key(rsa(n%b)(e%b)))", SexpLength(key.modulus), key.modulus.data(),
                   SexpLength(key.exponent), key.exponent.data());
}

SexpPtr RsaSignatureSexp(Input signature) {
  return BuildSexp("(sig-val(rsa(s%b)))", SexpLength(signature), signature.data());
}

Result CheckRsaKey(const CryptoProvider&, const RsaPublicKey& key) {
  hosted::NormalizedRsaKey normalized;
  return hosted::CheckRsaPolicy(key, normalized);
}

Result VerifyRsaPkcs1(const CryptoProvider&, const RsaPublicKey& key, DigestAlg alg, Input digest,
                      Input signature) {
  hosted::NormalizedRsaKey normalized;
  HVSIG_TRY(hosted::CheckRsaVerifyInputs(key, alg, digest, signature, normalized));
  if (!LibraryReady()) {
    return Result::CryptoProviderFailure;
  }
  // With (flags pkcs1) libgcrypt builds the whole encoded message (padding and DigestInfo) from
  // the hash and compares it with the recovered one.
  const SexpPtr data = BuildSexp("(data(flags pkcs1)(hash %s %b))", DigestAlgName(alg),
                                 SexpLength(digest), digest.data());
  return PkVerify(RsaSignatureSexp(signature), data, RsaKeySexp(normalized));
}

// EM = s^e mod n, as k octets (libgcrypt's raw RSA "encryption" is the public operation).
Result RecoverEncodedMessage(const SexpPtr& key, Input signature, std::vector<uint8_t>& em) {
  const SexpPtr data = BuildSexp("(data(flags raw)(value %b))", SexpLength(signature),
                                 signature.data());
  if (key == nullptr || data == nullptr) {
    return Result::CryptoProviderFailure;
  }
  gcry_sexp_t encrypted = nullptr;
  if (gcry_pk_encrypt(&encrypted, data.get(), key.get()) != 0) {
    return Result::CryptoProviderFailure;
  }
  const SexpPtr result(encrypted);
  const SexpPtr element(gcry_sexp_find_token(result.get(), "a", 0));
  const MpiPtr value(element ? gcry_sexp_nth_mpi(element.get(), 1, GCRYMPI_FMT_USG) : nullptr);
  size_t written = 0;
  if (value == nullptr ||
      gcry_mpi_print(GCRYMPI_FMT_USG, em.data(), em.size(), &written, value.get()) != 0) {
    return Result::CryptoProviderFailure;
  }
  std::memmove(em.data() + (em.size() - written), em.data(), written);
  std::memset(em.data(), 0, em.size() - written);
  return Result::Success;
}

// MGF1 (RFC 8017 B.2.1) mask applied to `masked` in place.
Result ApplyMgf1Mask(DigestAlg alg, Input seed, uint8_t* masked, size_t length) {
  const size_t hash_length = DigestLength(alg);
  for (uint32_t counter = 0; size_t{counter} * hash_length < length; ++counter) {
    gcry_md_hd_t handle = nullptr;
    if (gcry_md_open(&handle, MdAlgo(alg), 0) != 0) {
      return Result::CryptoProviderFailure;
    }
    const uint8_t counter_octets[4] = {uint8_t(counter >> 24), uint8_t(counter >> 16),
                                       uint8_t(counter >> 8), uint8_t(counter)};
    gcry_md_write(handle, seed.data(), seed.size());
    gcry_md_write(handle, counter_octets, sizeof counter_octets);
    const unsigned char* block = gcry_md_read(handle, MdAlgo(alg));
    if (block == nullptr) {
      gcry_md_close(handle);
      return Result::CryptoProviderFailure;
    }
    const size_t offset = size_t{counter} * hash_length;
    for (size_t i = 0; i < hash_length && offset + i < length; ++i) {
      masked[offset + i] ^= block[i];
    }
    gcry_md_close(handle);
  }
  return Result::Success;
}

// The salt length an EMSA-PSS encoding (RFC 8017 9.1.2) carries: DB = PS (zeros) || 0x01 ||
// salt. libgcrypt's PSS verify needs the length up front; the encoding is then verified in
// full by gcry_pk_verify, so only what locating the separator needs is looked at here.
Result RecoverSaltLength(const SexpPtr& key, size_t modulus_bits, DigestAlg alg, Input signature,
                         int32_t& salt_length) {
  std::vector<uint8_t> recovered(signature.size());
  HVSIG_TRY(RecoverEncodedMessage(key, signature, recovered));
  const size_t em_bits = modulus_bits - 1;
  const size_t em_length = (em_bits + 7) / 8;
  uint8_t* em = recovered.data() + (recovered.size() - em_length);
  const size_t hash_length = DigestLength(alg);
  const size_t db_length = em_length - hash_length - 1;  // the key policy leaves room
  HVSIG_TRY(ApplyMgf1Mask(alg, Input(em + db_length, hash_length), em, db_length));
  em[0] &= uint8_t(0xff >> (8 * em_length - em_bits));
  size_t separator = 0;
  while (separator < db_length && em[separator] == 0) {
    ++separator;
  }
  if (separator == db_length || em[separator] != 0x01) {
    return Result::CryptoBadSignature;
  }
  salt_length = static_cast<int32_t>(db_length - separator - 1);
  return Result::Success;
}

Result VerifyRsaPss(const CryptoProvider&, const RsaPublicKey& key, DigestAlg alg,
                    DigestAlg mgf1_alg, int32_t salt_length, Input digest, Input signature) {
  if (DigestLength(mgf1_alg) == 0) {
    return Result::CryptoUnsupportedAlgorithm;
  }
  hosted::NormalizedRsaKey normalized;
  HVSIG_TRY(hosted::CheckRsaVerifyInputs(key, alg, digest, signature, normalized));
  // libgcrypt's PSS takes MGF1's hash from the message hash; it has no separate parameter.
  if (mgf1_alg != alg) {
    return Result::CryptoUnsupportedAlgorithm;
  }
  if (!LibraryReady()) {
    return Result::CryptoProviderFailure;
  }
  const SexpPtr key_sexp = RsaKeySexp(normalized);
  const size_t modulus_bits = hosted::BitLength(normalized.modulus);
  if (salt_length < 0) {
    HVSIG_TRY(RecoverSaltLength(key_sexp, modulus_bits, alg, signature, salt_length));
  }
  // RFC 8017 9.1.2 step 3: no encoding holds a longer salt. libgcrypt reports that as an
  // argument error; for the caller it is a signature that does not verify.
  const size_t em_length = (modulus_bits - 1 + 7) / 8;
  if (size_t(salt_length) + DigestLength(alg) + 2 > em_length) {
    return Result::CryptoBadSignature;
  }
  const SexpPtr data =
      BuildSexp("(data(flags pss)(hash %s %b)(salt-length %u))", DigestAlgName(alg),
                SexpLength(digest), digest.data(), static_cast<unsigned>(salt_length));
  return PkVerify(RsaSignatureSexp(signature), data, key_sexp);
}

// --- ECDSA ------------------------------------------------------------------------------------

// Export of a libgcrypt MPI as a normalized big-endian magnitude.
std::vector<uint8_t> Magnitude(gcry_mpi_t value) {
  std::vector<uint8_t> bytes((gcry_mpi_get_nbits(value) + 7) / 8);
  size_t written = 0;
  if (value == nullptr ||
      gcry_mpi_print(GCRYMPI_FMT_USG, bytes.data(), bytes.size(), &written, value) != 0) {
    return {};
  }
  bytes.resize(written);
  return bytes;
}

struct Curve {
  const char* name;  // libgcrypt's curve name
  size_t field_bytes;
  std::vector<uint8_t> prime;  // normalized big-endian, field_bytes long
  std::vector<uint8_t> order;  // normalized big-endian
};

Curve LoadCurve(const char* name, size_t field_bytes) {
  Curve curve{name, field_bytes, {}, {}};
  gcry_ctx_t context = nullptr;
  if (gcry_mpi_ec_new(&context, nullptr, name) != 0) {
    return curve;
  }
  const EcContextPtr owner(context);
  const MpiPtr p(gcry_mpi_ec_get_mpi("p", context, 1));
  const MpiPtr n(gcry_mpi_ec_get_mpi("n", context, 1));
  if (p != nullptr && n != nullptr) {
    curve.prime = Magnitude(p.get());
    curve.order = Magnitude(n.get());
  }
  return curve;
}

// Null if the curve is not one of ours or libgcrypt could not provide its parameters.
const Curve* FindCurve(EcCurve curve) {
  if (!LibraryReady()) {
    return nullptr;
  }
  static const Curve p256 = LoadCurve("NIST P-256", 32);
  static const Curve p384 = LoadCurve("NIST P-384", 48);
  const Curve* found = nullptr;
  switch (curve) {
    case EcCurve::P256: found = &p256; break;
    case EcCurve::P384: found = &p384; break;
  }
  if (found == nullptr) {
    return nullptr;
  }
  return found->prime.size() == found->field_bytes && !found->order.empty() ? found : nullptr;
}

Input AsInput(const std::vector<uint8_t>& bytes) { return Input(bytes.data(), bytes.size()); }

SexpPtr EcKeySexp(const Curve& curve, Input point) {
  return BuildSexp("(public-key(ecc(curve %s)(q%b)))", curve.name, SexpLength(point),
                   point.data());
}

// Validates the point the way the builtin provider does, with its Results, and returns the key.
Result EcKey(const EcPublicKey& key, const Curve*& curve, SexpPtr& out) {
  curve = FindCurve(key.curve);
  if (curve == nullptr) {
    return LibraryReady() ? Result::CryptoUnsupportedAlgorithm : Result::CryptoProviderFailure;
  }
  // Only the uncompressed form is accepted (RFC 5480 makes it the one MUST form).
  if (key.point.size() != 1 + 2 * curve->field_bytes || key.point[0] != 0x04) {
    return Result::CryptoBadPointEncoding;
  }
  const Input x(key.point.data() + 1, curve->field_bytes);
  const Input y(key.point.data() + 1 + curve->field_bytes, curve->field_bytes);
  if (std::memcmp(x.data(), curve->prime.data(), curve->field_bytes) >= 0 ||
      std::memcmp(y.data(), curve->prime.data(), curve->field_bytes) >= 0) {
    return Result::CryptoPointCoordinateOutOfRange;
  }
  SexpPtr key_sexp = EcKeySexp(*curve, key.point);
  gcry_ctx_t context = nullptr;
  if (key_sexp == nullptr || gcry_mpi_ec_new(&context, key_sexp.get(), nullptr) != 0) {
    return Result::CryptoProviderFailure;
  }
  const EcContextPtr owner(context);
  const PointPtr q(gcry_mpi_ec_get_point("q", context, 1));
  if (q == nullptr) {
    return Result::CryptoProviderFailure;
  }
  // Coordinates in range and not on the curve; this also excludes the point at infinity, which
  // has no affine encoding.
  if (!gcry_mpi_ec_curve_point(q.get(), context)) {
    return Result::CryptoPointNotOnCurve;
  }
  out = std::move(key_sexp);
  return Result::Success;
}

Result CheckEcKey(const CryptoProvider&, const EcPublicKey& key) {
  const Curve* curve = nullptr;
  SexpPtr key_sexp;
  return EcKey(key, curve, key_sexp);
}

// One INTEGER of an Ecdsa-Sig-Value, as the builtin provider reads it: a well-formed INTEGER
// that is negative or longer than the field is a range failure, anything else malformed an
// encoding failure.
Result ReadSignatureInteger(der::Reader& reader, size_t field_bytes, Input& magnitude) {
  const Result result = der::ReadUnsignedInteger(reader, field_bytes, magnitude);
  if (result == Result::DerNegativeInteger) return Result::CryptoSignatureOutOfRange;
  if (result == Result::DerIntegerTooLarge) return Result::CryptoSignatureOutOfRange;
  if (result != Result::Success) return Result::CryptoBadSignatureEncoding;
  return Result::Success;
}

// libgcrypt takes r and s as numbers, so the strict-DER rules (RFC 3279 2.2.3's SEQUENCE of two
// minimal INTEGERs, nothing after) are checked here.
Result ParseSignature(Input der_signature, size_t field_bytes, Input& r, Input& s) {
  der::Reader reader(der_signature);
  der::Reader sequence;
  if (reader.ReadNested(der::kSequence, sequence) != Result::Success) {
    return Result::CryptoBadSignatureEncoding;
  }
  if (reader.ExpectEnd() != Result::Success) return Result::CryptoBadSignatureEncoding;
  HVSIG_TRY(ReadSignatureInteger(sequence, field_bytes, r));
  HVSIG_TRY(ReadSignatureInteger(sequence, field_bytes, s));
  if (sequence.ExpectEnd() != Result::Success) return Result::CryptoBadSignatureEncoding;
  return Result::Success;
}

// A signature scalar must lie in [1, n-1].
bool InSignatureRange(Input magnitude, const Curve& curve) {
  const Input normalized = hosted::WithoutLeadingZeros(magnitude);
  return !normalized.empty() && hosted::LessThan(normalized, AsInput(curve.order));
}

Result VerifyEcdsa(const CryptoProvider&, const EcPublicKey& key, Input digest,
                   Input der_signature) {
  const Curve* curve = nullptr;
  SexpPtr key_sexp;
  HVSIG_TRY(EcKey(key, curve, key_sexp));
  if (digest.empty() || digest.size() > kMaxDigestLength) {
    return Result::CryptoBadDigestLength;
  }
  Input r;
  Input s;
  HVSIG_TRY(ParseSignature(der_signature, curve->field_bytes, r, s));
  if (!InSignatureRange(r, *curve) || !InSignatureRange(s, *curve)) {
    return Result::CryptoSignatureOutOfRange;
  }
  // The leftmost bitlen(n) bits of the digest (FIPS 186-5 6.4.2), cut here because libgcrypt
  // truncates a plain number by its bit length, which ignores the digest's leading zero bits.
  // Both curves' orders are whole octets long.
  const size_t used = digest.size() < curve->field_bytes ? digest.size() : curve->field_bytes;
  const SexpPtr data =
      BuildSexp("(data(flags raw)(value %b))", static_cast<int>(used), digest.data());
  const SexpPtr signature = BuildSexp("(sig-val(ecdsa(r%b)(s%b)))", SexpLength(r), r.data(),
                                      SexpLength(s), s.data());
  return PkVerify(signature, data, key_sexp);
}

constexpr CryptoProvider kGcryptProvider = {
    "gcrypt",       nullptr,      DigestInit,  DigestUpdate, DigestFinal, DigestRelease,
    VerifyRsaPkcs1, VerifyRsaPss, VerifyEcdsa, CheckRsaKey,  CheckEcKey,
};

}  // namespace

const CryptoProvider& GcryptProvider() { return kGcryptProvider; }

}  // namespace hvsig
