// SBAT: the image's .sbat CSV and shim's SbatLevel text. Both are parsed strictly: SBAT that
// cannot be read is a rejection, never "no SBAT".
#include "hvsig/policy.h"

namespace hvsig::policy {
namespace {

constexpr uint32_t kMaxGenerationDigits = 9;  // fits uint32_t without overflow checks

HVSIG_CF_CHECK bool IsComponentChar(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}
HVSIG_CF_CHECK bool IsFreeTextChar(uint8_t c) {
  return c >= 0x20 && c <= 0x7e && c != ',' && c != '"';
}
HVSIG_CF_CHECK bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }

bool ParseGeneration(Input field, uint32_t& out) {
  if (field.empty() || field.size() > kMaxGenerationDigits || field[0] == '0') return false;
  out = 0;
  for (uint8_t c : field) {
    if (!IsDigit(c)) return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

// Cuts the record [start, end) at ','; false if it has more than capacity fields.
bool SplitFields(Input text, size_t start, size_t end, Input* fields, size_t capacity,
                 size_t& count) {
  count = 0;
  size_t field_start = start;
  for (size_t i = start; i <= end; ++i) {
    if (i != end && text[i] != ',') continue;
    if (count == capacity) return false;
    fields[count++] = Input(text.data() + field_start, i - field_start);
    field_start = i + 1;
  }
  return true;
}

// Where the compiler does not inline this (-Os), the predicates are indirect-call targets.
bool AllMatch(Input field, bool (*predicate)(uint8_t)) {
  for (uint8_t c : field) {
    if (!predicate(c)) return false;
  }
  return true;
}

bool IsSbatComponent(Input component) {
  static constexpr uint8_t kSbat[] = {'s', 'b', 'a', 't'};
  return component == Input(kSbat);
}

int32_t FindComponent(const SbatList& list, Input component) {
  for (size_t i = 0; i < list.count; ++i) {
    if (list.entries[i].component == component) return static_cast<int32_t>(i);
  }
  return -1;
}

// Appends a record after the checks both grammars share: component charset, the "sbat" record
// first, each component once.
Result AddRecord(SbatList& out, Input component, uint32_t generation, size_t offset,
                 Result malformed, Error& error) {
  if (component.empty() || !AllMatch(component, IsComponentChar)) {
    error = Error{malformed, offset};
    return malformed;
  }
  if ((out.count == 0) != IsSbatComponent(component)) {
    error = Error{malformed, offset};
    return malformed;
  }
  if (FindComponent(out, component) >= 0) {
    error = Error{malformed, offset};
    return malformed;
  }
  if (out.count == kMaxSbatEntries) {
    error = Error{Result::SbatTooManyEntries, offset};
    return Result::SbatTooManyEntries;
  }
  out.entries[out.count++] = SbatEntry{component, generation, static_cast<uint32_t>(offset)};
  return Result::Success;
}

}  // namespace

Result ParseSbatSection(Input section, SbatList& out, Error& error) {
  constexpr size_t kFields = 6;
  out.count = 0;
  size_t text_end = 0;
  while (text_end < section.size() && section[text_end] != 0) ++text_end;
  for (size_t i = text_end; i < section.size(); ++i) {
    if (section[i] != 0) {
      error = Error{Result::SbatMalformed, i};
      return Result::SbatMalformed;
    }
  }
  if (text_end == 0) {
    error = Error{Result::SbatMalformed, 0};
    return Result::SbatMalformed;
  }
  if (section[text_end - 1] != '\n') {
    error = Error{Result::SbatMalformed, text_end - 1};
    return Result::SbatMalformed;
  }
  size_t start = 0;
  while (start < text_end) {
    size_t end = start;
    while (section[end] != '\n') ++end;
    Input fields[kFields];
    size_t count = 0;
    if (!SplitFields(section, start, end, fields, kFields, count) || count != kFields) {
      error = Error{Result::SbatMalformed, start};
      return Result::SbatMalformed;
    }
    uint32_t generation = 0;
    if (!ParseGeneration(fields[1], generation)) {
      error = Error{Result::SbatMalformed, static_cast<uint64_t>(fields[1].data() - section.data())};
      return Result::SbatMalformed;
    }
    for (size_t f = 2; f < kFields; ++f) {
      if (fields[f].empty() || !AllMatch(fields[f], IsFreeTextChar)) {
        error = Error{Result::SbatMalformed,
                      static_cast<uint64_t>(fields[f].data() - section.data())};
        return Result::SbatMalformed;
      }
    }
    HVSIG_TRY(AddRecord(out, fields[0], generation, start, Result::SbatMalformed, error));
    start = end + 1;
  }
  return Result::Success;
}

Result ParseSbatLevel(Input text, SbatList& out, Error& error) {
  constexpr size_t kMaxFields = 3;
  out.count = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = start;
    while (end < text.size() && text[end] != '\n') ++end;
    Input fields[kMaxFields];
    size_t count = 0;
    if (!SplitFields(text, start, end, fields, kMaxFields, count) || count < 2) {
      error = Error{Result::SbatLevelMalformed, start};
      return Result::SbatLevelMalformed;
    }
    uint32_t generation = 0;
    if (!ParseGeneration(fields[1], generation)) {
      error = Error{Result::SbatLevelMalformed,
                    static_cast<uint64_t>(fields[1].data() - text.data())};
      return Result::SbatLevelMalformed;
    }
    if (count == 3 && (fields[2].empty() || !AllMatch(fields[2], IsDigit))) {
      error = Error{Result::SbatLevelMalformed,
                    static_cast<uint64_t>(fields[2].data() - text.data())};
      return Result::SbatLevelMalformed;
    }
    HVSIG_TRY(AddRecord(out, fields[0], generation, start, Result::SbatLevelMalformed, error));
    start = end + 1;
  }
  if (out.count == 0) {
    error = Error{Result::SbatLevelMalformed, 0};
    return Result::SbatLevelMalformed;
  }
  return Result::Success;
}

Result CheckSbat(const SbatList& image, const SbatList& level, size_t& image_index,
                 size_t& level_index) {
  for (level_index = 0; level_index < level.count; ++level_index) {
    const int32_t found = FindComponent(image, level.entries[level_index].component);
    if (found < 0) continue;
    image_index = static_cast<size_t>(found);
    if (image.entries[image_index].generation < level.entries[level_index].generation) {
      return Result::SbatRevoked;
    }
  }
  return Result::Success;
}

}  // namespace hvsig::policy
