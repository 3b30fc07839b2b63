// The DER reader: every element of the input, at every depth, through every typed read.
#include "fuzz_support.h"
#include "hvsig/der.h"

namespace {

using namespace hvsig;

// Each typed read at the current element, on a copy of the reader (each consumes it). A value
// a read accepts must satisfy what der.h promises about it.
void TypedReads(const der::Reader& at) {
  der::Reader r = at;
  Input value;
  if (der::ReadInteger(r, value) == Result::Success) {
    HVSIG_FUZZ_CHECK(!value.empty());
  }
  r = at;
  if (der::ReadUnsignedInteger(r, 32, value) == Result::Success) {
    HVSIG_FUZZ_CHECK(!value.empty() && value.size() <= 32);
    HVSIG_FUZZ_CHECK(value.size() == 1 || value[0] != 0);
  }
  r = at;
  uint64_t small = 0;
  (void)der::ReadSmallUnsigned(r, small);
  r = at;
  if (der::ReadOid(r, value) == Result::Success) {
    HVSIG_FUZZ_CHECK(!value.empty() && (value[value.size() - 1] & 0x80) == 0);
  }
  r = at;
  uint8_t unused = 0;
  if (der::ReadBitString(r, value, unused) == Result::Success) {
    HVSIG_FUZZ_CHECK(unused < 8 && (value.size() > 0 || unused == 0));
  }
  r = at;
  (void)der::ReadBitStringBytes(r, value);
  r = at;
  (void)der::ReadOctetString(r, value);
  r = at;
  bool flag = false;
  (void)der::ReadBoolean(r, flag);
  r = at;
  (void)der::ReadOptionalBooleanDefaultFalse(r, flag);
  r = at;
  (void)der::ReadNull(r);
  r = at;
  (void)der::ReadOptionalNull(r, flag);
  r = at;
  der::Time time = 0;
  if (der::ReadTime(r, time) == Result::Success) {
    // Civil time and seconds convert back and forth exactly for every time ReadTime accepts.
    HVSIG_FUZZ_CHECK(der::TimeFromCivil(der::CivilFromTime(time)) == time);
  }
}

// Walks every element; constructed ones are entered (up to the reader's depth limit).
Result Walk(der::Reader& reader) {
  while (!reader.AtEnd()) {
    TypedReads(reader);
    const size_t before = reader.Offset();
    uint8_t tag = 0;
    Input contents;
    HVSIG_TRY(reader.ReadTagAndContents(tag, contents));
    HVSIG_FUZZ_CHECK(reader.Offset() > before);
    HVSIG_FUZZ_CHECK(reader.OffsetOf(contents) >= before && reader.OffsetOf(contents) <= reader.Offset());
    if ((tag & der::kConstructedBit) != 0) {
      der::Reader nested;
      HVSIG_TRY(reader.Descend(contents, nested));
      HVSIG_TRY(Walk(nested));
    }
  }
  return Result::Success;
}

}  // namespace

HVSIG_FUZZ_TARGET(der) {
  der::Error error;
  der::Reader reader(Input(data, size), &error);
  const Result result = Walk(reader);
  // A failure is recorded where it happened, inside the input.
  if (result != Result::Success) {
    HVSIG_FUZZ_CHECK(error.result != Result::Success && error.offset <= size);
  }
  // The raw-element reads agree with the header walk on the first element.
  der::Reader first(Input(data, size));
  Input whole;
  if (first.ReadRawAny(whole) == Result::Success) {
    HVSIG_FUZZ_CHECK(whole.data() == data && whole.size() <= size);
  }
  return 0;
}
