#include "hvsig/x509.h"

#include "hvsig/cf_check.h"

namespace hvsig {

namespace {

// Signature and digest algorithms (RFC 4055, RFC 5758, RFC 8017).
HVSIG_OID(kOidSha1WithRsa, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05);
HVSIG_OID(kOidSha224WithRsa, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0e);
HVSIG_OID(kOidSha256WithRsa, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b);
HVSIG_OID(kOidSha384WithRsa, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c);
HVSIG_OID(kOidSha512WithRsa, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d);
HVSIG_OID(kOidRsassaPss, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a);
HVSIG_OID(kOidMgf1, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08);
HVSIG_OID(kOidEcdsaWithSha256, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02);
HVSIG_OID(kOidEcdsaWithSha384, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03);
HVSIG_OID(kOidEcdsaWithSha512, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04);
HVSIG_OID(kOidSha1, 0x2b, 0x0e, 0x03, 0x02, 0x1a);
HVSIG_OID(kOidSha224, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04);
HVSIG_OID(kOidSha256, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01);
HVSIG_OID(kOidSha384, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02);
HVSIG_OID(kOidSha512, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03);

// Public keys (RFC 3279, RFC 5480).
HVSIG_OID(kOidRsaEncryption, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01);
HVSIG_OID(kOidEcPublicKey, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01);
HVSIG_OID(kOidCurveP256, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07);
HVSIG_OID(kOidCurveP384, 0x2b, 0x81, 0x04, 0x00, 0x22);

// Certificate extensions (RFC 5280 4.2.1).
HVSIG_OID(kOidSubjectKeyIdentifier, 0x55, 0x1d, 0x0e);
HVSIG_OID(kOidKeyUsage, 0x55, 0x1d, 0x0f);
HVSIG_OID(kOidBasicConstraints, 0x55, 0x1d, 0x13);
HVSIG_OID(kOidAuthorityKeyIdentifier, 0x55, 0x1d, 0x23);
HVSIG_OID(kOidExtKeyUsage, 0x55, 0x1d, 0x25);

// An RSA modulus of 8192 bits, the largest the providers accept; a larger INTEGER in a key is
// rejected while parsing so that no caller ever sees it.
constexpr size_t kMaxRsaIntegerLength = 1024;
constexpr size_t kP256CoordinateLength = 32;
constexpr size_t kP384CoordinateLength = 48;
constexpr uint8_t kUncompressedPoint = 0x04;

// ---- AlgorithmIdentifier -------------------------------------------------------------------

struct DigestOid {
  Input oid;
  DigestAlg alg;
};

constexpr DigestOid kDigestOids[] = {
    {kOidSha1, DigestAlg::Sha1},     {kOidSha224, DigestAlg::Sha224},
    {kOidSha256, DigestAlg::Sha256}, {kOidSha384, DigestAlg::Sha384},
    {kOidSha512, DigestAlg::Sha512},
};

struct SignatureOid {
  Input oid;
  SignatureKind kind;
  DigestAlg digest;
};

constexpr SignatureOid kSignatureOids[] = {
    {kOidSha1WithRsa, SignatureKind::RsaPkcs1, DigestAlg::Sha1},
    {kOidSha224WithRsa, SignatureKind::RsaPkcs1, DigestAlg::Sha224},
    {kOidSha256WithRsa, SignatureKind::RsaPkcs1, DigestAlg::Sha256},
    {kOidSha384WithRsa, SignatureKind::RsaPkcs1, DigestAlg::Sha384},
    {kOidSha512WithRsa, SignatureKind::RsaPkcs1, DigestAlg::Sha512},
    {kOidEcdsaWithSha256, SignatureKind::Ecdsa, DigestAlg::Sha256},
    {kOidEcdsaWithSha384, SignatureKind::Ecdsa, DigestAlg::Sha384},
    {kOidEcdsaWithSha512, SignatureKind::Ecdsa, DigestAlg::Sha512},
};

}  // namespace

// HashAlgorithm ::= AlgorithmIdentifier; parameters NULL or absent (RFC 4055 2.1 accepts both).
Result ReadDigestAlgorithm(der::Reader& reader, DigestAlg& out) {
  return der::Nested(reader, der::kSequence, [&](der::Reader& alg) {
    Input oid;
    HVSIG_TRY(der::ReadOid(alg, oid));
    bool has_null = false;
    HVSIG_TRY(der::ReadOptionalNull(alg, has_null));
    for (const DigestOid& known : kDigestOids) {
      if (oid == known.oid) {
        out = known.alg;
        return Result::Success;
      }
    }
    return alg.Fail(Result::CertUnsupportedSignatureAlgorithm, oid);
  });
}

namespace {

// RSASSA-PSS-params (RFC 4055 3.1). Absent fields take the RFC's defaults (SHA-1, MGF1-SHA-1,
// salt 20, trailer 1); whether SHA-1 is acceptable is the verifier's policy, not the parser's.
Result ReadPssParameters(der::Reader& reader, SignatureAlgorithm& out) {
  out.digest = DigestAlg::Sha1;
  out.mgf1_digest = DigestAlg::Sha1;
  out.salt_length = 20;
  return der::Nested(reader, der::kSequence, [&](der::Reader& params) {
    der::Reader field;
    bool present = false;
    HVSIG_TRY(params.ReadOptionalNested(der::ContextConstructed(0), field, present));
    if (present) {
      HVSIG_TRY(ReadDigestAlgorithm(field, out.digest));
      HVSIG_TRY(field.ExpectEnd());
    }
    HVSIG_TRY(params.ReadOptionalNested(der::ContextConstructed(1), field, present));
    if (present) {
      HVSIG_TRY(der::Nested(field, der::kSequence, [&](der::Reader& mgf) {
        Input mgf_oid;
        HVSIG_TRY(der::ReadOid(mgf, mgf_oid));
        if (!(mgf_oid == kOidMgf1)) return mgf.Fail(Result::CertUnsupportedSignatureAlgorithm, mgf_oid);
        return ReadDigestAlgorithm(mgf, out.mgf1_digest);
      }));
      HVSIG_TRY(field.ExpectEnd());
    }
    HVSIG_TRY(params.ReadOptionalNested(der::ContextConstructed(2), field, present));
    if (present) {
      const size_t salt_offset = field.Offset();
      uint64_t salt = 0;
      HVSIG_TRY(der::ReadSmallUnsigned(field, salt));
      // Larger than any RSA modulus we accept can hold: no valid signature exists.
      if (salt > kMaxRsaIntegerLength) {
        return field.FailAt(Result::CertUnsupportedSignatureAlgorithm, salt_offset);
      }
      out.salt_length = static_cast<int32_t>(salt);
      HVSIG_TRY(field.ExpectEnd());
    }
    HVSIG_TRY(params.ReadOptionalNested(der::ContextConstructed(3), field, present));
    if (present) {
      // trailerFieldBC (1) is the only trailer RFC 4055 defines.
      const size_t trailer_offset = field.Offset();
      uint64_t trailer = 0;
      HVSIG_TRY(der::ReadSmallUnsigned(field, trailer));
      if (trailer != 1) return field.FailAt(Result::CertUnsupportedSignatureAlgorithm, trailer_offset);
      HVSIG_TRY(field.ExpectEnd());
    }
    return Result::Success;
  });
}

// ---- Name -----------------------------------------------------------------------------------

struct NameAttribute {
  Input type;   // OID contents
  Input value;  // the whole value element
  size_t rdn;   // index of its RelativeDistinguishedName
};

// Visits every AttributeTypeAndValue of a Name's contents, in encoding order:
//   Name ::= SEQUENCE OF SET SIZE (1..MAX) OF SEQUENCE { type OID, value ANY }
template <typename Visit>
Result ForEachNameAttribute(der::Reader& name, Visit visit) {
  for (size_t rdn_index = 0; !name.AtEnd(); ++rdn_index) {
    const size_t rdn_offset = name.Offset();
    der::Reader rdn;
    HVSIG_TRY(name.ReadNested(der::kSet, rdn));
    if (rdn.AtEnd()) return name.FailAt(Result::CertBadName, rdn_offset);
    while (!rdn.AtEnd()) {
      NameAttribute attribute{{}, {}, rdn_index};
      HVSIG_TRY(der::Nested(rdn, der::kSequence, [&](der::Reader& atv) {
        HVSIG_TRY(der::ReadOid(atv, attribute.type));
        return atv.ReadRawAny(attribute.value);
      }));
      HVSIG_TRY(visit(attribute));
    }
  }
  return Result::Success;
}

Result ReadName(der::Reader& reader, Input& out) {
  der::Reader name;
  HVSIG_TRY(reader.ReadRawNested(der::kSequence, out, name));
  size_t count = 0;
  return ForEachNameAttribute(name, [&](const NameAttribute& attribute) {
    if (++count > kMaxNameAttributes) return name.Fail(Result::CertBadName, attribute.value);
    return Result::Success;
  });
}

// ---- Name rendering (RFC 4514) ---------------------------------------------------------------

struct AttributeName {
  uint8_t oid_length;
  uint8_t oid[10];
  const char* name;
};

// The short names `openssl -nameopt RFC2253` prints (RFC 4514 3 plus OpenSSL's usual ones).
constexpr AttributeName kAttributeNames[] = {
    {3, {0x55, 0x04, 0x03}, "CN"},
    {3, {0x55, 0x04, 0x04}, "SN"},
    {3, {0x55, 0x04, 0x05}, "serialNumber"},
    {3, {0x55, 0x04, 0x06}, "C"},
    {3, {0x55, 0x04, 0x07}, "L"},
    {3, {0x55, 0x04, 0x08}, "ST"},
    {3, {0x55, 0x04, 0x09}, "street"},
    {3, {0x55, 0x04, 0x0a}, "O"},
    {3, {0x55, 0x04, 0x0b}, "OU"},
    {3, {0x55, 0x04, 0x0c}, "title"},
    {3, {0x55, 0x04, 0x0d}, "description"},
    {3, {0x55, 0x04, 0x11}, "postalCode"},
    {3, {0x55, 0x04, 0x2a}, "GN"},
    {3, {0x55, 0x04, 0x2b}, "initials"},
    {3, {0x55, 0x04, 0x2c}, "generationQualifier"},
    {3, {0x55, 0x04, 0x2e}, "dnQualifier"},
    {3, {0x55, 0x04, 0x41}, "pseudonym"},
    {3, {0x55, 0x04, 0x61}, "organizationIdentifier"},
    {9, {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01}, "emailAddress"},
    {10, {0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19}, "DC"},
    {10, {0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01}, "UID"},
};

const char* AttributeShortName(Input type) {
  for (const AttributeName& known : kAttributeNames) {
    if (type == Input(known.oid, known.oid_length)) return known.name;
  }
  return nullptr;
}

// Bytes per character of the string types that are rendered as text; the rest are dumped as
// #hex. UTF8String is passed through byte by byte (every non-ASCII byte is hex-escaped anyway);
// the one-byte types are Latin-1, as OpenSSL reads them.
constexpr uint8_t kNotText = 0xff;
constexpr uint8_t kUtf8Bytes = 0;

uint8_t CharacterWidth(uint8_t tag) {
  switch (tag) {
    case der::kUtf8String: return kUtf8Bytes;
    case 0x12:  // NumericString
    case der::kPrintableString:
    case der::kTeletexString:
    case der::kIa5String:
    case der::kUtcTime:
    case der::kGeneralizedTime: return 1;
    case der::kBmpString: return 2;
    case der::kUniversalString: return 4;
    default: return kNotText;
  }
}

class TextWriter {
 public:
  TextWriter(char* out, size_t capacity) : out_(out), capacity_(capacity) {}

  void Put(char c) {
    // One byte is kept for the terminating NUL.
    if (length_ + 1 < capacity_) out_[length_] = c;
    ++length_;
  }
  void PutString(const char* text) {
    while (*text != '\0') Put(*text++);
  }
  void PutHexByte(uint8_t byte) {
    constexpr char kHex[] = "0123456789ABCDEF";
    Put(kHex[byte >> 4]);
    Put(kHex[byte & 0x0f]);
  }
  void PutDecimal(uint64_t value) {
    char digits[20];
    size_t count = 0;
    do {
      digits[count++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    while (count > 0) Put(digits[--count]);
  }
  Result Finish(size_t& length) {
    if (length_ + 1 > capacity_) {
      if (capacity_ > 0) out_[0] = '\0';
      return Result::BufferTooSmall;
    }
    out_[length_] = '\0';
    length = length_;
    return Result::Success;
  }

 private:
  char* out_;
  size_t capacity_;
  size_t length_ = 0;
};

// An OID as dotted decimal. Arcs beyond 64 bits are not rendered (CertBadName).
Result PutDottedOid(TextWriter& text, Input oid) {
  uint64_t arc = 0;
  bool first_arc = true;
  for (uint8_t byte : oid) {
    if ((arc >> 57) != 0) return Result::CertBadName;
    arc = (arc << 7) | (byte & 0x7f);
    if ((byte & 0x80) != 0) continue;
    if (first_arc) {
      // The first sub-identifier packs two arcs: 40 * first + second, first in 0..2.
      const uint64_t top = arc < 40 ? 0 : arc < 80 ? 1 : 2;
      text.PutDecimal(top);
      text.Put('.');
      text.PutDecimal(arc - 40 * top);
      first_arc = false;
    } else {
      text.Put('.');
      text.PutDecimal(arc);
    }
    arc = 0;
  }
  return Result::Success;
}

// RFC 4514 2.4: a backslash before the special characters, and before a leading space or '#'
// and a trailing space; control characters and every non-ASCII UTF-8 byte as \XX.
void PutEscaped(TextWriter& text, uint8_t byte, bool first, bool last) {
  const bool special = byte == ',' || byte == '+' || byte == '"' || byte == '\\' || byte == '<' ||
                       byte == '>' || byte == ';';
  const bool positional = (first && (byte == ' ' || byte == '#')) || (last && byte == ' ');
  if (byte < 0x20 || byte >= 0x7f) {
    text.Put('\\');
    text.PutHexByte(byte);
  } else if (special || positional) {
    text.Put('\\');
    text.Put(static_cast<char>(byte));
  } else {
    text.Put(static_cast<char>(byte));
  }
}

Result PutCodePoint(TextWriter& text, uint32_t code_point, bool first, bool last) {
  if (code_point > 0x10ffff) return Result::CertBadName;
  uint8_t utf8[4];
  size_t length = 0;
  if (code_point < 0x80) {
    utf8[length++] = static_cast<uint8_t>(code_point);
  } else if (code_point < 0x800) {
    utf8[length++] = static_cast<uint8_t>(0xc0 | (code_point >> 6));
    utf8[length++] = static_cast<uint8_t>(0x80 | (code_point & 0x3f));
  } else if (code_point < 0x10000) {
    utf8[length++] = static_cast<uint8_t>(0xe0 | (code_point >> 12));
    utf8[length++] = static_cast<uint8_t>(0x80 | ((code_point >> 6) & 0x3f));
    utf8[length++] = static_cast<uint8_t>(0x80 | (code_point & 0x3f));
  } else {
    utf8[length++] = static_cast<uint8_t>(0xf0 | (code_point >> 18));
    utf8[length++] = static_cast<uint8_t>(0x80 | ((code_point >> 12) & 0x3f));
    utf8[length++] = static_cast<uint8_t>(0x80 | ((code_point >> 6) & 0x3f));
    utf8[length++] = static_cast<uint8_t>(0x80 | (code_point & 0x3f));
  }
  for (size_t i = 0; i < length; ++i) PutEscaped(text, utf8[i], first, last);
  return Result::Success;
}

Result PutAttributeValue(TextWriter& text, const NameAttribute& attribute, bool known_type) {
  der::Reader value_reader(attribute.value);
  uint8_t tag = 0;
  Input contents;
  HVSIG_TRY(value_reader.ReadTagAndContents(tag, contents));
  const uint8_t width = CharacterWidth(tag);
  if (!known_type || width == kNotText) {
    text.Put('#');
    for (uint8_t byte : attribute.value) text.PutHexByte(byte);
    return Result::Success;
  }
  if (width == kUtf8Bytes) {
    for (size_t i = 0; i < contents.size(); ++i) {
      PutEscaped(text, contents[i], i == 0, i + 1 == contents.size());
    }
    return Result::Success;
  }
  if (contents.size() % width != 0) return Result::CertBadName;
  const size_t characters = contents.size() / width;
  for (size_t i = 0; i < characters; ++i) {
    uint32_t code_point = 0;
    for (size_t j = 0; j < width; ++j) code_point = (code_point << 8) | contents[i * width + j];
    HVSIG_TRY(PutCodePoint(text, code_point, i == 0, i + 1 == characters));
  }
  return Result::Success;
}

// The index-th attribute of a Name in encoding order, and how many there are.
Result FindNameAttribute(Input name, size_t index, NameAttribute& found, size_t& count) {
  der::Reader root(name);
  der::Reader contents;
  HVSIG_TRY(root.ReadNested(der::kSequence, contents));
  HVSIG_TRY(root.ExpectEnd());
  count = 0;
  return ForEachNameAttribute(contents, [&](const NameAttribute& attribute) {
    if (count == kMaxNameAttributes) return Result::CertBadName;
    if (count == index) found = attribute;
    ++count;
    return Result::Success;
  });
}

// ---- SubjectPublicKeyInfo -------------------------------------------------------------------

Result ReadRsaPublicKey(const CryptoProvider& provider, der::Reader& spki, RsaPublicKey& out) {
  Input key_bits;
  HVSIG_TRY(der::ReadBitStringBytes(spki, key_bits));
  der::Reader key;
  HVSIG_TRY(spki.Descend(key_bits, key));
  HVSIG_TRY(der::Nested(key, der::kSequence, [&](der::Reader& rsa) {
    HVSIG_TRY(der::ReadUnsignedInteger(rsa, kMaxRsaIntegerLength, out.modulus));
    return der::ReadUnsignedInteger(rsa, kMaxRsaIntegerLength, out.exponent);
  }));
  HVSIG_TRY(key.ExpectEnd());
  if (provider.check_rsa_key(provider, out) != Result::Success) {
    return spki.Fail(Result::CertBadRsaKey, key_bits);
  }
  return Result::Success;
}

Result ReadEcPublicKey(const CryptoProvider& provider, der::Reader& spki, EcPublicKey& out) {
  Input point;
  HVSIG_TRY(der::ReadBitStringBytes(spki, point));
  const size_t coordinate_length =
      out.curve == EcCurve::P256 ? kP256CoordinateLength : kP384CoordinateLength;
  // Compressed points are optional in RFC 5480 and nobody signs kernels with them.
  if (point.size() != 1 + 2 * coordinate_length || point[0] != kUncompressedPoint) {
    return spki.Fail(Result::CertBadEcPoint, point);
  }
  out.point = point;
  if (provider.check_ec_key(provider, out) != Result::Success) {
    return spki.Fail(Result::CertBadEcPoint, point);
  }
  return Result::Success;
}

// ---- Extensions -----------------------------------------------------------------------------

// Named bits are big-endian within each octet: bit 0 is the top bit of the first octet.
HVSIG_CF_CHECK Result ReadKeyUsage(der::Reader& value, Certificate& out) {
  const size_t start = value.Offset();
  Input bits;
  uint8_t unused_bits = 0;
  HVSIG_TRY(der::ReadBitString(value, bits, unused_bits));
  if (bits.empty() || bits.size() > 2) return value.FailAt(Result::CertBadKeyUsage, start);
  // DER drops trailing zero bits of a named bit list (X.690 11.2.2): the last bit is set.
  if ((bits[bits.size() - 1] & (1u << unused_bits)) == 0) {
    return value.FailAt(Result::CertBadKeyUsage, start);
  }
  uint16_t usage = 0;
  for (size_t bit = 0; bit < bits.size() * 8; ++bit) {
    if ((bits[bit / 8] & (0x80u >> (bit % 8))) != 0) usage = static_cast<uint16_t>(usage | (1u << bit));
  }
  out.has_key_usage = true;
  out.key_usage = usage;
  return Result::Success;
}

// BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }
HVSIG_CF_CHECK Result ReadBasicConstraints(der::Reader& value, Certificate& out) {
  return der::Nested(value, der::kSequence, [&](der::Reader& constraints) {
    HVSIG_TRY(der::ReadOptionalBooleanDefaultFalse(constraints, out.is_ca));
    if (constraints.Peek(der::kInteger)) {
      const size_t path_length_offset = constraints.Offset();
      HVSIG_TRY(der::ReadSmallUnsigned(constraints, out.path_length));
      // RFC 5280 4.2.1.9: only a CA may carry a path length.
      if (!out.is_ca) return constraints.FailAt(Result::CertBadBasicConstraints, path_length_offset);
      out.has_path_length = true;
    }
    out.has_basic_constraints = true;
    return Result::Success;
  });
}

// ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId
HVSIG_CF_CHECK Result ReadExtKeyUsage(der::Reader& value, Certificate& out) {
  const size_t start = value.Offset();
  return der::Nested(value, der::kSequence, [&](der::Reader& purposes) {
    if (purposes.AtEnd()) return purposes.FailAt(Result::CertBadExtKeyUsage, start);
    while (!purposes.AtEnd()) {
      if (out.ext_key_usage_count == kMaxExtKeyUsages) {
        return purposes.Fail(Result::CertTooManyExtKeyUsages);
      }
      HVSIG_TRY(der::ReadOid(purposes, out.ext_key_usages[out.ext_key_usage_count]));
      ++out.ext_key_usage_count;
    }
    out.has_ext_key_usage = true;
    return Result::Success;
  });
}

HVSIG_CF_CHECK Result ReadSubjectKeyIdentifier(der::Reader& value, Certificate& out) {
  const size_t start = value.Offset();
  HVSIG_TRY(der::ReadOctetString(value, out.subject_key_id));
  if (out.subject_key_id.empty()) return value.FailAt(Result::CertBadKeyIdentifier, start);
  return Result::Success;
}

// AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL,
//   authorityCertIssuer [1] IMPLICIT GeneralNames OPTIONAL,
//   authorityCertSerialNumber [2] IMPLICIT INTEGER OPTIONAL }
HVSIG_CF_CHECK Result ReadAuthorityKeyIdentifier(der::Reader& value, Certificate& out) {
  return der::Nested(value, der::kSequence, [&](der::Reader& akid) {
    const size_t key_id_offset = akid.Offset();
    bool present = false;
    HVSIG_TRY(akid.ReadOptional(der::ContextPrimitive(0), out.authority_key_id, present));
    if (present && out.authority_key_id.empty()) {
      return akid.FailAt(Result::CertBadKeyIdentifier, key_id_offset);
    }
    Input ignored;
    HVSIG_TRY(akid.ReadOptional(der::ContextConstructed(1), ignored, present));
    return akid.ReadOptional(der::ContextPrimitive(2), ignored, present);
  });
}

// Called through kKnownExtensions: each reader above is HVSIG_CF_CHECK.
using ExtensionReader = Result (*)(der::Reader& value, Certificate& out);

struct KnownExtension {
  Input oid;
  ExtensionReader read;
};

constexpr KnownExtension kKnownExtensions[] = {
    {kOidBasicConstraints, ReadBasicConstraints},
    {kOidKeyUsage, ReadKeyUsage},
    {kOidExtKeyUsage, ReadExtKeyUsage},
    {kOidSubjectKeyIdentifier, ReadSubjectKeyIdentifier},
    {kOidAuthorityKeyIdentifier, ReadAuthorityKeyIdentifier},
};

// Whether an extension before `current` (all already parsed) has this extnID. Extensions are
// few, so a rescan costs less than a bound on how many may be remembered.
bool ExtensionSeenBefore(Input extensions, const uint8_t* current, Input oid) {
  der::Reader earlier(extensions);
  while (earlier.Offset() < static_cast<size_t>(current - extensions.data())) {
    der::Reader extension;
    Input earlier_oid;
    if (earlier.ReadNested(der::kSequence, extension) != Result::Success) return false;
    if (der::ReadOid(extension, earlier_oid) != Result::Success) return false;
    if (earlier_oid == oid) return true;
  }
  return false;
}

// Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
Result ReadExtension(der::Reader& extensions, Certificate& out) {
  Input whole;
  der::Reader extension;
  HVSIG_TRY(extensions.ReadRawNested(der::kSequence, whole, extension));
  Input oid;
  HVSIG_TRY(der::ReadOid(extension, oid));
  if (ExtensionSeenBefore(out.extensions, whole.data(), oid)) {
    return extensions.Fail(Result::CertDuplicateExtension, whole);
  }
  bool critical = false;
  HVSIG_TRY(der::ReadOptionalBooleanDefaultFalse(extension, critical));
  Input value_bytes;
  HVSIG_TRY(der::ReadOctetString(extension, value_bytes));
  HVSIG_TRY(extension.ExpectEnd());
  for (const KnownExtension& known : kKnownExtensions) {
    if (oid == known.oid) {
      der::Reader value;
      HVSIG_TRY(extension.Descend(value_bytes, value));
      HVSIG_TRY(known.read(value, out));
      return value.ExpectEnd();
    }
  }
  if (critical && !out.has_unknown_critical_extension) {
    out.has_unknown_critical_extension = true;
    out.unknown_critical_extension_oid = oid;
  }
  return Result::Success;
}

// extensions [3] EXPLICIT SEQUENCE SIZE (1..MAX) OF Extension
Result ReadExtensions(der::Reader& explicit_tag, Certificate& out) {
  const size_t start = explicit_tag.Offset();
  HVSIG_TRY(explicit_tag.ReadElement(der::kSequence, out.extensions));
  HVSIG_TRY(explicit_tag.ExpectEnd());
  if (out.extensions.empty()) return explicit_tag.FailAt(Result::CertBadExtensions, start);
  der::Reader extensions;
  HVSIG_TRY(explicit_tag.Descend(out.extensions, extensions));
  while (!extensions.AtEnd()) HVSIG_TRY(ReadExtension(extensions, out));
  return Result::Success;
}

// ---- TBSCertificate -------------------------------------------------------------------------

constexpr uint8_t kVersionTag = der::ContextConstructed(0);
constexpr uint8_t kIssuerUniqueIdTag = der::ContextPrimitive(1);
constexpr uint8_t kSubjectUniqueIdTag = der::ContextPrimitive(2);
constexpr uint8_t kExtensionsTag = der::ContextConstructed(3);

// version [0] EXPLICIT INTEGER DEFAULT v1: DER omits v1, so an encoded 0 is rejected too.
Result ReadVersion(der::Reader& tbs, uint8_t& version) {
  const size_t start = tbs.Offset();
  der::Reader explicit_version;
  bool present = false;
  HVSIG_TRY(tbs.ReadOptionalNested(kVersionTag, explicit_version, present));
  version = 1;
  if (!present) return Result::Success;
  uint64_t encoded = 0;
  HVSIG_TRY(der::ReadSmallUnsigned(explicit_version, encoded));
  HVSIG_TRY(explicit_version.ExpectEnd());
  if (encoded != 1 && encoded != 2) return tbs.FailAt(Result::CertBadVersion, start);
  version = static_cast<uint8_t>(encoded + 1);
  return Result::Success;
}

// CertificateSerialNumber: positive, at most 20 octets (RFC 5280 4.1.2.2). The sign octet that
// a serial with its top bit set needs does not count.
Result ReadSerial(der::Reader& tbs, Input& serial) {
  const size_t start = tbs.Offset();
  Input value;
  HVSIG_TRY(der::ReadInteger(tbs, value));
  if ((value[0] & 0x80) != 0) return tbs.FailAt(Result::CertBadSerial, start);
  if (value[0] == 0x00 && value.size() == 1) return tbs.FailAt(Result::CertBadSerial, start);
  if (value[0] == 0x00) value = Input(value.data() + 1, value.size() - 1);
  if (value.size() > kMaxSerialLength) return tbs.FailAt(Result::CertBadSerial, start);
  serial = value;
  return Result::Success;
}

Result ReadValidity(der::Reader& tbs, Certificate& out) {
  const size_t start = tbs.Offset();
  HVSIG_TRY(der::Nested(tbs, der::kSequence, [&](der::Reader& validity) {
    HVSIG_TRY(der::ReadTime(validity, out.not_before));
    return der::ReadTime(validity, out.not_after);
  }));
  if (out.not_after < out.not_before) return tbs.FailAt(Result::CertBadValidity, start);
  return Result::Success;
}

Result ReadTbsCertificate(const CryptoProvider& provider, der::Reader& tbs, Certificate& out,
                          SignatureAlgorithm& tbs_signature) {
  HVSIG_TRY(ReadVersion(tbs, out.version));
  HVSIG_TRY(ReadSerial(tbs, out.serial));
  HVSIG_TRY(ReadSignatureAlgorithm(tbs, tbs_signature));
  const size_t issuer_offset = tbs.Offset();
  HVSIG_TRY(ReadName(tbs, out.issuer));
  // An empty issuer cannot be matched to any issuing certificate (RFC 5280 4.1.2.4).
  if (out.issuer.size() == 2) return tbs.FailAt(Result::CertBadName, issuer_offset);
  HVSIG_TRY(ReadValidity(tbs, out));
  HVSIG_TRY(ReadName(tbs, out.subject));
  HVSIG_TRY(ReadSubjectPublicKeyInfo(provider, tbs, out.key));

  const size_t unique_ids_offset = tbs.Offset();
  Input ignored;
  bool issuer_unique_id = false;
  bool subject_unique_id = false;
  HVSIG_TRY(tbs.ReadOptional(kIssuerUniqueIdTag, ignored, issuer_unique_id));
  HVSIG_TRY(tbs.ReadOptional(kSubjectUniqueIdTag, ignored, subject_unique_id));
  if ((issuer_unique_id || subject_unique_id) && out.version == 1) {
    return tbs.FailAt(Result::CertBadVersion, unique_ids_offset);
  }

  const size_t extensions_offset = tbs.Offset();
  der::Reader explicit_extensions;
  bool has_extensions = false;
  HVSIG_TRY(tbs.ReadOptionalNested(kExtensionsTag, explicit_extensions, has_extensions));
  if (has_extensions) {
    if (out.version != 3) return tbs.FailAt(Result::CertBadVersion, extensions_offset);
    HVSIG_TRY(ReadExtensions(explicit_extensions, out));
  }
  return tbs.ExpectEnd();
}

}  // namespace

Result ReadSignatureAlgorithm(der::Reader& reader, SignatureAlgorithm& out) {
  der::Reader alg;
  HVSIG_TRY(reader.ReadRawNested(der::kSequence, out.der, alg));
  Input oid;
  HVSIG_TRY(der::ReadOid(alg, oid));
  if (oid == kOidRsassaPss) {
    out.kind = SignatureKind::RsaPss;
    HVSIG_TRY(ReadPssParameters(alg, out));
    return alg.ExpectEnd();
  }
  for (const SignatureOid& known : kSignatureOids) {
    if (oid == known.oid) {
      out.kind = known.kind;
      out.digest = known.digest;
      out.mgf1_digest = known.digest;
      out.salt_length = 0;
      // RFC 4055 2.1: NULL or absent for RSA; RFC 5758 3.2: absent for ECDSA.
      bool has_null = false;
      if (known.kind == SignatureKind::RsaPkcs1) HVSIG_TRY(der::ReadOptionalNull(alg, has_null));
      return alg.ExpectEnd();
    }
  }
  return alg.Fail(Result::CertUnsupportedSignatureAlgorithm, oid);
}

Result ReadSubjectPublicKeyInfo(const CryptoProvider& provider, der::Reader& reader,
                                SubjectPublicKeyInfo& out) {
  der::Reader spki;
  HVSIG_TRY(reader.ReadRawNested(der::kSequence, out.der, spki));
  Input algorithm_oid;
  Input curve_oid;
  HVSIG_TRY(der::Nested(spki, der::kSequence, [&](der::Reader& alg) {
    HVSIG_TRY(der::ReadOid(alg, algorithm_oid));
    if (algorithm_oid == kOidRsaEncryption) return der::ReadNull(alg);  // RFC 3279 2.3.1
    if (algorithm_oid == kOidEcPublicKey) {
      // Only namedCurve: implicitCurve and specifiedCurve are forbidden by RFC 5480 2.1.1.
      if (!alg.Peek(der::kOid)) return alg.Fail(Result::CertUnsupportedCurve);
      return der::ReadOid(alg, curve_oid);
    }
    return alg.Fail(Result::CertUnsupportedKeyAlgorithm, algorithm_oid);
  }));
  if (algorithm_oid == kOidRsaEncryption) {
    out.type = KeyType::Rsa;
    HVSIG_TRY(ReadRsaPublicKey(provider, spki, out.rsa));
  } else {
    out.type = KeyType::Ec;
    if (curve_oid == kOidCurveP256) {
      out.ec.curve = EcCurve::P256;
    } else if (curve_oid == kOidCurveP384) {
      out.ec.curve = EcCurve::P384;
    } else {
      return spki.Fail(Result::CertUnsupportedCurve, curve_oid);
    }
    HVSIG_TRY(ReadEcPublicKey(provider, spki, out.ec));
  }
  return spki.ExpectEnd();
}

Result ParseSubjectPublicKeyInfo(const CryptoProvider& provider, Input spki,
                                 SubjectPublicKeyInfo& out, der::Error* error) {
  if (error != nullptr) *error = der::Error{};
  der::Reader reader(spki, error);
  HVSIG_TRY(ReadSubjectPublicKeyInfo(provider, reader, out));
  return reader.ExpectEnd();
}

// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
Result ParseCertificate(const CryptoProvider& provider, Input der, Certificate& out,
                        der::Error* error) {
  if (error != nullptr) *error = der::Error{};
  out = Certificate{};
  der::Reader reader(der, error);
  der::Reader certificate;
  HVSIG_TRY(reader.ReadRawNested(der::kSequence, out.der, certificate));
  HVSIG_TRY(reader.ExpectEnd());

  der::Reader tbs;
  HVSIG_TRY(certificate.ReadRawNested(der::kSequence, out.tbs, tbs));
  SignatureAlgorithm tbs_signature{};
  HVSIG_TRY(ReadTbsCertificate(provider, tbs, out, tbs_signature));
  HVSIG_TRY(ReadSignatureAlgorithm(certificate, out.signature_algorithm));
  // RFC 5280 4.1.1.2: the unsigned outer field must repeat the signed inner one exactly, or an
  // attacker could swap the algorithm the verifier uses.
  if (!(out.signature_algorithm.der == tbs_signature.der)) {
    return certificate.Fail(Result::CertSignatureAlgorithmMismatch, out.signature_algorithm.der);
  }
  HVSIG_TRY(der::ReadBitStringBytes(certificate, out.signature));
  return certificate.ExpectEnd();
}

bool HasKeyUsage(const Certificate& cert, KeyUsageBit bit) {
  return cert.has_key_usage && (cert.key_usage & (1u << static_cast<uint8_t>(bit))) != 0;
}

bool HasExtKeyUsage(const Certificate& cert, Input purpose_oid) {
  for (size_t i = 0; i < cert.ext_key_usage_count; ++i) {
    if (cert.ext_key_usages[i] == purpose_oid) return true;
  }
  return false;
}

Result VerifyCertificateSignature(const CryptoProvider& provider, const Certificate& cert,
                                  const SubjectPublicKeyInfo& issuer_key) {
  const SignatureAlgorithm& alg = cert.signature_algorithm;
  const KeyType needed = alg.kind == SignatureKind::Ecdsa ? KeyType::Ec : KeyType::Rsa;
  if (issuer_key.type != needed) return Result::CertKeyTypeMismatch;
  uint8_t digest[kMaxDigestLength];
  HVSIG_TRY(DigestOnce(provider, alg.digest, cert.tbs, digest));
  const Input digest_view(digest, DigestLength(alg.digest));
  switch (alg.kind) {
    case SignatureKind::RsaPkcs1:
      return provider.verify_rsa_pkcs1(provider, issuer_key.rsa, alg.digest, digest_view,
                                       cert.signature);
    case SignatureKind::RsaPss:
      return provider.verify_rsa_pss(provider, issuer_key.rsa, alg.digest, alg.mgf1_digest,
                                     alg.salt_length, digest_view, cert.signature);
    case SignatureKind::Ecdsa:
      return provider.verify_ecdsa(provider, issuer_key.ec, digest_view, cert.signature);
  }
  return Result::CertUnsupportedSignatureAlgorithm;
}

// OpenSSL's RFC2253 output reverses the flattened attribute list, so attributes of one
// multi-valued RDN come out in reverse encoding order too; we print the same string. Names
// are bounded (kMaxNameAttributes), so finding each attribute by rescanning stays cheap and
// needs no storage.
Result FormatName(Input name, char* out, size_t capacity, size_t& length) {
  TextWriter text(out, capacity);
  NameAttribute attribute{};
  size_t count = 0;
  HVSIG_TRY(FindNameAttribute(name, 0, attribute, count));
  size_t previous_rdn = 0;
  for (size_t printed = 0; printed < count; ++printed) {
    size_t ignored_count = 0;
    HVSIG_TRY(FindNameAttribute(name, count - 1 - printed, attribute, ignored_count));
    if (printed != 0) text.Put(attribute.rdn == previous_rdn ? '+' : ',');
    previous_rdn = attribute.rdn;
    const char* short_name = AttributeShortName(attribute.type);
    if (short_name != nullptr) {
      text.PutString(short_name);
    } else {
      HVSIG_TRY(PutDottedOid(text, attribute.type));
    }
    text.Put('=');
    HVSIG_TRY(PutAttributeValue(text, attribute, short_name != nullptr));
  }
  return text.Finish(length);
}

}  // namespace hvsig
