// Authenticode's PKCS#7 SignedData (RFC 2315 / RFC 5652 with Microsoft's SpcIndirectDataContent)
// and detached CMS SignedData over id-data (Linux's module and IMA signatures). Only the shapes
// these allow are accepted; every deviation has its own Result.
#include "hvsig/pkcs7.h"

namespace hvsig::pkcs7 {
namespace {

HVSIG_OID(kOidData, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01);
HVSIG_OID(kOidSignedData, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02);
HVSIG_OID(kOidSpcIndirectData, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x04);
HVSIG_OID(kOidSpcPeImageData, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x0f);
// SPC_INDIVIDUAL_SP_KEY_PURPOSE: some signing services (Debian's fwupd signature among them)
// put it where SPC_PE_IMAGE_DATA belongs. Linux's mscode parser accepts it too.
HVSIG_OID(kOidSpcIndividualKeyPurpose, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x15);
HVSIG_OID(kOidNestedSignature, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x04, 0x01);
HVSIG_OID(kOidContentType, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03);
HVSIG_OID(kOidMessageDigest, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04);
HVSIG_OID(kOidSigningTime, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05);
HVSIG_OID(kOidRsaEncryption, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01);

constexpr uint8_t kExplicitContentTag = der::ContextConstructed(0);
constexpr uint8_t kSignedAttributesTag = der::ContextConstructed(0);
constexpr uint8_t kUnsignedAttributesTag = der::ContextConstructed(1);
constexpr uint8_t kCertificatesTag = der::ContextConstructed(0);
constexpr uint8_t kCrlsTag = der::ContextConstructed(1);
constexpr uint8_t kSubjectKeyIdTag = der::ContextPrimitive(0);

// SpcIndirectDataContent ::= SEQUENCE {
//   data SpcAttributeTypeAndOptionalValue ::= SEQUENCE { type OID, value ANY OPTIONAL },
//   messageDigest DigestInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING } }
Result ParseIndirectData(der::Reader& reader, IndirectData& out) {
  Input contents;
  HVSIG_TRY(reader.ReadElement(der::kSequence, contents));
  // messageDigest covers these value octets, not the SEQUENCE's tag and length.
  out.content = contents;
  der::Reader indirect;
  HVSIG_TRY(reader.Descend(contents, indirect));
  HVSIG_TRY(der::Nested(indirect, der::kSequence, [&](der::Reader& data) {
    HVSIG_TRY(der::ReadOid(data, out.data_type));
    if (!(out.data_type == kOidSpcPeImageData) && !(out.data_type == kOidSpcIndividualKeyPurpose)) {
      return data.Fail(Result::Pkcs7NotPeImageData, out.data_type);
    }
    Input ignored_value;
    while (!data.AtEnd()) HVSIG_TRY(data.ReadRawAny(ignored_value));
    return Result::Success;
  }));
  HVSIG_TRY(der::Nested(indirect, der::kSequence, [&](der::Reader& digest_info) {
    HVSIG_TRY(ReadDigestAlgorithm(digest_info, out.digest_alg));
    HVSIG_TRY(der::ReadOctetString(digest_info, out.digest));
    if (out.digest.size() != DigestLength(out.digest_alg)) {
      return digest_info.Fail(Result::Pkcs7DigestLengthMismatch, out.digest);
    }
    return Result::Success;
  }));
  return indirect.ExpectEnd();
}

Result ParseCertificates(der::Reader& certificates, SignedData& out) {
  while (!certificates.AtEnd()) {
    if (out.certificate_count == kMaxCertificates) {
      return certificates.Fail(Result::Pkcs7TooManyCertificates);
    }
    // Only plain X.509 certificates: the obsolete extended/attribute certificate choices are
    // context-tagged and rejected here as DerUnexpectedTag.
    HVSIG_TRY(certificates.ReadRawElement(der::kSequence, out.certificates[out.certificate_count]));
    ++out.certificate_count;
  }
  return Result::Success;
}

// One attribute value: Attribute ::= SEQUENCE { type OID, values SET SIZE (1) OF ... } for the
// attributes Authenticode defines.
Result ReadSingleValue(der::Reader& attribute, der::Reader& value) {
  der::Reader values;
  HVSIG_TRY(attribute.ReadNested(der::kSet, values));
  Input only;
  HVSIG_TRY(values.ReadRawAny(only));
  if (!values.AtEnd()) return values.Fail(Result::Pkcs7BadAttribute);
  return attribute.Descend(only, value);
}

Result ParseSignedAttributes(der::Reader& signer, ContentKind kind, SignerInfo& out) {
  if (!signer.Peek(kSignedAttributesTag)) {
    // CMS lets a signer over id-data sign the content digest itself (openssl cms -noattr).
    if (kind == ContentKind::DetachedData) return Result::Success;
    return signer.Fail(Result::Pkcs7MissingSignedAttributes);
  }
  out.has_signed_attributes = true;
  const Input expected_content_type =
      kind == ContentKind::Authenticode ? Input(kOidSpcIndirectData) : Input(kOidData);
  // The whole element is kept: the signature covers it re-tagged as a SET.
  HVSIG_TRY(signer.ReadRawElement(kSignedAttributesTag, out.signed_attributes));
  der::Reader element;
  HVSIG_TRY(signer.Descend(out.signed_attributes, element));
  der::Reader attributes;
  HVSIG_TRY(element.ReadNested(kSignedAttributesTag, attributes));
  bool seen_content_type = false;
  bool seen_message_digest = false;
  while (!attributes.AtEnd()) {
    der::Reader attribute;
    HVSIG_TRY(attributes.ReadNested(der::kSequence, attribute));
    Input type;
    HVSIG_TRY(der::ReadOid(attribute, type));
    der::Reader value;
    if (type == kOidContentType) {
      if (seen_content_type) return attribute.Fail(Result::Pkcs7DuplicateAttribute, type);
      seen_content_type = true;
      HVSIG_TRY(ReadSingleValue(attribute, value));
      Input content_type;
      HVSIG_TRY(der::ReadOid(value, content_type));
      HVSIG_TRY(value.ExpectEnd());
      if (!(content_type == expected_content_type)) {
        return value.Fail(Result::Pkcs7ContentTypeMismatch, content_type);
      }
    } else if (type == kOidMessageDigest) {
      if (seen_message_digest) return attribute.Fail(Result::Pkcs7DuplicateAttribute, type);
      seen_message_digest = true;
      HVSIG_TRY(ReadSingleValue(attribute, value));
      HVSIG_TRY(der::ReadOctetString(value, out.message_digest));
      HVSIG_TRY(value.ExpectEnd());
    } else if (type == kOidSigningTime) {
      if (out.has_signing_time) return attribute.Fail(Result::Pkcs7DuplicateAttribute, type);
      out.has_signing_time = true;
      HVSIG_TRY(ReadSingleValue(attribute, value));
      HVSIG_TRY(der::ReadTime(value, out.signing_time));
      HVSIG_TRY(value.ExpectEnd());
    } else {
      Input ignored;
      HVSIG_TRY(attribute.ReadElement(der::kSet, ignored));
    }
    HVSIG_TRY(attribute.ExpectEnd());
  }
  if (!seen_content_type) return signer.Fail(Result::Pkcs7MissingContentType, out.signed_attributes);
  if (!seen_message_digest) {
    return signer.Fail(Result::Pkcs7MissingMessageDigest, out.signed_attributes);
  }
  if (out.message_digest.size() != DigestLength(out.digest_alg)) {
    return signer.Fail(Result::Pkcs7DigestLengthMismatch, out.message_digest);
  }
  return Result::Success;
}

// digestEncryptionAlgorithm: PKCS#7 signers name the bare key algorithm (rsaEncryption) and
// take the hash from digestAlgorithm; CMS signers name a full signature algorithm, whose hash
// must then agree with digestAlgorithm.
Result ReadSignerSignatureAlgorithm(der::Reader& signer, SignerInfo& out) {
  der::Reader probe = signer;
  Input algorithm;
  HVSIG_TRY(probe.ReadElement(der::kSequence, algorithm));
  der::Reader identifier;
  HVSIG_TRY(signer.Descend(algorithm, identifier));
  Input oid;
  HVSIG_TRY(der::ReadOid(identifier, oid));
  if (oid == kOidRsaEncryption) {
    bool has_null = false;
    HVSIG_TRY(der::ReadOptionalNull(identifier, has_null));
    HVSIG_TRY(identifier.ExpectEnd());
    Input whole;
    HVSIG_TRY(signer.ReadRawElement(der::kSequence, whole));
    out.signature_algorithm = SignatureAlgorithm{whole, SignatureKind::RsaPkcs1, out.digest_alg,
                                                 out.digest_alg, 0};
    return Result::Success;
  }
  HVSIG_TRY(ReadSignatureAlgorithm(signer, out.signature_algorithm));
  if (out.signature_algorithm.digest != out.digest_alg) {
    return signer.Fail(Result::Pkcs7SignatureDigestMismatch, out.signature_algorithm.der);
  }
  return Result::Success;
}

Result ParseUnsignedAttributes(der::Reader& signer, SignerInfo& out) {
  Input contents;
  bool present = false;
  HVSIG_TRY(signer.ReadOptional(kUnsignedAttributesTag, contents, present));
  if (!present) return Result::Success;
  der::Reader attributes;
  HVSIG_TRY(signer.Descend(contents, attributes));
  while (!attributes.AtEnd()) {
    der::Reader attribute;
    HVSIG_TRY(attributes.ReadNested(der::kSequence, attribute));
    Input type;
    HVSIG_TRY(der::ReadOid(attribute, type));
    der::Reader values;
    HVSIG_TRY(attribute.ReadNested(der::kSet, values));
    HVSIG_TRY(attribute.ExpectEnd());
    // Countersignatures and timestamps are carried but do not take part in trust.
    const bool nested = type == kOidNestedSignature;
    while (!values.AtEnd()) {
      Input value;
      HVSIG_TRY(values.ReadRawAny(value));
      if (!nested) continue;
      if (out.nested_count == kMaxNested) return values.Fail(Result::Pkcs7TooManyNested, value);
      out.nested[out.nested_count++] = value;
    }
  }
  return Result::Success;
}

Result ParseSignerInfo(der::Reader& signer, ContentKind kind, SignerInfo& out) {
  uint64_t version = 0;
  HVSIG_TRY(der::ReadSmallUnsigned(signer, version));
  if (version != 1 && version != 3) return signer.Fail(Result::Pkcs7BadVersion);
  out.version = static_cast<uint8_t>(version);
  if (signer.Peek(kSubjectKeyIdTag)) {
    out.identified_by_key_id = true;
    HVSIG_TRY(signer.ReadElement(kSubjectKeyIdTag, out.subject_key_id));
    if (out.version != 3) return signer.Fail(Result::Pkcs7BadVersion, out.subject_key_id);
  } else {
    if (out.version != 1) return signer.Fail(Result::Pkcs7BadVersion);
    HVSIG_TRY(der::Nested(signer, der::kSequence, [&](der::Reader& issuer_and_serial) {
      HVSIG_TRY(issuer_and_serial.ReadRawElement(der::kSequence, out.issuer));
      return der::ReadUnsignedInteger(issuer_and_serial, kMaxSerialLength, out.serial);
    }));
  }
  HVSIG_TRY(ReadDigestAlgorithm(signer, out.digest_alg));
  HVSIG_TRY(ParseSignedAttributes(signer, kind, out));
  HVSIG_TRY(ReadSignerSignatureAlgorithm(signer, out));
  HVSIG_TRY(der::ReadOctetString(signer, out.signature));
  return ParseUnsignedAttributes(signer, out);
}

// encapContentInfo: Authenticode's SpcIndirectDataContent, or id-data with the content absent.
Result ParseEncapsulatedContent(der::Reader& content_info, SignedData& out) {
  Input content_type;
  HVSIG_TRY(der::ReadOid(content_info, content_type));
  if (out.kind == ContentKind::DetachedData) {
    if (!(content_type == kOidData)) return content_info.Fail(Result::Pkcs7NotData, content_type);
    if (!content_info.AtEnd()) return content_info.Fail(Result::Pkcs7ContentNotDetached);
    return Result::Success;
  }
  if (!(content_type == kOidSpcIndirectData)) {
    return content_info.Fail(Result::Pkcs7NotIndirectData, content_type);
  }
  return der::Nested(content_info, kExplicitContentTag, [&](der::Reader& explicit_content) {
    return ParseIndirectData(explicit_content, out.indirect);
  });
}

Result ParseSignedDataBody(der::Reader& signed_data, SignedData& out) {
  uint64_t version = 0;
  HVSIG_TRY(der::ReadSmallUnsigned(signed_data, version));
  if (version != 1 && version != 3) return signed_data.Fail(Result::Pkcs7BadVersion);

  // digestAlgorithms: exactly the one signer's algorithm (the Authenticode specification's
  // rule). No signature covers this list, so anything else in it would be bytes an attacker
  // may change at will.
  Input algorithms_element;
  der::Reader algorithms;
  HVSIG_TRY(signed_data.ReadRawNested(der::kSet, algorithms_element, algorithms));
  if (algorithms.AtEnd()) return algorithms.Fail(Result::Pkcs7DigestAlgorithmsMismatch);
  DigestAlg listed;
  HVSIG_TRY(ReadDigestAlgorithm(algorithms, listed));
  if (!algorithms.AtEnd()) return algorithms.Fail(Result::Pkcs7DigestAlgorithmsMismatch);

  HVSIG_TRY(der::Nested(signed_data, der::kSequence, [&](der::Reader& content_info) {
    return ParseEncapsulatedContent(content_info, out);
  }));

  Input certificates;
  bool present = false;
  HVSIG_TRY(signed_data.ReadOptional(kCertificatesTag, certificates, present));
  if (present) {
    der::Reader reader;
    HVSIG_TRY(signed_data.Descend(certificates, reader));
    HVSIG_TRY(ParseCertificates(reader, out));
  }
  Input ignored_crls;
  HVSIG_TRY(signed_data.ReadOptional(kCrlsTag, ignored_crls, present));

  der::Reader signer_infos;
  HVSIG_TRY(signed_data.ReadNested(der::kSet, signer_infos));
  if (signer_infos.AtEnd()) return signer_infos.Fail(Result::Pkcs7NotOneSigner);
  HVSIG_TRY(der::Nested(signer_infos, der::kSequence, [&](der::Reader& signer) {
    return ParseSignerInfo(signer, out.kind, out.signer);
  }));
  if (!signer_infos.AtEnd()) return signer_infos.Fail(Result::Pkcs7NotOneSigner);
  if (out.signer.digest_alg != listed) {
    return signed_data.Fail(Result::Pkcs7DigestAlgorithmsMismatch, algorithms_element);
  }
  return signed_data.ExpectEnd();
}

}  // namespace

Result ParseSignedData(Input der, ContentKind kind, SignedData& out, der::Error* error) {
  out = SignedData{};
  out.der = der;
  out.kind = kind;
  der::Reader reader(der, error);
  HVSIG_TRY(der::Nested(reader, der::kSequence, [&](der::Reader& content_info) {
    Input content_type;
    HVSIG_TRY(der::ReadOid(content_info, content_type));
    if (!(content_type == kOidSignedData)) {
      return content_info.Fail(Result::Pkcs7NotSignedData, content_type);
    }
    return der::Nested(content_info, kExplicitContentTag, [&](der::Reader& explicit_content) {
      return der::Nested(explicit_content, der::kSequence, [&](der::Reader& signed_data) {
        return ParseSignedDataBody(signed_data, out);
      });
    });
  }));
  return reader.ExpectEnd();
}

Result MeasureSignatureBlob(Input payload, size_t& der_length, der::Error* error) {
  der::Reader reader(payload, error);
  Input element;
  HVSIG_TRY(reader.ReadRawElement(der::kSequence, element));
  der_length = element.size();
  const size_t trailing = payload.size() - der_length;
  if (trailing >= 8) return reader.FailAt(Result::PeCertEntryBadPadding, der_length);
  for (size_t i = der_length; i < payload.size(); ++i) {
    if (payload[i] != 0) return reader.FailAt(Result::PeCertEntryBadPadding, i);
  }
  // dwLength is 8 + the DER's length (sbsign) or that rounded up to 8 (signtool, osslsigncode):
  // any other value is a header byte that can change without the signature noticing.
  if (trailing != 0 && payload.size() % 8 != 0) {
    return reader.FailAt(Result::PeCertEntryBadPadding, der_length);
  }
  return Result::Success;
}

Result DigestSignedAttributes(const CryptoProvider& provider, const SignerInfo& signer,
                              uint8_t* out) {
  // signed_attributes is the whole [0] element; its first octet is the tag to replace.
  const uint8_t set_tag = der::kSet;
  Digest digest;
  HVSIG_TRY(digest.Begin(provider, signer.digest_alg));
  digest.Update(&set_tag, 1);
  digest.Update(signer.signed_attributes.data() + 1, signer.signed_attributes.size() - 1);
  digest.Finish(out);
  return Result::Success;
}

}  // namespace hvsig::pkcs7
