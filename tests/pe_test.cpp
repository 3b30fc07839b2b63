// Core-level tests of the PE/COFF parser, the Authenticode digest and the resumable hasher (no
// subprocess). Synthetic PE32/PE32+ images are built in memory so that every Pe* check can be
// hit on purpose; the expected error offset is the field the test itself corrupted. The digest
// oracle is a separate implementation of the Authenticode spec's hashing rule over OpenSSL's
// EVP. "Debian*" tests use the Debian kernel from the authenticode_binaries fixture.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hvsig/authenticode.h"
#include "hvsig/crypto_builtin.h"
#include "hvsig/crypto_openssl.h"
#include "hvsig/pe.h"
#include "hvsig/x509.h"
#include "authenticode_support.h"
#include "test_support.h"

namespace hvsig::test {
namespace {

using pe::Profile;

// ---- Synthetic images ---------------------------------------------------------------------

struct SectionSpec {
  uint32_t pointer;
  uint32_t size;
};

struct PeSpec {
  bool pe32_plus = true;
  uint32_t e_lfanew = 0x80;
  uint32_t rva_count = 16;
  uint32_t size_of_headers = 0x400;
  std::vector<SectionSpec> sections = {{0x400, 0x600}, {0xa00, 0x400}};
  uint32_t extra = 0x40;          // bytes after the last section, before the table
  std::vector<Bytes> signatures;  // WIN_CERTIFICATE payloads; empty: unsigned
};

// The smallest DER SEQUENCE: enough for the PE layer, which only checks the first octet.
const Bytes kTinyDer = {0x30, 0x03, 0x02, 0x01, 0x00};

PeSpec SignedSpec() {
  PeSpec spec;
  spec.signatures = {kTinyDer};
  return spec;
}

uint64_t Align8(uint64_t v) { return (v + 7) & ~uint64_t{7}; }

// Entries are laid out as sbsign does: dwLength excludes the alignment bytes, the table size
// includes them.
Bytes BuildPe(const PeSpec& spec) {
  uint64_t body_end = spec.size_of_headers;
  for (const SectionSpec& s : spec.sections) body_end = std::max<uint64_t>(body_end, uint64_t{s.pointer} + s.size);
  body_end += spec.extra;
  const uint64_t table = spec.signatures.empty() ? body_end : Align8(body_end);
  Bytes b(table);
  for (size_t i = spec.size_of_headers; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 131 + 7);

  b[0] = 'M';
  b[1] = 'Z';
  PutLe32(b, 0x3c, spec.e_lfanew);
  const uint64_t coff = spec.e_lfanew + 4;
  b[spec.e_lfanew] = 'P';
  b[spec.e_lfanew + 1] = 'E';
  const uint32_t optional_size = (spec.pe32_plus ? 112 : 96) + 8 * spec.rva_count;
  PutLe16(b, coff, 0x8664);
  PutLe16(b, coff + 2, static_cast<uint16_t>(spec.sections.size()));
  PutLe16(b, coff + 16, static_cast<uint16_t>(optional_size));
  PutLe16(b, coff + 18, 0x0222);
  const uint64_t optional = coff + 20;
  PutLe16(b, optional, spec.pe32_plus ? 0x20b : 0x10b);
  PutLe32(b, optional + 60, spec.size_of_headers);
  PutLe32(b, optional + 64, 0x12345678);  // CheckSum
  PutLe16(b, optional + 68, 10);          // EFI application
  PutLe32(b, optional + (spec.pe32_plus ? 108 : 92), spec.rva_count);
  const uint64_t section_table = optional + optional_size;
  for (size_t i = 0; i < spec.sections.size(); ++i) {
    const uint64_t h = section_table + i * 40;
    b.at(h) = '.';
    b.at(h + 1) = static_cast<uint8_t>('a' + i);
    PutLe32(b, h + 8, spec.sections[i].size);
    PutLe32(b, h + 12, static_cast<uint32_t>(0x1000 * (i + 1)));
    PutLe32(b, h + 16, spec.sections[i].size);
    PutLe32(b, h + 20, spec.sections[i].pointer);
    PutLe32(b, h + 36, 0x60000020);
  }
  if (!spec.signatures.empty()) {
    for (const Bytes& payload : spec.signatures) {
      const uint64_t at = b.size();
      b.resize(at + Align8(8 + payload.size()));
      PutLe32(b, at, static_cast<uint32_t>(8 + payload.size()));
      PutLe16(b, at + 4, 0x0200);
      PutLe16(b, at + 6, 0x0002);
      std::copy(payload.begin(), payload.end(), b.begin() + static_cast<ptrdiff_t>(at + 8));
    }
    const PeFields f = LocateFields(b);
    PutLe32(b, f.security_dir_at, static_cast<uint32_t>(table));
    PutLe32(b, f.security_dir_at + 4, static_cast<uint32_t>(b.size() - table));
  }
  return b;
}

// ---- Oracle: the Authenticode hashing rule, written from the spec -------------------------

Bytes SpecDigest(const Bytes& b, const EVP_MD* md) {
  const PeFields f = LocateFields(b);
  const uint64_t headers = GetLe32(b, f.size_of_headers_at);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), md, nullptr);
  auto hash = [&](uint64_t begin, uint64_t end) {
    EVP_DigestUpdate(ctx.get(), b.data() + begin, end - begin);
  };
  hash(0, f.checksum_at);
  hash(f.checksum_at + 4, f.security_dir_at);
  hash(f.security_dir_at + 8, headers);
  std::vector<SectionSpec> sections;
  for (uint16_t i = 0; i < f.section_count; ++i) {
    const SectionSpec s{GetLe32(b, f.section_header(i) + 20), GetLe32(b, f.section_header(i) + 16)};
    if (s.size != 0) sections.push_back(s);
  }
  std::stable_sort(sections.begin(), sections.end(),
                   [](const SectionSpec& x, const SectionSpec& y) { return x.pointer < y.pointer; });
  uint64_t sum = headers;
  for (const SectionSpec& s : sections) {
    hash(s.pointer, uint64_t{s.pointer} + s.size);
    sum += s.size;
  }
  const uint64_t end = f.cert_table_size != 0 ? f.cert_table_offset : b.size();
  if (sum < end) hash(sum, end);
  Bytes out(EVP_MD_get_size(md));
  EVP_DigestFinal_ex(ctx.get(), out.data(), nullptr);
  return out;
}

// ---- Running the core ---------------------------------------------------------------------

struct Parsed {
  Result result;
  Error error;
  std::unique_ptr<pe::PeImage> pe = std::make_unique<pe::PeImage>();
};

Parsed Parse(const Bytes& b, Profile profile = Profile::Strict) {
  Parsed p;
  MemoryImage image(In(b));
  p.result = pe::ParsePe(image.Source(), profile, *p.pe, p.error);
  return p;
}

::testing::AssertionResult Fails(const Bytes& b, Result want, uint64_t offset,
                                 Profile profile = Profile::Strict) {
  const Parsed p = Parse(b, profile);
  if (p.result == want && p.error.result == want && p.error.offset == offset) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "got " << ResultName(p.result) << " (error "
                                       << ResultName(p.error.result) << " at " << p.error.offset
                                       << "), want " << ResultName(want) << " at " << offset;
}

Bytes CoreDigest(const CryptoProvider& provider, const Bytes& b, DigestAlg alg,
                 Profile profile = Profile::Compat) {
  const Parsed p = Parse(b, profile);
  EXPECT_EQ(p.result, Result::Success) << ResultName(p.error.result);
  MemoryImage image(In(b));
  Bytes out(DigestLength(alg));
  Error error;
  EXPECT_EQ(pe::ComputeImageDigest(provider, image.Source(), *p.pe, alg, out.data(), error),
            Result::Success);
  return out;
}

// The digests Authenticode signatures use.
constexpr DigestAlg kAlgs[] = {DigestAlg::Sha256, DigestAlg::Sha384, DigestAlg::Sha512};

void ExpectDigestsMatchSpec(const Bytes& b, Profile profile = Profile::Compat) {
  for (DigestAlg alg : kAlgs) {
    const Bytes want = SpecDigest(b, OpenSslMd(alg));
    EXPECT_EQ(CoreDigest(BuiltinProvider(), b, alg, profile), want) << DigestAlgName(alg);
    EXPECT_EQ(CoreDigest(OpenSslProvider(), b, alg, profile), want) << DigestAlgName(alg);
  }
}

// ---- Well-formed layouts ------------------------------------------------------------------

TEST(PeLayout, SignedPe32PlusFieldsAndDigest) {
  const Bytes b = BuildPe(SignedSpec());
  const PeFields f = LocateFields(b);
  const Parsed p = Parse(b);
  ASSERT_EQ(p.result, Result::Success) << ResultName(p.error.result);
  EXPECT_TRUE(p.pe->pe32_plus);
  EXPECT_EQ(p.pe->section_count, 2);
  EXPECT_EQ(p.pe->checksum_offset, f.checksum_at);
  EXPECT_EQ(p.pe->security_dir_offset, f.security_dir_at);
  EXPECT_EQ(p.pe->cert_table.offset, f.cert_table_offset);
  EXPECT_EQ(p.pe->cert_table.length, f.cert_table_size);
  ASSERT_EQ(p.pe->certificate_count, 1);
  EXPECT_EQ(p.pe->certificates[0].der.offset, f.cert_table_offset + 8);
  EXPECT_EQ(p.pe->certificates[0].der.length, kTinyDer.size());
  EXPECT_EQ(p.pe->gap_count, 0);
  EXPECT_FALSE(p.pe->section_overlap);
  EXPECT_EQ(p.pe->extra_data.length, 0x40u + (f.cert_table_offset - (0xe00 + 0x40)));
  ExpectDigestsMatchSpec(b, Profile::Strict);
}

TEST(PeLayout, Pe32) {
  PeSpec spec = SignedSpec();
  spec.pe32_plus = false;
  const Bytes b = BuildPe(spec);
  const Parsed p = Parse(b);
  ASSERT_EQ(p.result, Result::Success) << ResultName(p.error.result);
  EXPECT_FALSE(p.pe->pe32_plus);
  EXPECT_EQ(p.pe->security_dir_offset, LocateFields(b).security_dir_at);
  ExpectDigestsMatchSpec(b, Profile::Strict);
}

// The Debian kernel declares 6 data directories.
TEST(PeLayout, FiveOrSixDataDirectoriesAccepted) {
  for (uint32_t count : {5u, 6u}) {
    PeSpec spec = SignedSpec();
    spec.rva_count = count;
    const Parsed p = Parse(BuildPe(spec));
    EXPECT_EQ(p.result, Result::Success) << count << ": " << ResultName(p.error.result);
    EXPECT_EQ(p.pe->number_of_rva_and_sizes, count);
  }
}

TEST(PeLayout, UnsignedHashesToEndOfFile) {
  const Bytes b = BuildPe(PeSpec{});
  const Parsed p = Parse(b);
  ASSERT_EQ(p.result, Result::Success);
  EXPECT_FALSE(p.pe->is_signed());
  ExpectDigestsMatchSpec(b, Profile::Strict);
}

TEST(PeLayout, SectionsHashedInFileOrderNotTableOrder) {
  PeSpec spec = SignedSpec();
  spec.sections = {{0xa00, 0x400}, {0x400, 0x600}};
  ExpectDigestsMatchSpec(BuildPe(spec), Profile::Strict);
}

TEST(PeLayout, SectionWithoutRawDataIsSkipped) {
  PeSpec spec = SignedSpec();
  spec.sections.push_back({0, 0});
  const Bytes b = BuildPe(spec);
  EXPECT_EQ(Parse(b).result, Result::Success);
  ExpectDigestsMatchSpec(b, Profile::Strict);
}

TEST(PeLayout, CheckSumAndSecurityDirectoryAreNotHashed) {
  const Bytes b = BuildPe(SignedSpec());
  Bytes changed = b;
  const PeFields f = LocateFields(b);
  PutLe32(changed, f.checksum_at, 0);
  const Bytes before = CoreDigest(BuiltinProvider(), b, DigestAlg::Sha256);
  EXPECT_EQ(CoreDigest(BuiltinProvider(), changed, DigestAlg::Sha256), before);
  changed.at(f.checksum_at + 4) ^= 1;  // Subsystem, right after CheckSum
  EXPECT_NE(CoreDigest(BuiltinProvider(), changed, DigestAlg::Sha256), before);
}

TEST(PeLayout, TwoCertificateEntries) {
  PeSpec spec = SignedSpec();
  spec.signatures.push_back({0x30, 0x00});
  const Bytes b = BuildPe(spec);
  const Parsed p = Parse(b);
  ASSERT_EQ(p.result, Result::Success) << ResultName(p.error.result);
  ASSERT_EQ(p.pe->certificate_count, 2);
  EXPECT_EQ(p.pe->certificates[1].offset, LocateFields(b).cert_table_offset + 16);
  EXPECT_EQ(p.pe->certificates[1].length, 10u);
}

// Strict refuses what nobody hashes or what is hashed twice (`strict` at `offset`); compat
// parses it and hashes it the spec's way. Returns the compat parse.
Parsed ExpectOnlyCompatAccepts(const Bytes& b, Result strict, uint64_t offset) {
  EXPECT_TRUE(Fails(b, strict, offset));
  Parsed p = Parse(b, Profile::Compat);
  EXPECT_EQ(p.result, Result::Success) << ResultName(p.error.result);
  ExpectDigestsMatchSpec(b);
  return p;
}

TEST(PeLayout, GapBetweenSections) {
  PeSpec spec = SignedSpec();
  spec.sections = {{0x400, 0x600}, {0xc00, 0x400}};
  const Parsed p = ExpectOnlyCompatAccepts(BuildPe(spec), Result::PeUnhashedGap, 0xa00);
  EXPECT_EQ(p.pe->gap_count, 1);
  EXPECT_EQ(p.pe->first_gap.offset, 0xa00u);
  EXPECT_EQ(p.pe->first_gap.length, 0x200u);
}

TEST(PeLayout, GapAfterHeaders) {
  PeSpec spec = SignedSpec();
  spec.sections = {{0x600, 0x400}, {0xa00, 0x400}};
  ExpectOnlyCompatAccepts(BuildPe(spec), Result::PeUnhashedGap, 0x400);
}

TEST(PeLayout, SectionOverlapsHeaders) {
  PeSpec spec = SignedSpec();
  spec.sections[0].pointer = 0x3f0;
  const Parsed p = ExpectOnlyCompatAccepts(BuildPe(spec), Result::PeSectionOverlapsHeaders, 0x3f0);
  EXPECT_TRUE(p.pe->section_overlap);
}

TEST(PeLayout, SectionOverlapsSection) {
  PeSpec spec = SignedSpec();
  spec.sections[1].pointer = 0x9f0;
  const Parsed p = ExpectOnlyCompatAccepts(BuildPe(spec), Result::PeSectionOverlapsSection, 0x9f0);
  EXPECT_TRUE(p.pe->section_overlap);
}

// Overlapping sections counted twice push SUM_OF_BYTES_HASHED past the table.
TEST(PeLayout, ExtraDataOverlapsCertTable) {
  PeSpec spec = SignedSpec();
  spec.sections = {{0x400, 0x600}, {0x400, 0x600}};
  spec.extra = 0;
  const Bytes b = BuildPe(spec);
  EXPECT_TRUE(Fails(b, Result::PeExtraDataOverlapsCertTable, LocateFields(b).cert_table_offset,
                    Profile::Compat));
}

// ---- Every Pe* rejection, with the offset of the corrupted field --------------------------

struct Corruption {
  const char* name;
  Result result;
  // Changes a signed synthetic image; returns the offset the error must name.
  std::function<uint64_t(Bytes&, const PeFields&)> apply;
};

std::ostream& operator<<(std::ostream& os, const Corruption& c) { return os << c.name; }

const std::vector<Corruption>& Corruptions() {
  static const std::vector<Corruption> cases = {
      {"ShorterThanDosHeader", Result::PeTruncated, [](Bytes& b, const PeFields&) {
         b.resize(40);
         return uint64_t{0};
       }},
      {"BadDosMagic", Result::PeBadDosMagic, [](Bytes& b, const PeFields&) {
         b[1] = 'X';
         return uint64_t{0};
       }},
      {"LfanewInsideDosHeader", Result::PeBadLfanew, [](Bytes& b, const PeFields& f) {
         PutLe32(b, f.e_lfanew_at, 0x20);
         return f.e_lfanew_at;
       }},
      {"LfanewPastEnd", Result::PeBadLfanew, [](Bytes& b, const PeFields& f) {
         PutLe32(b, f.e_lfanew_at, static_cast<uint32_t>(b.size() - 16));
         return f.e_lfanew_at;
       }},
      {"LfanewHuge", Result::PeBadLfanew, [](Bytes& b, const PeFields& f) {
         PutLe32(b, f.e_lfanew_at, 0xfffffff0u);
         return f.e_lfanew_at;
       }},
      {"BadPeSignature", Result::PeBadSignature, [](Bytes& b, const PeFields& f) {
         b[f.e_lfanew + 2] = 1;
         return uint64_t{f.e_lfanew};
       }},
      {"NoOptionalHeader", Result::PeOptionalHeaderTooSmall, [](Bytes& b, const PeFields& f) {
         PutLe16(b, f.optional_size_at, 0);
         return f.optional_size_at;
       }},
      {"OptionalHeaderWithoutDirectories", Result::PeOptionalHeaderTooSmall,
       [](Bytes& b, const PeFields& f) {
         PutLe16(b, f.optional_size_at, 100);
         return f.optional_size_at;
       }},
      {"MoreDirectoriesThanOptionalHeaderHolds", Result::PeOptionalHeaderTooSmall,
       [](Bytes& b, const PeFields& f) {
         PutLe32(b, f.rva_count_at, 17);
         return f.rva_count_at;
       }},
      {"OptionalHeaderPastEnd", Result::PeTruncated, [](Bytes& b, const PeFields& f) {
         b.resize(f.optional + 64);
         return f.optional;
       }},
      {"BadOptionalMagic", Result::PeBadOptionalMagic, [](Bytes& b, const PeFields& f) {
         PutLe16(b, f.optional, 0x30b);
         return f.optional;
       }},
      {"FourDataDirectories", Result::PeTooFewDataDirectories, [](Bytes& b, const PeFields& f) {
         PutLe32(b, f.rva_count_at, 4);
         return f.rva_count_at;
       }},
      {"NoDataDirectories", Result::PeTooFewDataDirectories, [](Bytes& b, const PeFields& f) {
         PutLe32(b, f.rva_count_at, 0);
         return f.rva_count_at;
       }},
      {"TooManySections", Result::PeTooManySections, [](Bytes& b, const PeFields& f) {
         PutLe16(b, f.section_count_at, pe::kMaxSections + 1);
         return f.section_count_at;
       }},
      {"SizeOfHeadersBelowSectionTable", Result::PeBadSizeOfHeaders, [](Bytes& b, const PeFields& f) {
         PutLe32(b, f.size_of_headers_at, static_cast<uint32_t>(f.section_header(f.section_count) - 1));
         return f.size_of_headers_at;
       }},
      {"SizeOfHeadersPastEnd", Result::PeBadSizeOfHeaders, [](Bytes& b, const PeFields& f) {
         PutLe32(b, f.size_of_headers_at, static_cast<uint32_t>(b.size() + 1));
         return f.size_of_headers_at;
       }},
      {"SectionPastEnd", Result::PeSectionOutsideFile, [](Bytes& b, const PeFields& f) {
         PutLe32(b, f.section_header(1) + 16, static_cast<uint32_t>(b.size()));
         return f.section_header(1) + 16;
       }},
      {"SectionSizeWraps", Result::PeSectionOutsideFile, [](Bytes& b, const PeFields& f) {
         PutLe32(b, f.section_header(1) + 16, 0xffffff00u);
         return f.section_header(1) + 16;
       }},
      {"SectionIntoCertTable", Result::PeSectionOverlapsCertTable, [](Bytes& b, const PeFields& f) {
         const uint32_t pointer = GetLe32(b, f.section_header(1) + 20);
         PutLe32(b, f.section_header(1) + 16, f.cert_table_offset + 8 - pointer);
         return uint64_t{pointer};
       }},
      {"CertTableInHeaders", Result::PeCertTableBeforeHeaders, [](Bytes& b, const PeFields& f) {
         PutLe32(b, f.security_dir_at, 0x100);
         return f.security_dir_at;
       }},
      {"CertTableOverrunsFile", Result::PeCertTableOutsideFile, [](Bytes& b, const PeFields& f) {
         PutLe32(b, f.security_dir_at + 4, f.cert_table_size + 8);
         return f.security_dir_at;
       }},
      {"CertTableSizeWraps", Result::PeCertTableOutsideFile, [](Bytes& b, const PeFields& f) {
         PutLe32(b, f.security_dir_at + 4, 0xfffffff8u);
         return f.security_dir_at;
       }},
      {"DataAfterCertTable", Result::PeDataAfterCertTable, [](Bytes& b, const PeFields&) {
         const uint64_t end = b.size();
         b.insert(b.end(), 8, 0);
         return end;
       }},
      {"EntryOfHeaderSizeOnly", Result::PeCertEntryTooShort, [](Bytes& b, const PeFields& f) {
         PutLe32(b, f.cert_table_offset, 8);
         return uint64_t{f.cert_table_offset};
       }},
      {"TableTailShorterThanEntryHeader", Result::PeCertEntryTooShort, [](Bytes& b, const PeFields& f) {
         b.insert(b.end(), 4, 0);
         PutLe32(b, f.security_dir_at + 4, f.cert_table_size + 4);
         return f.cert_table_end();
       }},
      {"EntryOverrunsTable", Result::PeCertEntryOverrun, [](Bytes& b, const PeFields& f) {
         PutLe32(b, f.cert_table_offset, f.cert_table_size + 8);
         return uint64_t{f.cert_table_offset};
       }},
      {"EntryBadRevision", Result::PeCertEntryBadRevision, [](Bytes& b, const PeFields& f) {
         PutLe16(b, f.cert_table_offset + 4, 0x0100);
         return uint64_t{f.cert_table_offset} + 4;
       }},
      {"EntryBadType", Result::PeCertEntryBadType, [](Bytes& b, const PeFields& f) {
         PutLe16(b, f.cert_table_offset + 6, 0x0001);
         return uint64_t{f.cert_table_offset} + 6;
       }},
      {"EntryNotDer", Result::PeCertEntryNotDer, [](Bytes& b, const PeFields& f) {
         b[f.cert_table_offset + 8] = 0x31;
         return uint64_t{f.cert_table_offset} + 8;
       }},
      {"NonZeroAlignmentBytes", Result::PeCertEntryBadPadding, [](Bytes& b, const PeFields& f) {
         const uint64_t padding = f.cert_table_offset + GetLe32(b, f.cert_table_offset) + 1;
         b[padding] = 0x80;
         return padding;
       }},
  };
  return cases;
}

class PeRejects : public ::testing::TestWithParam<Corruption> {};

TEST_P(PeRejects, NamesCheckAndOffset) {
  Bytes b = BuildPe(SignedSpec());
  const uint64_t offset = GetParam().apply(b, LocateFields(b));
  EXPECT_TRUE(Fails(b, GetParam().result, offset));
  EXPECT_TRUE(Fails(b, GetParam().result, offset, Profile::Compat));
}

INSTANTIATE_TEST_SUITE_P(Synthetic, PeRejects, ::testing::ValuesIn(Corruptions()),
                         [](const ::testing::TestParamInfo<Corruption>& info) {
                           return std::string(info.param.name);
                         });

TEST(PeLimits, TooManySignatures) {
  PeSpec spec = SignedSpec();
  spec.signatures.assign(pe::kMaxSignatures + 1, kTinyDer);
  const Bytes b = BuildPe(spec);
  EXPECT_TRUE(Fails(b, Result::PeTooManySignatures, LocateFields(b).cert_table_offset + 16 * pe::kMaxSignatures));
}

Result NeverRead(void*, uint64_t, size_t, Input&) { return Result::ImageReadFailed; }

TEST(PeLimits, ImageOver4GiB) {
  const ImageSource source{(uint64_t{1} << 32) + 1, NeverRead, nullptr};
  auto pe = std::make_unique<pe::PeImage>();
  Error error;
  EXPECT_EQ(pe::ParsePe(source, Profile::Strict, *pe, error), Result::PeTooLarge);
  EXPECT_EQ(error.offset, 0u);
}

// ---- The verification pipeline on synthetic images ----------------------------------------

struct Verified {
  Result result;
  std::unique_ptr<authenticode::Verification> v = std::make_unique<authenticode::Verification>();
};

Verified Verify(const Bytes& b, size_t storage_size = 1 << 16) {
  Verified out;
  MemoryImage image(In(b));
  Bytes storage(storage_size);
  const authenticode::AnchorSet none{nullptr, 0};
  out.result = authenticode::VerifyImage(BuiltinProvider(), image.Source(), none,
                                         authenticode::Options{},
                                         MutableBytes{storage.data(), storage.size()}, *out.v);
  return out;
}

TEST(PeVerify, UnsignedImage) {
  const Bytes b = BuildPe(PeSpec{});
  const Verified r = Verify(b);
  EXPECT_EQ(r.result, Result::ImageNotSigned);
  EXPECT_EQ(r.v->error.offset, LocateFields(b).security_dir_at);
}

// osslsigncode counts the alignment bytes in dwLength: they must be zero there too.
TEST(PeVerify, NonZeroPaddingInsideEntry) {
  PeSpec spec = SignedSpec();
  Bytes payload = kTinyDer;
  payload.insert(payload.end(), {0, 0, 7});
  spec.signatures = {payload};
  const Bytes b = BuildPe(spec);
  const Verified r = Verify(b);
  EXPECT_EQ(r.result, Result::PeCertEntryBadPadding);
  EXPECT_EQ(r.v->error.offset, LocateFields(b).cert_table_offset + 8 + kTinyDer.size() + 2);

  payload.assign(kTinyDer.begin(), kTinyDer.end());
  payload.insert(payload.end(), 8, 0);  // eight zero bytes: more than alignment needs
  spec.signatures = {payload};
  EXPECT_EQ(Verify(BuildPe(spec)).result, Result::PeCertEntryBadPadding);
}

TEST(PeVerify, SignatureLargerThanStorage) {
  const Bytes b = BuildPe(SignedSpec());
  const Verified r = Verify(b, 4);
  EXPECT_EQ(r.result, Result::PeSignatureTooLarge);
  EXPECT_EQ(r.v->error.offset, LocateFields(b).cert_table_offset);
}

TEST(PeVerify, JunkSignatureIsAParseError) {
  const Bytes b = BuildPe(SignedSpec());
  const Verified r = Verify(b);
  EXPECT_NE(r.result, Result::Success);
  EXPECT_GE(r.v->error.offset, LocateFields(b).cert_table_offset + 8);
  EXPECT_LT(r.v->error.offset, LocateFields(b).cert_table_end());
}

// ---- The Debian kernel --------------------------------------------------------------------

const Bytes& DebianKernel() {
  static const Bytes kernel = ReadFile(std::string(HVSIG_TEST_CACHE) + "/authenticode/vmlinuz");
  return kernel;
}

Certificate DebianCa(Bytes& storage) {
  storage = ReadFile(std::string(HVSIG_TEST_CACHE) + "/authenticode/debian-uefi-ca.der");
  Certificate ca{};
  EXPECT_EQ(ParseCertificate(BuiltinProvider(), In(storage), ca),
            Result::Success);
  return ca;
}

// VerifyImage (builtin provider) of image bytes against the Debian CA, reusing its storage.
class DebianCaVerifier {
 public:
  Result operator()(Input bytes) {
    MemoryImage image(bytes);
    return authenticode::VerifyImage(BuiltinProvider(), image.Source(), anchors_,
                                     authenticode::Options{},
                                     MutableBytes{storage_.data(), storage_.size()}, *verification_);
  }

 private:
  Bytes ca_storage_;
  const Certificate ca_ = DebianCa(ca_storage_);
  const authenticode::AnchorSet anchors_{&ca_, 1};
  std::unique_ptr<authenticode::Verification> verification_ =
      std::make_unique<authenticode::Verification>();
  Bytes storage_ = Bytes(1 << 16);
};

TEST(DebianKernelPe, LayoutMatchesHeaders) {
  const Bytes& kernel = DebianKernel();
  const PeFields f = LocateFields(kernel);
  const Parsed p = Parse(kernel);
  ASSERT_EQ(p.result, Result::Success) << ResultName(p.error.result);
  EXPECT_EQ(p.pe->number_of_rva_and_sizes, GetLe32(kernel, f.rva_count_at));
  EXPECT_EQ(p.pe->cert_table.offset, f.cert_table_offset);
  EXPECT_EQ(p.pe->cert_table.end(), kernel.size());
  EXPECT_EQ(p.pe->section_count, f.section_count);
  EXPECT_EQ(CoreDigest(BuiltinProvider(), kernel, DigestAlg::Sha256, Profile::Strict),
            SpecDigest(kernel, EVP_sha256()));
}

// Cut the kernel short anywhere: in the headers (exact-size copies, so ASan sees over-reads),
// through the body, and through the certificate table.
TEST(DebianKernelPe, TruncationNeverSucceeds) {
  const Bytes& kernel = DebianKernel();
  const PeFields f = LocateFields(kernel);
  std::vector<uint64_t> cuts;
  for (uint64_t cut = 0; cut < 4096; ++cut) cuts.push_back(cut);
  for (uint64_t cut = 4096; cut < kernel.size(); cut += 65521) cuts.push_back(cut);
  for (uint64_t cut = f.cert_table_offset - 8; cut < kernel.size(); ++cut) cuts.push_back(cut);
  DebianCaVerifier verify;
  for (uint64_t cut : cuts) {
    Input bytes(kernel.data(), cut);
    Bytes copy;
    if (cut < 4096) {
      copy.assign(kernel.begin(), kernel.begin() + static_cast<ptrdiff_t>(cut));
      bytes = In(copy);
    }
    ASSERT_NE(verify(bytes), Result::Success) << "cut at " << cut;
  }
}

// The signature cut short with the security directory and dwLength adjusted to match, so
// that the PKCS#7 layer sees every truncation.
TEST(DebianKernelPe, TruncatedSignatureWithConsistentHeadersNeverSucceeds) {
  Bytes kernel = DebianKernel();
  const PeFields f = LocateFields(kernel);
  DebianCaVerifier verify;
  for (uint32_t length = 9; length < f.cert_table_size; ++length) {
    PutLe32(kernel, f.security_dir_at + 4, length);
    PutLe32(kernel, f.cert_table_offset, length);
    ASSERT_NE(verify(Input(kernel.data(), f.cert_table_offset + length)), Result::Success)
        << "table length " << length;
  }
}

// Every prefix of Debian's SignedData, each in an exact-size buffer.
TEST(DebianKernelPe, SignaturePrefixesNeverParse) {
  const Bytes& kernel = DebianKernel();
  const PeFields f = LocateFields(kernel);
  const uint64_t der = f.cert_table_offset + 8;
  const uint64_t length = DerElementLength(kernel, der);
  auto sd = std::make_unique<pkcs7::SignedData>();
  const Bytes whole(kernel.begin() + static_cast<ptrdiff_t>(der),
                    kernel.begin() + static_cast<ptrdiff_t>(der + length));
  ASSERT_EQ(pkcs7::ParseAuthenticode(In(whole), *sd), Result::Success);
  for (uint64_t cut = 0; cut < length; ++cut) {
    const Bytes prefix(whole.begin(), whole.begin() + static_cast<ptrdiff_t>(cut));
    ASSERT_NE(pkcs7::ParseAuthenticode(In(prefix), *sd), Result::Success)
        << cut;
  }
}

bool AlwaysYield(void* count) {
  ++*static_cast<size_t*>(count);
  return true;
}

// A page list, as a kexec image is: views never cross a 4 KiB boundary.
struct PagedImage {
  const Bytes* bytes;
  static Result View(void* opaque, uint64_t offset, size_t max_length, Input& chunk) {
    const Bytes& b = *static_cast<PagedImage*>(opaque)->bytes;
    const uint64_t page_left = 4096 - offset % 4096;
    const uint64_t length = std::min<uint64_t>({max_length, page_left, b.size() - offset});
    chunk = Input(b.data() + offset, length);
    return Result::Success;
  }
};

TEST(DebianKernelPe, ResumableHashEqualsOneShot) {
  const Bytes& kernel = DebianKernel();
  const Parsed p = Parse(kernel);
  ASSERT_EQ(p.result, Result::Success);
  uint64_t hashed = 0;
  for (uint16_t i = 0; i < p.pe->hash_range_count; ++i) hashed += p.pe->hash_ranges[i].length;

  PagedImage paged{&kernel};
  MemoryImage contiguous(In(kernel));
  for (const ImageSource source : {contiguous.Source(), ImageSource{kernel.size(), PagedImage::View, &paged}}) {
    for (const CryptoProvider* provider : {&BuiltinProvider(), &OpenSslProvider()}) {
      auto hasher = std::make_unique<pe::AuthenticodeHasher>();
      ASSERT_EQ(hasher->Begin(*provider, *p.pe, kAlgs, 3), Result::Success);
      size_t yields = 0;
      const PreemptionHook hook{AlwaysYield, &yields};
      Error error;
      Result r;
      size_t preempted = 0;
      while ((r = hasher->Run(source, &hook, error)) == Result::Preempted) ++preempted;
      ASSERT_EQ(r, Result::Success);
      EXPECT_EQ(preempted, yields);
      EXPECT_GE(preempted, hashed / pe::AuthenticodeHasher::kChunk);
      for (DigestAlg alg : kAlgs) {
        Bytes resumed(DigestLength(alg));
        ASSERT_EQ(hasher->Finish(alg, resumed.data()), Result::Success);
        Bytes one_shot(DigestLength(alg));
        ASSERT_EQ(pe::ComputeImageDigest(*provider, source, *p.pe, alg, one_shot.data(), error),
                  Result::Success);
        EXPECT_EQ(resumed, one_shot) << DigestAlgName(alg) << " " << provider->name;
        EXPECT_EQ(resumed, SpecDigest(kernel, OpenSslMd(alg))) << DigestAlgName(alg);
      }
    }
  }
}

// Prepare / Hash (preempted after every chunk) / Evaluate reaches VerifyImage's verdict.
TEST(DebianKernelPe, SplitVerificationTrustsLikeVerifyImage) {
  const Bytes& kernel = DebianKernel();
  Bytes ca_storage;
  const Certificate ca = DebianCa(ca_storage);
  const authenticode::AnchorSet anchors{&ca, 1};
  MemoryImage image(In(kernel));
  Bytes storage(1 << 16);
  const MutableBytes out{storage.data(), storage.size()};
  const authenticode::Options options;
  auto v = std::make_unique<authenticode::Verification>();
  ASSERT_EQ(authenticode::Prepare(BuiltinProvider(), image.Source(), options, out, *v),
            Result::Success);
  size_t yields = 0;
  const PreemptionHook hook{AlwaysYield, &yields};
  Result r;
  while ((r = authenticode::Hash(image.Source(), &hook, *v)) == Result::Preempted) {
  }
  ASSERT_EQ(r, Result::Success);
  EXPECT_GT(yields, 100u);
  EXPECT_EQ(authenticode::Evaluate(BuiltinProvider(), anchors, options, *v), Result::Success);
  EXPECT_EQ(v->trusted_by, 0);
  EXPECT_EQ(v->verdicts[0].anchor_index, 0);

  auto whole = std::make_unique<authenticode::Verification>();
  EXPECT_EQ(authenticode::VerifyImage(OpenSslProvider(), image.Source(), anchors, options, out, *whole),
            Result::Success);
  EXPECT_EQ(0, __builtin_memcmp(whole->digests[0], v->digests[0], 32));
}

}  // namespace
}  // namespace hvsig::test
