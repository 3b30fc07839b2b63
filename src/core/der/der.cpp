#include "hvsig/der.h"

namespace hvsig::der {

namespace {

constexpr uint8_t kHighTagNumber = 0x1f;
constexpr uint8_t kLongLengthForm = 0x80;
// 4 length octets cover any element of an input below 4 GiB; more is never needed by
// certificates or signatures and would overflow a 32-bit size_t.
constexpr size_t kMaxLengthOctets = 4;

}  // namespace

Result Reader::FailAt(Result r, size_t offset) const {
  if (error_ != nullptr && error_->result == Result::Success) {
    error_->result = r;
    error_->offset = offset;
  }
  return r;
}

// Running off the root input means the input was cut short; running off a nested reader means
// an inner length disagrees with its parent's.
Result Reader::Overrun() const {
  return Fail(depth_ == 0 ? Result::DerTruncated : Result::DerLengthExceedsParent);
}

Result Reader::ExpectEnd() const {
  if (!AtEnd()) return Fail(Result::DerTrailingData);
  return Result::Success;
}

Result Reader::ReadHeader(uint8_t& tag, size_t& header_length, size_t& contents_length) {
  const size_t remaining = static_cast<size_t>(end_ - cursor_);
  if (remaining < 1) return Overrun();
  tag = cursor_[0];
  if ((tag & kHighTagNumber) == kHighTagNumber) return Fail(Result::DerHighTagNumber);
  if (remaining < 2) return Overrun();
  const uint8_t first = cursor_[1];
  if (first < kLongLengthForm) {
    header_length = 2;
    contents_length = first;
  } else {
    if (first == kLongLengthForm) return Fail(Result::DerIndefiniteLength);
    const size_t octets = first & 0x7f;
    if (octets > kMaxLengthOctets) return Fail(Result::DerLengthTooLarge);
    if (remaining - 2 < octets) return Overrun();
    if (cursor_[2] == 0) return Fail(Result::DerNonMinimalLength);
    size_t length = 0;
    for (size_t i = 0; i < octets; ++i) length = (length << 8) | cursor_[2 + i];
    if (length < kLongLengthForm) return Fail(Result::DerNonMinimalLength);
    header_length = 2 + octets;
    contents_length = length;
  }
  if (contents_length > remaining - header_length) return Overrun();
  return Result::Success;
}

Result Reader::ReadTagAndContents(uint8_t& tag, Input& contents) {
  size_t header_length = 0;
  size_t contents_length = 0;
  HVSIG_TRY(ReadHeader(tag, header_length, contents_length));
  contents = Input(cursor_ + header_length, contents_length);
  cursor_ += header_length + contents_length;
  return Result::Success;
}

Result Reader::ReadElement(uint8_t tag, Input& contents) {
  if (cursor_ != end_ && *cursor_ != tag) return Fail(Result::DerUnexpectedTag);
  uint8_t actual = 0;
  return ReadTagAndContents(actual, contents);
}

Result Reader::ReadRawAny(Input& whole) {
  const uint8_t* start = cursor_;
  uint8_t tag = 0;
  Input contents;
  HVSIG_TRY(ReadTagAndContents(tag, contents));
  whole = Input(start, static_cast<size_t>(cursor_ - start));
  return Result::Success;
}

Result Reader::ReadRawElement(uint8_t tag, Input& whole) {
  if (cursor_ != end_ && *cursor_ != tag) return Fail(Result::DerUnexpectedTag);
  return ReadRawAny(whole);
}

Result Reader::ReadOptional(uint8_t tag, Input& contents, bool& present) {
  present = Peek(tag);
  if (!present) return Result::Success;
  return ReadElement(tag, contents);
}

Result Reader::Descend(Input contents, Reader& nested) const {
  if (depth_ >= kMaxDepth) return Fail(Result::DerTooDeep, contents);
  nested.root_ = root_;
  nested.cursor_ = contents.data();
  nested.end_ = contents.data() + contents.size();
  nested.error_ = error_;
  nested.depth_ = static_cast<uint8_t>(depth_ + 1);
  return Result::Success;
}

Result Reader::ReadNested(uint8_t tag, Reader& nested) {
  // Checked before reading so that the offset names the element that is one level too deep.
  if (depth_ >= kMaxDepth) return Fail(Result::DerTooDeep);
  Input contents;
  HVSIG_TRY(ReadElement(tag, contents));
  return Descend(contents, nested);
}

Result Reader::ReadRawNested(uint8_t tag, Input& whole, Reader& nested) {
  const uint8_t* start = cursor_;
  HVSIG_TRY(ReadNested(tag, nested));
  whole = Input(start, static_cast<size_t>(nested.end_ - start));
  return Result::Success;
}

Result Reader::ReadOptionalNested(uint8_t tag, Reader& nested, bool& present) {
  present = Peek(tag);
  if (!present) return Result::Success;
  return ReadNested(tag, nested);
}

Result ReadInteger(Reader& reader, Input& twos_complement) {
  const size_t start = reader.Offset();
  Input contents;
  HVSIG_TRY(reader.ReadElement(kInteger, contents));
  if (contents.empty()) return reader.FailAt(Result::DerBadInteger, start);
  // A leading 00 is needed only before a byte with the top bit set, a leading FF only before
  // one with it clear; anything else is a redundant sign octet.
  if (contents.size() > 1) {
    const bool redundant_zero = contents[0] == 0x00 && (contents[1] & 0x80) == 0;
    const bool redundant_ones = contents[0] == 0xff && (contents[1] & 0x80) != 0;
    if (redundant_zero || redundant_ones) return reader.FailAt(Result::DerBadInteger, start);
  }
  twos_complement = contents;
  return Result::Success;
}

Result ReadUnsignedInteger(Reader& reader, size_t max_magnitude_length, Input& magnitude) {
  const size_t start = reader.Offset();
  Input value;
  HVSIG_TRY(ReadInteger(reader, value));
  if ((value[0] & 0x80) != 0) return reader.FailAt(Result::DerNegativeInteger, start);
  if (value[0] == 0x00 && value.size() > 1) value = Input(value.data() + 1, value.size() - 1);
  if (value.size() > max_magnitude_length) return reader.FailAt(Result::DerIntegerTooLarge, start);
  magnitude = value;
  return Result::Success;
}

Result ReadSmallUnsigned(Reader& reader, uint64_t& value) {
  Input magnitude;
  HVSIG_TRY(ReadUnsignedInteger(reader, sizeof(uint64_t), magnitude));
  uint64_t accumulated = 0;
  for (uint8_t byte : magnitude) accumulated = (accumulated << 8) | byte;
  value = accumulated;
  return Result::Success;
}

Result ReadOid(Reader& reader, Input& oid) {
  const size_t start = reader.Offset();
  Input contents;
  HVSIG_TRY(reader.ReadElement(kOid, contents));
  if (contents.empty()) return reader.FailAt(Result::DerBadOid, start);
  // Each sub-identifier is base-128, high bit set on all but its last octet, and minimal: it
  // may not start with the padding octet 0x80.
  bool at_subidentifier_start = true;
  for (uint8_t byte : contents) {
    if (at_subidentifier_start && byte == 0x80) return reader.FailAt(Result::DerBadOid, start);
    at_subidentifier_start = (byte & 0x80) == 0;
  }
  if (!at_subidentifier_start) return reader.FailAt(Result::DerBadOid, start);
  oid = contents;
  return Result::Success;
}

Result ReadBitString(Reader& reader, Input& bits, uint8_t& unused_bits) {
  const size_t start = reader.Offset();
  Input contents;
  HVSIG_TRY(reader.ReadElement(kBitString, contents));
  if (contents.empty()) return reader.FailAt(Result::DerBadBitString, start);
  const uint8_t unused = contents[0];
  if (unused > 7) return reader.FailAt(Result::DerBadBitString, start);
  if (contents.size() == 1 && unused != 0) return reader.FailAt(Result::DerBadBitString, start);
  const uint8_t padding_mask = static_cast<uint8_t>((1u << unused) - 1);
  if ((contents[contents.size() - 1] & padding_mask) != 0) {
    return reader.FailAt(Result::DerBadBitString, start);
  }
  bits = Input(contents.data() + 1, contents.size() - 1);
  unused_bits = unused;
  return Result::Success;
}

Result ReadBitStringBytes(Reader& reader, Input& bytes) {
  const size_t start = reader.Offset();
  uint8_t unused_bits = 0;
  HVSIG_TRY(ReadBitString(reader, bytes, unused_bits));
  if (unused_bits != 0) return reader.FailAt(Result::DerBadBitString, start);
  return Result::Success;
}

Result ReadOctetString(Reader& reader, Input& bytes) {
  return reader.ReadElement(kOctetString, bytes);
}

Result ReadBoolean(Reader& reader, bool& value) {
  const size_t start = reader.Offset();
  Input contents;
  HVSIG_TRY(reader.ReadElement(kBoolean, contents));
  if (contents.size() != 1) return reader.FailAt(Result::DerBadBoolean, start);
  if (contents[0] != 0x00 && contents[0] != 0xff) return reader.FailAt(Result::DerBadBoolean, start);
  value = contents[0] == 0xff;
  return Result::Success;
}

Result ReadOptionalBooleanDefaultFalse(Reader& reader, bool& value) {
  value = false;
  if (!reader.Peek(kBoolean)) return Result::Success;
  const size_t start = reader.Offset();
  HVSIG_TRY(ReadBoolean(reader, value));
  if (!value) return reader.FailAt(Result::DerBadBoolean, start);
  return Result::Success;
}

Result ReadNull(Reader& reader) {
  const size_t start = reader.Offset();
  Input contents;
  HVSIG_TRY(reader.ReadElement(kNull, contents));
  if (!contents.empty()) return reader.FailAt(Result::DerBadNull, start);
  return Result::Success;
}

Result ReadOptionalNull(Reader& reader, bool& present) {
  present = reader.Peek(kNull);
  if (!present) return Result::Success;
  return ReadNull(reader);
}

namespace {

constexpr int64_t kSecondsPerDay = 86400;

bool IsLeapYear(int32_t year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

uint8_t DaysInMonth(int32_t year, uint8_t month) {
  constexpr uint8_t kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && IsLeapYear(year)) return 29;
  return kDays[month - 1];
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian, 1970-01-01 = 0).
int64_t DaysFromCivil(int64_t year, int64_t month, int64_t day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

// Consumes `count` ASCII digits as a decimal number; false on a non-digit.
bool TakeDigits(Input text, size_t& position, size_t count, int32_t& value) {
  int32_t accumulated = 0;
  for (size_t i = 0; i < count; ++i) {
    const uint8_t c = text[position + i];
    if (c < '0' || c > '9') return false;
    accumulated = accumulated * 10 + (c - '0');
  }
  position += count;
  value = accumulated;
  return true;
}

constexpr size_t kUtcTimeLength = 13;          // YYMMDDHHMMSSZ
constexpr size_t kGeneralizedTimeLength = 15;  // YYYYMMDDHHMMSSZ

bool ParseTime(Input text, bool generalized, CivilTime& civil) {
  if (text.size() != (generalized ? kGeneralizedTimeLength : kUtcTimeLength)) return false;
  size_t position = 0;
  int32_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!TakeDigits(text, position, generalized ? 4 : 2, year)) return false;
  if (!generalized) year += year >= 50 ? 1900 : 2000;  // RFC 5280 4.1.2.5.1
  if (!TakeDigits(text, position, 2, month)) return false;
  if (!TakeDigits(text, position, 2, day)) return false;
  if (!TakeDigits(text, position, 2, hour)) return false;
  if (!TakeDigits(text, position, 2, minute)) return false;
  if (!TakeDigits(text, position, 2, second)) return false;
  if (text[position] != 'Z') return false;
  if (month < 1 || month > 12) return false;
  if (day < 1 || day > DaysInMonth(year, static_cast<uint8_t>(month))) return false;
  if (hour > 23 || minute > 59 || second > 59) return false;
  civil = CivilTime{year, static_cast<uint8_t>(month), static_cast<uint8_t>(day),
                    static_cast<uint8_t>(hour), static_cast<uint8_t>(minute),
                    static_cast<uint8_t>(second)};
  return true;
}

}  // namespace

Time TimeFromCivil(const CivilTime& civil) {
  const int64_t days = DaysFromCivil(civil.year, civil.month, civil.day);
  return days * kSecondsPerDay + civil.hour * 3600 + civil.minute * 60 + civil.second;
}

CivilTime CivilFromTime(Time time) {
  int64_t days = time / kSecondsPerDay;
  int64_t seconds = time % kSecondsPerDay;
  if (seconds < 0) {
    seconds += kSecondsPerDay;
    days -= 1;
  }
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_index = (5 * day_of_year + 2) / 153;
  const int64_t day = day_of_year - (153 * month_index + 2) / 5 + 1;
  const int64_t month = month_index < 10 ? month_index + 3 : month_index - 9;
  const int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  return CivilTime{static_cast<int32_t>(year), static_cast<uint8_t>(month),
                   static_cast<uint8_t>(day), static_cast<uint8_t>(seconds / 3600),
                   static_cast<uint8_t>(seconds / 60 % 60), static_cast<uint8_t>(seconds % 60)};
}

Result ReadTime(Reader& reader, Time& time) {
  const size_t start = reader.Offset();
  const bool generalized = reader.Peek(kGeneralizedTime);
  Input text;
  HVSIG_TRY(reader.ReadElement(generalized ? kGeneralizedTime : kUtcTime, text));
  CivilTime civil{};
  if (!ParseTime(text, generalized, civil)) return reader.FailAt(Result::DerBadTime, start);
  time = TimeFromCivil(civil);
  return Result::Success;
}

}  // namespace hvsig::der
