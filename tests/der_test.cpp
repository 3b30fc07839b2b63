// Strict DER reader: header rules, nesting, every typed read's good and bad encodings, and
// truncation of a real certificate (made by the openssl CLI) at every byte.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "hvsig/der.h"
#include "test_support.h"

namespace hvsig {
namespace {

using namespace test;

// Owns an encoding and a root reader over it (a reader over a temporary would dangle).
struct Encoded {
  explicit Encoded(Bytes encoding) : bytes(std::move(encoding)), reader(In(bytes)) {}
  Bytes bytes;
  der::Reader reader;
};

// Reads one element with the given tag from a root reader and requires the input consumed.
Result ReadOne(const Bytes& encoding, uint8_t tag, Input& contents, der::Error* error = nullptr) {
  der::Reader reader(In(encoding), error);
  HVSIG_TRY(reader.ReadElement(tag, contents));
  return reader.ExpectEnd();
}

// ---- Headers ---------------------------------------------------------------------------------

TEST(DerHeader, ShortAndLongLengthsAreAccepted) {
  for (size_t length : {0u, 1u, 127u, 128u, 255u, 256u, 65535u, 65536u}) {
    const Bytes encoding = Tlv(der::kOctetString, Bytes(length, 0xab));
    Input contents;
    ASSERT_EQ(ReadOne(encoding, der::kOctetString, contents), Result::Success) << length;
    EXPECT_EQ(contents.size(), length);
    EXPECT_EQ(contents.data(), encoding.data() + (encoding.size() - length));
  }
}

TEST(DerHeader, NonMinimalLengthsAreRejected) {
  Input contents;
  // Long form for a length that fits the short form.
  Bytes one_octet = {0x04, 0x81, 0x7f};
  one_octet.resize(3 + 0x7f, 0);
  EXPECT_EQ(ReadOne(one_octet, der::kOctetString, contents), Result::DerNonMinimalLength);
  EXPECT_EQ(ReadOne({0x04, 0x81, 0x00}, der::kOctetString, contents), Result::DerNonMinimalLength);
  // Leading zero length octet.
  Bytes leading_zero = {0x04, 0x82, 0x00, 0x80};
  leading_zero.resize(4 + 0x80, 0);
  EXPECT_EQ(ReadOne(leading_zero, der::kOctetString, contents), Result::DerNonMinimalLength);
  Bytes four_octets = {0x04, 0x84, 0x00, 0x00, 0x01, 0x00};
  four_octets.resize(6 + 0x100, 0);
  EXPECT_EQ(ReadOne(four_octets, der::kOctetString, contents), Result::DerNonMinimalLength);
}

TEST(DerHeader, IndefiniteLengthIsRejected) {
  Input contents;
  EXPECT_EQ(ReadOne({0x30, 0x80, 0x05, 0x00, 0x00, 0x00}, der::kSequence, contents),
            Result::DerIndefiniteLength);
  EXPECT_EQ(ReadOne({0x24, 0x80, 0x04, 0x01, 0xaa, 0x00, 0x00}, 0x24, contents),
            Result::DerIndefiniteLength);
}

TEST(DerHeader, MoreThanFourLengthOctetsAreRejected) {
  Input contents;
  EXPECT_EQ(ReadOne({0x04, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00}, der::kOctetString, contents),
            Result::DerLengthTooLarge);
  EXPECT_EQ(ReadOne({0x04, 0xff}, der::kOctetString, contents), Result::DerLengthTooLarge);
}

TEST(DerHeader, HighTagNumbersAreRejected) {
  Encoded universal_encoding(Bytes{0x1f, 0x20, 0x00});
    der::Reader& universal = universal_encoding.reader;
  uint8_t tag = 0;
  Input contents;
  EXPECT_EQ(universal.ReadTagAndContents(tag, contents), Result::DerHighTagNumber);
  Encoded context_encoding(Bytes{0xbf, 0x81, 0x00, 0x00});
    der::Reader& context = context_encoding.reader;
  EXPECT_EQ(context.ReadTagAndContents(tag, contents), Result::DerHighTagNumber);
  // Tag number 30 is the highest single-octet form.
  Encoded highest_low_encoding(Bytes{0x9e, 0x00});
    der::Reader& highest_low = highest_low_encoding.reader;
  EXPECT_EQ(highest_low.ReadTagAndContents(tag, contents), Result::Success);
  EXPECT_EQ(tag, 0x9e);
}

TEST(DerHeader, RunningOffTheInputIsTruncated) {
  Input contents;
  EXPECT_EQ(ReadOne({}, der::kOctetString, contents), Result::DerTruncated);
  EXPECT_EQ(ReadOne({0x04}, der::kOctetString, contents), Result::DerTruncated);
  EXPECT_EQ(ReadOne({0x04, 0x02, 0xaa}, der::kOctetString, contents), Result::DerTruncated);
  EXPECT_EQ(ReadOne({0x04, 0x82, 0x01}, der::kOctetString, contents), Result::DerTruncated);
  EXPECT_EQ(ReadOne({0x04, 0x82, 0x01, 0x00, 0xaa}, der::kOctetString, contents),
            Result::DerTruncated);
}

TEST(DerHeader, LengthPastTheParentIsRejectedWithItsOffset) {
  // SEQUENCE of length 3 holding an OCTET STRING that claims 5 bytes: the input holds them,
  // the parent does not.
  const Bytes encoding = {0x30, 0x03, 0x04, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00};
  der::Error error;
  der::Reader reader(In(encoding), &error);
  der::Reader sequence;
  ASSERT_EQ(reader.ReadNested(der::kSequence, sequence), Result::Success);
  Input contents;
  EXPECT_EQ(sequence.ReadElement(der::kOctetString, contents), Result::DerLengthExceedsParent);
  EXPECT_EQ(error.result, Result::DerLengthExceedsParent);
  EXPECT_EQ(error.offset, 2u);
  // A header cut by the parent's end is past the parent too.
  Encoded cut_encoding(Bytes{0x30, 0x01, 0x04, 0x00});
    der::Reader& cut = cut_encoding.reader;
  ASSERT_EQ(cut.ReadNested(der::kSequence, sequence), Result::Success);
  EXPECT_EQ(sequence.ReadElement(der::kOctetString, contents), Result::DerLengthExceedsParent);
}

TEST(DerHeader, TrailingDataIsRejectedWithItsOffset) {
  der::Error error;
  const Bytes encoding = {0x05, 0x00, 0x05, 0x00};
  der::Reader reader(In(encoding), &error);
  ASSERT_EQ(der::ReadNull(reader), Result::Success);
  EXPECT_EQ(reader.ExpectEnd(), Result::DerTrailingData);
  EXPECT_EQ(error.offset, 2u);

  Encoded outer_encoding(Bytes{0x30, 0x04, 0x05, 0x00, 0x05, 0x00});
    der::Reader& outer = outer_encoding.reader;
  EXPECT_EQ(der::Nested(outer, der::kSequence, [](der::Reader& sequence) {
              return der::ReadNull(sequence);
            }),
            Result::DerTrailingData);
}

TEST(DerHeader, UnexpectedTagIsRejected) {
  Input contents;
  der::Error error;
  EXPECT_EQ(ReadOne({0x31, 0x00}, der::kSequence, contents, &error), Result::DerUnexpectedTag);
  EXPECT_EQ(error.offset, 0u);
}

// Nests `depth` SEQUENCEs around a NULL.
Bytes NestedSequences(size_t depth) {
  Bytes encoding = {0x05, 0x00};
  for (size_t i = 0; i < depth; ++i) encoding = Tlv(der::kSequence, encoding);
  return encoding;
}

Result Descend(der::Reader& reader) {
  if (reader.Peek(der::kNull)) return der::ReadNull(reader);
  return der::Nested(reader, der::kSequence, Descend);
}

TEST(DerNesting, DepthIsLimited) {
  {
    Encoded reader_encoding(NestedSequences(der::kMaxDepth));
    der::Reader& reader = reader_encoding.reader;
    EXPECT_EQ(Descend(reader), Result::Success);
  }
  {
    der::Error error;
    const Bytes encoding = NestedSequences(der::kMaxDepth + 1);
    der::Reader reader(In(encoding), &error);
    EXPECT_EQ(Descend(reader), Result::DerTooDeep);
    EXPECT_EQ(error.result, Result::DerTooDeep);
    EXPECT_EQ(error.offset, 2u * der::kMaxDepth);  // the SEQUENCE one level too deep
  }
  {
    // Descend (for DER inside OCTET STRINGs) counts levels too.
    const Bytes encoding = NestedSequences(der::kMaxDepth);
    der::Reader reader(In(encoding));
    der::Reader level = reader;
    for (int i = 0; i < der::kMaxDepth; ++i) {
      der::Reader next;
      ASSERT_EQ(level.ReadNested(der::kSequence, next), Result::Success);
      level = next;
    }
    der::Reader too_deep;
    EXPECT_EQ(level.Descend(In(encoding), too_deep), Result::DerTooDeep);
  }
}

TEST(DerNesting, ContextSpecificAndOptionalElements) {
  // [0] EXPLICIT INTEGER 5, [1] IMPLICIT OCTET STRING "ab", then a NULL.
  const Bytes encoding = Concat({Tlv(der::ContextConstructed(0), {0x02, 0x01, 0x05}),
                                Tlv(der::ContextPrimitive(1), {'a', 'b'}), {0x05, 0x00}});
  der::Reader reader(In(encoding));
  der::Reader explicit_tag;
  bool present = false;
  ASSERT_EQ(reader.ReadOptionalNested(der::ContextConstructed(0), explicit_tag, present),
            Result::Success);
  ASSERT_TRUE(present);
  uint64_t value = 0;
  ASSERT_EQ(der::ReadSmallUnsigned(explicit_tag, value), Result::Success);
  EXPECT_EQ(value, 5u);
  EXPECT_EQ(explicit_tag.ExpectEnd(), Result::Success);
  // An absent optional element leaves the cursor alone.
  Input contents;
  ASSERT_EQ(reader.ReadOptional(der::ContextPrimitive(0), contents, present), Result::Success);
  EXPECT_FALSE(present);
  ASSERT_EQ(reader.ReadOptional(der::ContextPrimitive(1), contents, present), Result::Success);
  ASSERT_TRUE(present);
  EXPECT_EQ(contents, In(Bytes{'a', 'b'}));
  ASSERT_EQ(reader.ReadOptionalNested(der::ContextConstructed(3), explicit_tag, present),
            Result::Success);
  EXPECT_FALSE(present);
  bool has_null = false;
  ASSERT_EQ(der::ReadOptionalNull(reader, has_null), Result::Success);
  EXPECT_TRUE(has_null);
  EXPECT_EQ(reader.ExpectEnd(), Result::Success);
}

TEST(DerNesting, RawElementsIncludeTheirHeader) {
  const Bytes inner = Tlv(der::kSequence, Tlv(der::kOctetString, Bytes(200, 0x11)));
  const Bytes encoding = Concat({inner, {0x05, 0x00}});
  der::Reader reader(In(encoding));
  Input whole;
  der::Reader nested;
  ASSERT_EQ(reader.ReadRawNested(der::kSequence, whole, nested), Result::Success);
  EXPECT_EQ(whole, In(inner));
  Input octets;
  ASSERT_EQ(der::ReadOctetString(nested, octets), Result::Success);
  EXPECT_EQ(octets.size(), 200u);
  EXPECT_EQ(nested.ExpectEnd(), Result::Success);
  Input null_element;
  ASSERT_EQ(reader.ReadRawElement(der::kNull, null_element), Result::Success);
  EXPECT_EQ(null_element, In(Bytes{0x05, 0x00}));

  der::Reader again(In(encoding));
  ASSERT_EQ(again.ReadRawAny(whole), Result::Success);
  EXPECT_EQ(whole, In(inner));
  EXPECT_EQ(again.Offset(), inner.size());
}

TEST(DerError, FirstFailureIsKept) {
  der::Error error;
  const Bytes encoding = {0x30, 0x03, 0x02, 0x01, 0x00};
  der::Reader reader(In(encoding), &error);
  der::Reader sequence;
  ASSERT_EQ(reader.ReadNested(der::kSequence, sequence), Result::Success);
  EXPECT_EQ(der::ReadNull(sequence), Result::DerUnexpectedTag);
  EXPECT_EQ(error.offset, 2u);
  EXPECT_EQ(reader.Fail(Result::CertBadName), Result::CertBadName);
  EXPECT_EQ(error.result, Result::DerUnexpectedTag);
  EXPECT_EQ(error.offset, 2u);
}

// ---- Typed reads -----------------------------------------------------------------------------

// A primitive's contents and the verdict of its typed read; a successful read returns the
// contents unchanged.
struct ContentsCase {
  Bytes contents;
  Result expected;
};

template <size_t N>
void ExpectContentsReads(uint8_t tag, Result (*read)(der::Reader&, Input&),
                         const ContentsCase (&cases)[N]) {
  for (const ContentsCase& c : cases) {
    Encoded encoding(Tlv(tag, c.contents));
    Input value;
    EXPECT_EQ(read(encoding.reader, value), c.expected) << ::testing::PrintToString(c.contents);
    if (c.expected == Result::Success) {
      EXPECT_EQ(value, In(c.contents));
    }
  }
}

TEST(DerInteger, MinimalTwosComplementIsRequired) {
  const ContentsCase cases[] = {
      {{0x00}, Result::Success},
      {{0x7f}, Result::Success},
      {{0x80}, Result::Success},
      {{0x00, 0x80}, Result::Success},
      {{0xff, 0x7f}, Result::Success},
      {{0x01, 0x00, 0x00}, Result::Success},
      {{}, Result::DerBadInteger},
      {{0x00, 0x7f}, Result::DerBadInteger},
      {{0x00, 0x00}, Result::DerBadInteger},
      {{0xff, 0x80}, Result::DerBadInteger},
      {{0xff, 0xff}, Result::DerBadInteger},
  };
  ExpectContentsReads(der::kInteger, der::ReadInteger, cases);
}

TEST(DerInteger, UnsignedMagnitudeDropsTheSignOctet) {
  struct Case {
    Bytes contents;
    size_t max_length;
    Result expected;
    Bytes magnitude;
  };
  const Case cases[] = {
      {{0x00, 0xff, 0xff}, 2, Result::Success, {0xff, 0xff}},
      {{0x00}, 1, Result::Success, {0x00}},
      {{0x01, 0x00, 0x00}, 2, Result::DerIntegerTooLarge, {}},
      {{0x80}, 2, Result::DerNegativeInteger, {}},
      {{0x00, 0x7f}, 2, Result::DerBadInteger, {}},
  };
  for (const Case& c : cases) {
    Encoded encoding(Tlv(der::kInteger, c.contents));
    Input magnitude;
    ASSERT_EQ(der::ReadUnsignedInteger(encoding.reader, c.max_length, magnitude), c.expected)
        << ::testing::PrintToString(c.contents);
    if (c.expected == Result::Success) {
      EXPECT_EQ(magnitude, In(c.magnitude));
    }
  }
}

TEST(DerInteger, SmallUnsignedFitsSixtyFourBits) {
  Bytes max = {0x00};
  max.resize(9, 0xff);
  struct Case {
    Bytes contents;
    Result expected;
    uint64_t value;
  };
  const Case cases[] = {
      {max, Result::Success, UINT64_MAX},
      {{0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, Result::DerIntegerTooLarge, 0},
      {{0x01, 0x00}, Result::Success, 256},
  };
  for (const Case& c : cases) {
    Encoded encoding(Tlv(der::kInteger, c.contents));
    uint64_t value = 0;
    ASSERT_EQ(der::ReadSmallUnsigned(encoding.reader, value), c.expected)
        << ::testing::PrintToString(c.contents);
    if (c.expected == Result::Success) {
      EXPECT_EQ(value, c.value);
    }
  }
}

TEST(DerOid, SubIdentifiersMustBeMinimalAndTerminated) {
  const ContentsCase cases[] = {
      {{0x55, 0x1d, 0x13}, Result::Success},
      {{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b}, Result::Success},
      {{0x2b, 0x81, 0x04, 0x00, 0x22}, Result::Success},
      {{}, Result::DerBadOid},
      {{0x2a, 0x86}, Result::DerBadOid},        // last sub-identifier unterminated
      {{0x2a, 0x80, 0x01}, Result::DerBadOid},  // leading 0x80 padding
      {{0x80, 0x01}, Result::DerBadOid},
  };
  ExpectContentsReads(der::kOid, der::ReadOid, cases);
}

TEST(DerBitString, UnusedBitsAreChecked) {
  struct Case {
    Bytes contents;
    Result expected;
    uint8_t unused;
  };
  const Case cases[] = {
      {{0x00}, Result::Success, 0},
      {{0x00, 0xab, 0xcd}, Result::Success, 0},
      {{0x01, 0x02}, Result::Success, 1},
      {{0x07, 0x80}, Result::Success, 7},
      {{}, Result::DerBadBitString, 0},
      {{0x01}, Result::DerBadBitString, 0},        // unused bits without any byte
      {{0x08, 0x00}, Result::DerBadBitString, 0},  // more than 7 unused bits
      {{0x01, 0x01}, Result::DerBadBitString, 0},  // padding bit set
      {{0x07, 0x40}, Result::DerBadBitString, 0},
  };
  for (const Case& c : cases) {
    Encoded reader_encoding(Tlv(der::kBitString, c.contents));
    der::Reader& reader = reader_encoding.reader;
    Input bits;
    uint8_t unused = 0xff;
    EXPECT_EQ(der::ReadBitString(reader, bits, unused), c.expected)
        << ::testing::PrintToString(c.contents);
    if (c.expected == Result::Success) {
      EXPECT_EQ(unused, c.unused);
      EXPECT_EQ(bits.size(), c.contents.size() - 1);
    }
  }
  Input bytes;
  Encoded whole_encoding(Tlv(der::kBitString, {0x00, 0x12, 0x34}));
    der::Reader& whole = whole_encoding.reader;
  ASSERT_EQ(der::ReadBitStringBytes(whole, bytes), Result::Success);
  EXPECT_EQ(bytes, In(Bytes{0x12, 0x34}));
  Encoded partial_encoding(Tlv(der::kBitString, {0x01, 0x12, 0x34}));
    der::Reader& partial = partial_encoding.reader;
  EXPECT_EQ(der::ReadBitStringBytes(partial, bytes), Result::DerBadBitString);
}

TEST(DerBoolean, OnlyZeroAndAllOnesAreAccepted) {
  bool value = false;
  Encoded true_reader_encoding(Bytes{0x01, 0x01, 0xff});
    der::Reader& true_reader = true_reader_encoding.reader;
  ASSERT_EQ(der::ReadBoolean(true_reader, value), Result::Success);
  EXPECT_TRUE(value);
  Encoded false_reader_encoding(Bytes{0x01, 0x01, 0x00});
    der::Reader& false_reader = false_reader_encoding.reader;
  ASSERT_EQ(der::ReadBoolean(false_reader, value), Result::Success);
  EXPECT_FALSE(value);
  for (const Bytes& bad : {Bytes{0x01, 0x01, 0x01}, Bytes{0x01, 0x01, 0x7f}, Bytes{0x01, 0x00},
                           Bytes{0x01, 0x02, 0xff, 0xff}}) {
    der::Reader reader(In(bad));
    EXPECT_EQ(der::ReadBoolean(reader, value), Result::DerBadBoolean) << ::testing::PrintToString(bad);
  }
}

TEST(DerBoolean, DefaultFalseMustNotBeEncoded) {
  bool value = true;
  Encoded absent_encoding(Bytes{0x04, 0x00});
    der::Reader& absent = absent_encoding.reader;
  ASSERT_EQ(der::ReadOptionalBooleanDefaultFalse(absent, value), Result::Success);
  EXPECT_FALSE(value);
  EXPECT_EQ(absent.Offset(), 0u);
  Encoded encoded_true_encoding(Bytes{0x01, 0x01, 0xff});
    der::Reader& encoded_true = encoded_true_encoding.reader;
  ASSERT_EQ(der::ReadOptionalBooleanDefaultFalse(encoded_true, value), Result::Success);
  EXPECT_TRUE(value);
  Encoded encoded_false_encoding(Bytes{0x01, 0x01, 0x00});
    der::Reader& encoded_false = encoded_false_encoding.reader;
  EXPECT_EQ(der::ReadOptionalBooleanDefaultFalse(encoded_false, value), Result::DerBadBoolean);
}

TEST(DerNull, MustBeEmpty) {
  Encoded good_encoding(Bytes{0x05, 0x00});
    der::Reader& good = good_encoding.reader;
  EXPECT_EQ(der::ReadNull(good), Result::Success);
  Encoded bad_encoding(Bytes{0x05, 0x01, 0x00});
    der::Reader& bad = bad_encoding.reader;
  EXPECT_EQ(der::ReadNull(bad), Result::DerBadNull);
  Encoded other_encoding(Bytes{0x04, 0x00});
    der::Reader& other = other_encoding.reader;
  EXPECT_EQ(der::ReadNull(other), Result::DerUnexpectedTag);
}

TEST(DerOctetString, ReturnsContents) {
  Encoded reader_encoding(Bytes{0x04, 0x03, 1, 2, 3});
    der::Reader& reader = reader_encoding.reader;
  Input bytes;
  ASSERT_EQ(der::ReadOctetString(reader, bytes), Result::Success);
  EXPECT_EQ(bytes, In(Bytes{1, 2, 3}));
}

// ---- Time ------------------------------------------------------------------------------------

// libc's timegm is the oracle for calendar arithmetic.
int64_t Oracle(int year, int month, int day, int hour, int minute, int second) {
  struct tm tm {};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(timegm(&tm));
}

Result ReadTimeText(uint8_t tag, const std::string& text, der::Time& time) {
  Encoded reader_encoding(Tlv(tag, BytesOf(text)));
    der::Reader& reader = reader_encoding.reader;
  HVSIG_TRY(der::ReadTime(reader, time));
  return reader.ExpectEnd();
}

TEST(DerTime, ValidTimesMatchTimegm) {
  struct Case {
    uint8_t tag;
    const char* text;
    int year, month, day, hour, minute, second;
  };
  const Case cases[] = {
      {der::kUtcTime, "500101000000Z", 1950, 1, 1, 0, 0, 0},
      {der::kUtcTime, "691231235959Z", 1969, 12, 31, 23, 59, 59},
      {der::kUtcTime, "700101000000Z", 1970, 1, 1, 0, 0, 0},
      {der::kUtcTime, "991231235959Z", 1999, 12, 31, 23, 59, 59},
      {der::kUtcTime, "000229120000Z", 2000, 2, 29, 12, 0, 0},
      {der::kUtcTime, "240229000000Z", 2024, 2, 29, 0, 0, 0},
      {der::kUtcTime, "491231235959Z", 2049, 12, 31, 23, 59, 59},
      {der::kGeneralizedTime, "20500101000000Z", 2050, 1, 1, 0, 0, 0},
      {der::kGeneralizedTime, "19000101000000Z", 1900, 1, 1, 0, 0, 0},
      {der::kGeneralizedTime, "16000229101010Z", 1600, 2, 29, 10, 10, 10},
      {der::kGeneralizedTime, "99991231235959Z", 9999, 12, 31, 23, 59, 59},
      {der::kGeneralizedTime, "00010101000000Z", 1, 1, 1, 0, 0, 0},
  };
  for (const Case& c : cases) {
    der::Time time = 0;
    ASSERT_EQ(ReadTimeText(c.tag, c.text, time), Result::Success) << c.text;
    EXPECT_EQ(time, Oracle(c.year, c.month, c.day, c.hour, c.minute, c.second)) << c.text;
    const der::CivilTime civil = der::CivilFromTime(time);
    EXPECT_EQ(civil.year, c.year);
    EXPECT_EQ(civil.month, c.month);
    EXPECT_EQ(civil.day, c.day);
    EXPECT_EQ(civil.hour, c.hour);
    EXPECT_EQ(civil.minute, c.minute);
    EXPECT_EQ(civil.second, c.second);
  }
}

TEST(DerTime, CivilConversionRoundTripsAgainstGmtime) {
  // Every day from 1600 to 2400 at a varying time of day.
  const int64_t first = Oracle(1600, 1, 1, 0, 0, 0);
  const int64_t last = Oracle(2400, 12, 31, 0, 0, 0);
  for (int64_t t = first; t <= last; t += 86400 + 3607) {
    const time_t libc_time = static_cast<time_t>(t);
    struct tm tm {};
    ASSERT_NE(gmtime_r(&libc_time, &tm), nullptr);
    const der::CivilTime civil = der::CivilFromTime(t);
    ASSERT_EQ(civil.year, tm.tm_year + 1900) << t;
    ASSERT_EQ(civil.month, tm.tm_mon + 1) << t;
    ASSERT_EQ(civil.day, tm.tm_mday) << t;
    ASSERT_EQ(civil.hour, tm.tm_hour) << t;
    ASSERT_EQ(civil.minute, tm.tm_min) << t;
    ASSERT_EQ(civil.second, tm.tm_sec) << t;
    ASSERT_EQ(der::TimeFromCivil(civil), t);
  }
}

TEST(DerTime, MalformedTimesAreRejected) {
  struct Case {
    uint8_t tag;
    const char* text;
  };
  const Case cases[] = {
      {der::kUtcTime, "230229000000Z"},           // Feb 29 in a common year
      {der::kGeneralizedTime, "21000229000000Z"},  // century, not a leap year
      {der::kGeneralizedTime, "19000229000000Z"},
      {der::kUtcTime, "240101240000Z"},  // hour 24
      {der::kUtcTime, "240101006000Z"},  // minute 60
      {der::kUtcTime, "240101000060Z"},  // second 60
      {der::kUtcTime, "240001000000Z"},  // month 0
      {der::kUtcTime, "241301000000Z"},  // month 13
      {der::kUtcTime, "240100000000Z"},  // day 0
      {der::kUtcTime, "240132000000Z"},  // day 32
      {der::kUtcTime, "240431000000Z"},  // April 31
      {der::kUtcTime, "240101000000"},   // missing Z
      {der::kUtcTime, "2401010000Z"},    // seconds missing
      {der::kUtcTime, "240101000000z"},
      {der::kUtcTime, "240101000000+0100"},
      {der::kUtcTime, "2401010000000Z"},
      {der::kUtcTime, "24010100000 Z"},
      {der::kUtcTime, "2401010000-0Z"},
      {der::kUtcTime, ""},
      {der::kGeneralizedTime, "20240101000000.5Z"},  // fractional seconds
      {der::kGeneralizedTime, "20240101000000"},
      {der::kGeneralizedTime, "202401010000Z"},
      {der::kGeneralizedTime, "20240101000000+0000"},
      {der::kGeneralizedTime, "240101000000Z"},  // UTCTime text in a GeneralizedTime
      {der::kUtcTime, "20240101000000Z"},        // and the other way round
  };
  for (const Case& c : cases) {
    der::Time time = 0;
    EXPECT_EQ(ReadTimeText(c.tag, c.text, time), Result::DerBadTime) << c.text;
  }
  der::Time time = 0;
  EXPECT_EQ(ReadTimeText(der::kOctetString, "240101000000Z", time), Result::DerUnexpectedTag);
}

// ---- A real certificate, cut at every byte ----------------------------------------------------

// Walks every element, descending into constructed ones.
Result WalkAll(der::Reader& reader) {
  while (!reader.AtEnd()) {
    der::Reader probe = reader;
    uint8_t tag = 0;
    Input contents;
    HVSIG_TRY(probe.ReadTagAndContents(tag, contents));
    if ((tag & der::kConstructedBit) != 0) {
      HVSIG_TRY(der::Nested(reader, tag, WalkAll));
    } else {
      HVSIG_TRY(reader.ReadTagAndContents(tag, contents));
    }
  }
  return Result::Success;
}

Bytes MakeCertificateWithOpenssl() {
  const std::string dir = ::testing::TempDir() + "hvsig_der_test_" + std::to_string(getpid());
  const std::string command =
      "mkdir -p " + dir + " && openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30"
      " -subj '/CN=der test/O=hvsig' -addext 'keyUsage=critical,keyCertSign'"
      " -keyout " + dir + "/key.pem -outform DER -out " + dir + "/cert.der 2>/dev/null";
  if (system(command.c_str()) != 0) return {};
  Bytes der = ReadFile(dir + "/cert.der");
  std::string cleanup = "rm -rf " + dir;
  (void)system(cleanup.c_str());
  return der;
}

TEST(DerRealCertificate, EveryTruncationFailsWithANamedError) {
  const Bytes cert = MakeCertificateWithOpenssl();
  ASSERT_GT(cert.size(), 500u);
  {
    der::Reader reader(In(cert));
    ASSERT_EQ(der::Nested(reader, der::kSequence, WalkAll), Result::Success);
    ASSERT_EQ(reader.ExpectEnd(), Result::Success);
  }
  for (size_t length = 0; length < cert.size(); ++length) {
    der::Error error;
    der::Reader reader(Input(cert.data(), length), &error);
    const Result result = der::Nested(reader, der::kSequence, WalkAll);
    ASSERT_EQ(result, Result::DerTruncated) << "cut at " << length;
    ASSERT_EQ(error.result, result);
    ASSERT_LE(error.offset, length);
  }
}

}  // namespace
}  // namespace hvsig
