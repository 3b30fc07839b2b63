// Authenticode verification: per-signature checks (references §3 list D) and chain building to
// the caller's anchors (Linux's pkcs7_validate_trust: trust holds only if a chain certificate
// IS an anchor or is signed by one; a certificate that arrives inside the signature is never
// trusted by itself).
#include "hvsig/authenticode.h"

namespace hvsig::authenticode {
namespace {

Result Reject(Verification& v, Result r, uint64_t offset, int8_t signature = -1) {
  v.verdict = r;
  v.error = Error{r, offset};
  v.error_signature = signature;
  return r;
}

// Parse failures inside a signature blob are reported at their file offset.
Result ParseSignature(Input blob, uint64_t blob_file_offset, pkcs7::SignedData& out,
                      Error& error) {
  der::Error der_error;
  Result r = pkcs7::ParseAuthenticode(blob, out, &der_error);
  if (r != Result::Success) error = Error{r, blob_file_offset + der_error.offset};
  return r;
}

bool AddAlgorithm(DigestAlg* algs, size_t& count, DigestAlg alg) {
  for (size_t i = 0; i < count; ++i) {
    if (algs[i] == alg) return true;
  }
  if (count == pe::AuthenticodeHasher::kMaxAlgorithms) return false;
  algs[count++] = alg;
  return true;
}

bool SameKey(const Certificate& a, const Certificate& b) {
  return a.subject == b.subject && a.key.der == b.key.der;
}

// The key identifiers, when both sides have them, must agree (Linux's AKID/SKID check).
bool KeyIdsAgree(const Certificate& child, const Certificate& issuer) {
  if (child.authority_key_id.empty() || issuer.subject_key_id.empty()) return true;
  return child.authority_key_id == issuer.subject_key_id;
}

Result CheckValidity(const Certificate& cert, const Options& options) {
  if (!options.check_time) return Result::Success;
  if (options.now < cert.not_before) return Result::CertificateNotYetValid;
  if (options.now > cert.not_after) return Result::CertificateExpired;
  return Result::Success;
}

bool NamesSigner(const pkcs7::SignerInfo& signer, const Certificate& cert) {
  return signer.identified_by_key_id ? cert.subject_key_id == signer.subject_key_id
                                     : (cert.issuer == signer.issuer && cert.serial == signer.serial);
}

// Index of a signer found among the anchors rather than the signature's certificates.
constexpr uint8_t kSignerIsAnchor = 0xff;

// The signer's certificate: one the signature carries or, for a detached signature (which may
// carry none, as Linux's module signatures), an anchor the SignerInfo names.
Result FindSigner(const CryptoProvider& provider, const AnchorSet& anchors,
                  const pkcs7::SignedData& sd, Certificate& out, uint8_t& index) {
  for (uint8_t i = 0; i < sd.certificate_count; ++i) {
    HVSIG_TRY(ParseCertificate(provider, sd.certificates[i], out));
    if (NamesSigner(sd.signer, out)) {
      index = i;
      return Result::Success;
    }
  }
  if (sd.kind != pkcs7::ContentKind::DetachedData) return Result::SignerNotFound;
  for (const AnchorSet* set = &anchors; set != nullptr; set = set->next) {
    for (size_t i = 0; i < set->count; ++i) {
      if (!NamesSigner(sd.signer, set->certificates[i])) continue;
      out = set->certificates[i];
      index = kSignerIsAnchor;
      return Result::Success;
    }
  }
  // Linux's pkcs7_validate_trust: a signer no keyring knows is untrusted (ENOKEY), not malformed.
  return Result::NotTrusted;
}

bool KeyFitsSignature(const SubjectPublicKeyInfo& key, const SignatureAlgorithm& alg) {
  if (alg.kind == SignatureKind::Ecdsa) return key.type == KeyType::Ec;
  return key.type == KeyType::Rsa;
}

// The signature covers the signed attributes or, without them, the content digest itself.
Result VerifySignerSignature(const CryptoProvider& provider, const pkcs7::SignerInfo& signer,
                             const Certificate& cert, const uint8_t* content_digest) {
  const SignatureAlgorithm& alg = signer.signature_algorithm;
  if (!KeyFitsSignature(cert.key, alg)) return Result::SignerKeyMismatch;
  uint8_t digest[kMaxDigestLength];
  if (signer.has_signed_attributes) {
    HVSIG_TRY(pkcs7::DigestSignedAttributes(provider, signer, digest));
  } else {
    __builtin_memcpy(digest, content_digest, DigestLength(signer.digest_alg));
  }
  const Input digest_view(digest, DigestLength(signer.digest_alg));
  switch (alg.kind) {
    case SignatureKind::RsaPkcs1:
      return provider.verify_rsa_pkcs1(provider, cert.key.rsa, alg.digest, digest_view,
                                       signer.signature);
    case SignatureKind::RsaPss:
      return provider.verify_rsa_pss(provider, cert.key.rsa, alg.digest, alg.mgf1_digest,
                                     alg.salt_length, digest_view, signer.signature);
    case SignatureKind::Ecdsa:
      return provider.verify_ecdsa(provider, cert.key.ec, digest_view, signer.signature);
  }
  return Result::CryptoUnsupportedAlgorithm;
}

// Does an anchor of this group vouch for `cert`: is it an anchor, or signed by one?
int16_t FindAnchorInGroup(const CryptoProvider& provider, const AnchorSet& anchors,
                          const Certificate& cert) {
  for (size_t i = 0; i < anchors.count; ++i) {
    if (SameKey(anchors.certificates[i], cert)) return static_cast<int16_t>(i);
  }
  for (size_t i = 0; i < anchors.count; ++i) {
    const Certificate& anchor = anchors.certificates[i];
    if (!(anchor.subject == cert.issuer) || !KeyIdsAgree(cert, anchor)) continue;
    if (VerifyCertificateSignature(provider, cert, anchor.key) == Result::Success) {
      return static_cast<int16_t>(i);
    }
  }
  return -1;
}

// The first group, in chain order, with an anchor for `cert`: its certificate, or null.
const Certificate* FindAnchor(const CryptoProvider& provider, const AnchorSet& anchors,
                              const Certificate& cert, SignatureVerdict& verdict) {
  int8_t group = 0;
  for (const AnchorSet* set = &anchors; set != nullptr; set = set->next, ++group) {
    const int16_t index = FindAnchorInGroup(provider, *set, cert);
    if (index >= 0) {
      verdict.anchor_group = group;
      verdict.anchor_index = index;
      return &set->certificates[index];
    }
  }
  return nullptr;
}

// Walks from the signer (in current) up through the signature's own certificates until an
// anchor vouches. Each link's signature is verified before it is followed.
Result BuildChain(const CryptoProvider& provider, const AnchorSet& anchors,
                  const Options& options, const pkcs7::SignedData& sd, uint8_t signer_index,
                  ChainScratch& v, SignatureVerdict& verdict) {
  uint32_t visited = signer_index == kSignerIsAnchor ? 0 : 1u << signer_index;
  verdict.chain_length = 0;
  for (size_t depth = 0; depth < kMaxChainDepth; ++depth) {
    verdict.chain[verdict.chain_length++] = v.current.der;
    HVSIG_TRY(CheckValidity(v.current, options));
    const Certificate* anchor = FindAnchor(provider, anchors, v.current, verdict);
    if (anchor != nullptr) return CheckValidity(*anchor, options);
    if (v.current.issuer == v.current.subject) return Result::NotTrusted;

    bool found = false;
    for (uint8_t i = 0; i < sd.certificate_count && !found; ++i) {
      HVSIG_TRY(ParseCertificate(provider, sd.certificates[i], v.candidate));
      if (!(v.candidate.subject == v.current.issuer) || !KeyIdsAgree(v.current, v.candidate)) {
        continue;
      }
      if (VerifyCertificateSignature(provider, v.current, v.candidate.key) != Result::Success) {
        continue;
      }
      if (visited & (1u << i)) return Result::ChainLoop;
      visited |= 1u << i;
      found = true;
    }
    if (!found) return Result::NotTrusted;
    v.current = v.candidate;
  }
  return Result::ChainTooDeep;
}

// Records where (file offset of `field`) the check that fails a signature looked.
Result Fail(SignatureVerdict& verdict, const pkcs7::SignedData& sd, uint64_t der_offset,
            Result r, Input field) {
  verdict.error_offset = der_offset + static_cast<uint64_t>(field.data() - sd.der.data());
  return r;
}

// The checks every signer takes once the digest of what it signed (content_digest, in the
// signer's digest algorithm) is known: messageDigest, the signer's certificate and signature,
// signingTime, and the chain to an anchor.
Result CheckSigner(const CryptoProvider& provider, const AnchorSet& anchors,
                   const Options& options, const pkcs7::SignedData& sd, uint64_t der_offset,
                   const uint8_t* content_digest, ChainScratch& v, SignatureVerdict& verdict) {
  const pkcs7::SignerInfo& signer = sd.signer;
  auto fail = [&](Result r, Input field) { return Fail(verdict, sd, der_offset, r, field); };
  if (signer.has_signed_attributes &&
      __builtin_memcmp(content_digest, signer.message_digest.data(),
                       signer.message_digest.size()) != 0) {
    return fail(Result::MessageDigestMismatch, signer.message_digest);
  }

  uint8_t signer_index = 0;
  Result r = FindSigner(provider, anchors, sd, v.current, signer_index);
  if (r != Result::Success) {
    return fail(r, signer.identified_by_key_id ? signer.subject_key_id : signer.issuer);
  }
  verdict.signer_found = true;
  verdict.signer_subject = v.current.subject;
  verdict.signer_issuer = v.current.issuer;
  verdict.signer_serial = v.current.serial;
  r = VerifySignerSignature(provider, signer, v.current, content_digest);
  if (r != Result::Success) return fail(r, signer.signature);
  if (signer.has_signing_time && (signer.signing_time < v.current.not_before ||
                                  signer.signing_time > v.current.not_after)) {
    return fail(Result::SigningTimeOutsideValidity, signer.signed_attributes);
  }
  r = BuildChain(provider, anchors, options, sd, signer_index, v, verdict);
  if (r != Result::Success) return fail(r, verdict.chain[verdict.chain_length - 1]);
  return Result::Success;
}

// All checks of one Authenticode signature. The first failing check becomes verdict.status, and
// verdict.error_offset the file offset of the field it judged.
Result CheckSignature(const CryptoProvider& provider, const AnchorSet& anchors,
                      const Options& options, const pkcs7::SignedData& sd, uint64_t der_offset,
                      Verification& v, SignatureVerdict& verdict) {
  const pkcs7::IndirectData& indirect = sd.indirect;
  const pkcs7::SignerInfo& signer = sd.signer;
  auto fail = [&](Result r, Input field) { return Fail(verdict, sd, der_offset, r, field); };
  verdict.anchor_group = -1;
  verdict.anchor_index = -1;
  verdict.digest_alg = indirect.digest_alg;
  __builtin_memcpy(verdict.signed_digest, indirect.digest.data(), indirect.digest.size());
  if (indirect.digest_alg == DigestAlg::Sha1) {
    return fail(Result::DigestAlgorithmNotAllowed, indirect.digest);
  }
  if (signer.digest_alg == DigestAlg::Sha1) {
    return fail(Result::DigestAlgorithmNotAllowed, signer.message_digest);
  }
  for (uint8_t i = 0; i < v.digest_count; ++i) {
    if (v.digest_algs[i] == indirect.digest_alg) {
      __builtin_memcpy(verdict.image_digest, v.digests[i], DigestLength(indirect.digest_alg));
    }
  }
  verdict.digest_match = __builtin_memcmp(verdict.image_digest, indirect.digest.data(),
                                          indirect.digest.size()) == 0;
  if (!verdict.digest_match) return fail(Result::ImageDigestMismatch, indirect.digest);

  uint8_t content_digest[kMaxDigestLength];
  HVSIG_TRY(DigestOnce(provider, signer.digest_alg, indirect.content, content_digest));
  return CheckSigner(provider, anchors, options, sd, der_offset, content_digest, v.chain, verdict);
}

}  // namespace

Result Prepare(const CryptoProvider& provider, const ImageSource& image, const Options& options,
               MutableBytes storage, Verification& v) {
  v.verdict_count = 0;
  v.hashed = false;
  v.trusted_by = -1;
  v.verdict = Result::Success;
  v.error = Error{};
  v.error_signature = -1;
  if (pe::ParsePe(image, options.profile, v.pe, v.error) != Result::Success) {
    return Reject(v, v.error.result, v.error.offset);
  }
  // SHA-256 always: it identifies the image in reports, audit records and hash lists, signed
  // or not.
  DigestAlg algs[pe::AuthenticodeHasher::kMaxAlgorithms] = {DigestAlg::Sha256};
  size_t alg_count = 1;
  constexpr DigestAlg kExtraAlgs[] = {DigestAlg::Sha1, DigestAlg::Sha224, DigestAlg::Sha384,
                                      DigestAlg::Sha512};
  for (DigestAlg alg : kExtraAlgs) {
    // Cannot overflow: kMaxAlgorithms counts every DigestAlg.
    if (options.extra_digests & (1u << static_cast<unsigned>(alg))) {
      AddAlgorithm(algs, alg_count, alg);
    }
  }
  size_t used = 0;
  for (uint8_t t = 0; t < v.pe.certificate_count; ++t) {
    const pe::CertificateEntry& entry = v.pe.certificates[t];
    if (entry.der.length > storage.capacity - used) {
      return Reject(v, Result::PeSignatureTooLarge, entry.offset);
    }
    uint8_t* copy = storage.data + used;
    used += entry.der.length;
    if (ReadImage(image, entry.der.offset, copy, entry.der.length) != Result::Success) {
      return Reject(v, Result::ImageReadFailed, entry.der.offset);
    }
    size_t der_length = 0;
    der::Error der_error;
    if (pkcs7::MeasureSignatureBlob(Input(copy, entry.der.length), der_length, &der_error) !=
        Result::Success) {
      return Reject(v, der_error.result, entry.der.offset + der_error.offset);
    }
    const Input blob(copy, der_length);

    const uint8_t top = v.verdict_count++;
    SignatureVerdict& verdict = v.verdicts[top];
    verdict = SignatureVerdict{};
    verdict.table_index = t;
    verdict.parent = -1;
    verdict.anchor_index = -1;
    verdict.anchor_group = -1;
    verdict.status = Result::NotTrusted;
    v.der_offset[top] = entry.der.offset;
    if (ParseSignature(blob, entry.der.offset, v.signed_data[top], v.error) != Result::Success) {
      return Reject(v, v.error.result, v.error.offset, static_cast<int8_t>(top));
    }
    if (!AddAlgorithm(algs, alg_count, v.signed_data[top].indirect.digest_alg)) {
      return Reject(v, Result::InvalidArgument, entry.offset);
    }
    const pkcs7::SignerInfo& signer = v.signed_data[top].signer;
    for (uint8_t n = 0; n < signer.nested_count; ++n) {
      const Input nested = signer.nested[n];
      const uint64_t nested_offset = entry.der.offset + static_cast<uint64_t>(nested.data() - copy);
      const uint8_t index = v.verdict_count++;
      SignatureVerdict& inner = v.verdicts[index];
      inner = SignatureVerdict{};
      inner.table_index = t;
      inner.parent = static_cast<int8_t>(top);
      inner.anchor_index = -1;
      inner.anchor_group = -1;
      inner.status = Result::NotTrusted;
      v.der_offset[index] = nested_offset;
      if (ParseSignature(nested, nested_offset, v.signed_data[index], v.error) !=
          Result::Success) {
        return Reject(v, v.error.result, v.error.offset, static_cast<int8_t>(index));
      }
      if (!AddAlgorithm(algs, alg_count, v.signed_data[index].indirect.digest_alg)) {
        return Reject(v, Result::InvalidArgument, nested_offset);
      }
    }
  }
  HVSIG_TRY(v.hasher.Begin(provider, v.pe, algs, alg_count));
  return Result::Success;
}

Result Hash(const ImageSource& image, const PreemptionHook* hook, Verification& v) {
  Result r = v.hasher.Run(image, hook, v.error);
  if (r == Result::Preempted) return r;
  if (r != Result::Success) {
    v.hasher.Abandon();
    return Reject(v, r, v.error.offset);
  }
  v.digest_count = static_cast<uint8_t>(v.hasher.algorithm_count());
  for (uint8_t i = 0; i < v.digest_count; ++i) {
    v.digest_algs[i] = v.hasher.algorithm(i);
    HVSIG_TRY(v.hasher.Finish(v.digest_algs[i], v.digests[i]));
  }
  v.hashed = true;
  return Result::Success;
}

Result Evaluate(const CryptoProvider& provider, const AnchorSet& anchors, const Options& options,
                Verification& v) {
  if (!v.hashed) return Result::InvalidArgument;
  v.trusted_by = -1;
  v.verdict = Result::Success;
  v.error = Error{};
  v.error_signature = -1;
  if (!v.pe.is_signed()) return Reject(v, Result::ImageNotSigned, v.pe.security_dir_offset);
  for (uint8_t i = 0; i < v.verdict_count; ++i) {
    SignatureVerdict& verdict = v.verdicts[i];
    const pkcs7::SignedData& sd = v.signed_data[i];
    verdict.status = CheckSignature(provider, anchors, options, sd, v.der_offset[i], v, verdict);
  }

  int8_t first_failure = -1;
  for (uint8_t i = 0; i < v.verdict_count; ++i) {
    const SignatureVerdict& verdict = v.verdicts[i];
    const bool top_level = verdict.parent < 0;
    if (verdict.status == Result::Success) {
      if ((top_level || options.trust_nested) && v.trusted_by < 0) v.trusted_by = static_cast<int8_t>(i);
      continue;
    }
    if (first_failure < 0) first_failure = static_cast<int8_t>(i);
    // Strict: a signature that does not even match the image, or cannot be checked, condemns
    // the image whatever else is trusted.
    const bool untrusted_only = verdict.status == Result::NotTrusted;
    if (options.profile == pe::Profile::Strict && top_level && !untrusted_only) {
      return Reject(v, verdict.status, verdict.error_offset, static_cast<int8_t>(i));
    }
  }
  if (v.trusted_by >= 0) {
    v.verdict = Result::Success;
    return Result::Success;
  }
  const int8_t decisive = first_failure < 0 ? 0 : first_failure;
  const SignatureVerdict& failed = v.verdicts[decisive];
  return Reject(v, failed.status, failed.error_offset, decisive);
}

Result PrepareDetached(Input signature, DetachedVerification& d) {
  d.hashed = false;
  der::Error der_error;
  const Result r =
      pkcs7::ParseSignedData(signature, pkcs7::ContentKind::DetachedData, d.signed_data, &der_error);
  d.error = r == Result::Success ? Error{} : Error{r, der_error.offset};
  return r;
}

Result HashDetached(const CryptoProvider& provider, const ImageSource& content,
                    DetachedVerification& d) {
  const DigestAlg alg = d.signed_data.signer.digest_alg;
  Digest digest;
  HVSIG_TRY(digest.Begin(provider, alg));
  for (uint64_t offset = 0; offset < content.size;) {
    Input chunk;
    const uint64_t left = content.size - offset;
    const size_t want = left < (1u << 20) ? static_cast<size_t>(left) : (1u << 20);
    if (content.view(content.opaque, offset, want, chunk) != Result::Success || chunk.empty() ||
        chunk.size() > want) {
      digest.Finish(d.content_digest);  // releases the provider's context; the digest is unused
      d.error = Error{Result::ImageReadFailed, offset};
      return Result::ImageReadFailed;
    }
    digest.Update(chunk);
    offset += chunk.size();
  }
  digest.Finish(d.content_digest);
  d.hashed = true;
  return Result::Success;
}

Result EvaluateDetached(const CryptoProvider& provider, const AnchorSet& anchors,
                        const Options& options, DetachedVerification& d) {
  if (!d.hashed) return Result::InvalidArgument;
  const pkcs7::SignerInfo& signer = d.signed_data.signer;
  SignatureVerdict& verdict = d.verdict;
  verdict = SignatureVerdict{};
  verdict.parent = -1;
  verdict.anchor_index = -1;
  verdict.anchor_group = -1;
  verdict.digest_alg = signer.digest_alg;
  __builtin_memcpy(verdict.image_digest, d.content_digest, DigestLength(signer.digest_alg));
  if (signer.has_signed_attributes) {
    __builtin_memcpy(verdict.signed_digest, signer.message_digest.data(),
                     signer.message_digest.size());
  }
  if (signer.digest_alg == DigestAlg::Sha1) {
    verdict.status = Fail(verdict, d.signed_data, 0, Result::DigestAlgorithmNotAllowed,
                          signer.signature);
  } else {
    verdict.status = CheckSigner(provider, anchors, options, d.signed_data, 0, d.content_digest,
                                 d.chain, verdict);
  }
  verdict.digest_match = signer.has_signed_attributes &&
                         __builtin_memcmp(d.content_digest, signer.message_digest.data(),
                                          signer.message_digest.size()) == 0;
  d.error = verdict.status == Result::Success ? Error{}
                                              : Error{verdict.status, verdict.error_offset};
  return verdict.status;
}

Result VerifyImage(const CryptoProvider& provider, const ImageSource& image,
                   const AnchorSet& anchors, const Options& options, MutableBytes storage,
                   Verification& v) {
  HVSIG_TRY(Prepare(provider, image, options, storage, v));
  HVSIG_TRY(Hash(image, nullptr, v));
  return Evaluate(provider, anchors, options, v);
}

}  // namespace hvsig::authenticode
