// Strict DER reader in the style of mozilla::pkix's der:: namespace. A Reader is a cursor over
// an Input; every element it returns is a view into that input (no copies, no heap).
//
// What "strict" means here (X.690 DER, the subset X.509/PKCS#7 need):
//  - low tag numbers only (a tag byte with number 31 introduces the multi-byte form: rejected);
//  - definite, minimal lengths (short form below 128, no leading zero length octets), at most
//    4 length octets;
//  - every element lies inside its parent; a reader over a whole input reports running off its
//    end as DerTruncated, a nested reader as DerLengthExceedsParent;
//  - nesting is limited to kMaxDepth readers below the root;
//  - typed reads check their contents (minimal INTEGER, valid OID, BOOLEAN 00/FF, ...).
//
// Error offsets: a Reader may carry an Error*. The first failure a reader (or a caller through
// Reader::Fail) records there is kept, with the offset, counted from the first byte of the root
// input, of the element at fault (its tag byte) or of the field inside it that is at fault.
// Failures propagate outwards, so "first recorded" is the innermost, most precise one.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hvsig/input.h"
#include "hvsig/result.h"

namespace hvsig::der {

// Universal tags (with the constructed bit where the type is always constructed).
constexpr uint8_t kBoolean = 0x01;
constexpr uint8_t kInteger = 0x02;
constexpr uint8_t kBitString = 0x03;
constexpr uint8_t kOctetString = 0x04;
constexpr uint8_t kNull = 0x05;
constexpr uint8_t kOid = 0x06;
constexpr uint8_t kUtf8String = 0x0c;
constexpr uint8_t kPrintableString = 0x13;
constexpr uint8_t kTeletexString = 0x14;
constexpr uint8_t kIa5String = 0x16;
constexpr uint8_t kUtcTime = 0x17;
constexpr uint8_t kGeneralizedTime = 0x18;
constexpr uint8_t kUniversalString = 0x1c;
constexpr uint8_t kBmpString = 0x1e;
constexpr uint8_t kSequence = 0x30;
constexpr uint8_t kSet = 0x31;

constexpr uint8_t kConstructedBit = 0x20;
constexpr uint8_t kContextSpecificClass = 0x80;

// [n] IMPLICIT/EXPLICIT tags. n must be < 31 (low tag numbers only).
constexpr uint8_t ContextConstructed(uint8_t n) { return kContextSpecificClass | kConstructedBit | n; }
constexpr uint8_t ContextPrimitive(uint8_t n) { return kContextSpecificClass | n; }

// Readers nested below the root reader. X.509 needs about 8; PKCS#7 around a certificate ~12.
constexpr uint8_t kMaxDepth = 16;

// The core's one error record; a reader's offsets count from the first byte of its root input.
using Error = ::hvsig::Error;

class Reader {
 public:
  Reader() = default;
  // A root reader: offsets are counted from input.data(); running off its end is DerTruncated.
  explicit Reader(Input input, Error* error = nullptr)
      : root_(input.data()), cursor_(input.data()), end_(input.data() + input.size()),
        error_(error) {}

  bool AtEnd() const { return cursor_ == end_; }
  // True if the next element has this tag (false at the end).
  bool Peek(uint8_t tag) const { return cursor_ != end_ && *cursor_ == tag; }
  // Offset of the cursor, or of a view into the root input, from the root's first byte.
  size_t Offset() const { return static_cast<size_t>(cursor_ - root_); }
  size_t OffsetOf(Input view) const { return static_cast<size_t>(view.data() - root_); }

  // Records r (at the given offset, or at a view into the root input) unless an earlier
  // failure is already recorded; returns r so a check stays one line:
  //   if (bad) return reader.Fail(Result::CertBadSerial, serial);
  Result FailAt(Result r, size_t offset) const;
  Result Fail(Result r, Input at) const { return FailAt(r, OffsetOf(at)); }
  Result Fail(Result r) const { return FailAt(r, Offset()); }

  // DerTrailingData unless every byte has been consumed.
  Result ExpectEnd() const;

  // Any element: its tag and contents.
  Result ReadTagAndContents(uint8_t& tag, Input& contents);
  // An element with this tag (else DerUnexpectedTag): its contents.
  Result ReadElement(uint8_t tag, Input& contents);
  // An element with this tag, header and contents (e.g. the exact TBSCertificate bytes that
  // were signed, or an AlgorithmIdentifier to compare byte-for-byte).
  Result ReadRawElement(uint8_t tag, Input& whole);
  // Any element, header and contents.
  Result ReadRawAny(Input& whole);
  Result SkipElement(uint8_t tag) {
    Input ignored;
    return ReadElement(tag, ignored);
  }
  // OPTIONAL / DEFAULT: if the next element has this tag, reads it and sets present.
  Result ReadOptional(uint8_t tag, Input& contents, bool& present);

  // A reader over the contents of the next element (which must have this tag), one level
  // deeper (DerTooDeep past kMaxDepth). The caller must ExpectEnd() on it, or use Nested().
  Result ReadNested(uint8_t tag, Reader& nested);
  Result ReadOptionalNested(uint8_t tag, Reader& nested, bool& present);
  // ReadNested that also returns the whole element (header and contents), for structures that
  // are both parsed and hashed or compared as encoded (TBSCertificate, signed attributes).
  Result ReadRawNested(uint8_t tag, Input& whole, Reader& nested);
  // A reader, one level deeper, over bytes already read from this reader's root input, for
  // DER carried inside a primitive element (extension values in an OCTET STRING, keys in a
  // BIT STRING).
  Result Descend(Input contents, Reader& nested) const;

 private:
  Result ReadHeader(uint8_t& tag, size_t& header_length, size_t& contents_length);
  Result Overrun() const;

  const uint8_t* root_ = nullptr;
  const uint8_t* cursor_ = nullptr;
  const uint8_t* end_ = nullptr;
  Error* error_ = nullptr;
  uint8_t depth_ = 0;
};

// Reads an element with this tag, hands a reader over its contents to parse(nested), then
// requires that parse consumed all of it: der::Nested of mozilla::pkix.
//   HVSIG_TRY(der::Nested(reader, der::kSequence, [&](der::Reader& seq) { ... }));
template <typename Parse>
Result Nested(Reader& reader, uint8_t tag, Parse parse) {
  Reader nested;
  HVSIG_TRY(reader.ReadNested(tag, nested));
  HVSIG_TRY(parse(nested));
  return nested.ExpectEnd();
}

// Typed reads. Each consumes one element and checks its DER contents.

// INTEGER: the two's-complement contents, non-empty and minimal (no redundant 00 or FF lead).
Result ReadInteger(Reader& reader, Input& twos_complement);
// Non-negative INTEGER as a big-endian magnitude without the sign octet (zero is the single
// octet 00). DerNegativeInteger if negative, DerIntegerTooLarge if the magnitude needs more
// than max_magnitude_length octets.
Result ReadUnsignedInteger(Reader& reader, size_t max_magnitude_length, Input& magnitude);
// Non-negative INTEGER that fits in uint64_t (else DerIntegerTooLarge).
Result ReadSmallUnsigned(Reader& reader, uint64_t& value);

// OBJECT IDENTIFIER contents (the encoded arcs), validated: non-empty, every sub-identifier
// minimal (no leading 0x80) and terminated.
// Compare with an HVSIG_OID constant (below) using Input's ==.
Result ReadOid(Reader& reader, Input& oid);

// BIT STRING: the bytes after the unused-bits octet. unused_bits is 0..7, must be 0 when there
// are no bytes, and the unused bits must be zero (DER).
Result ReadBitString(Reader& reader, Input& bits, uint8_t& unused_bits);
// BIT STRING that carries whole bytes (keys, signatures): DerBadBitString if any bit unused.
Result ReadBitStringBytes(Reader& reader, Input& bytes);

Result ReadOctetString(Reader& reader, Input& bytes);
// BOOLEAN: exactly one octet, 0x00 or 0xFF.
Result ReadBoolean(Reader& reader, bool& value);
// BOOLEAN DEFAULT FALSE: absent means false; an encoded FALSE is not DER (DerBadBoolean).
Result ReadOptionalBooleanDefaultFalse(Reader& reader, bool& value);
Result ReadNull(Reader& reader);
// NULL if present (AlgorithmIdentifier parameters that may be absent or NULL).
Result ReadOptionalNull(Reader& reader, bool& present);

// Seconds since 1970-01-01T00:00:00Z (negative before). Comparable with < and ==.
using Time = int64_t;
// UTCTime "YYMMDDHHMMSSZ" (YY 50..99 -> 19YY, 00..49 -> 20YY) or GeneralizedTime
// "YYYYMMDDHHMMSSZ": seconds present, no fraction, no offset, Z required, calendar-valid
// (leap years, second 00..59). Anything else is DerBadTime; another tag DerUnexpectedTag.
Result ReadTime(Reader& reader, Time& time);
// Civil date <-> Time, for tests and for printing (proleptic Gregorian, UTC).
struct CivilTime {
  int32_t year;
  uint8_t month, day, hour, minute, second;
};
Time TimeFromCivil(const CivilTime& civil);
CivilTime CivilFromTime(Time time);

}  // namespace hvsig::der

// An encoded OID's contents as a constexpr byte array: HVSIG_OID(kOidSha256, 0x60, 0x86, ...).
#define HVSIG_OID(name, ...)                                    \
  inline constexpr uint8_t name##_bytes[] = {__VA_ARGS__};      \
  inline constexpr ::hvsig::Input name{name##_bytes}
