// Adversarial corpus (issue 8): systematic damage to two real signed kernels, each variant
// verified in process (authenticode::VerifyImage on the in-memory image, builtin provider):
// Debian's signed kernel against the Debian UEFI CA (RSA), and the same kernel re-signed at test
// time by sbsign with an ECDSA P-256 key against its CA.
//   - every byte of the DOS/PE/optional headers and the section table, and of the WIN_CERTIFICATE
//     header, flipped: all rejected except the 4 CheckSum bytes (not covered by the digest);
//   - 4096 seeded random bytes of section data and 1024 of the PKCS#7 blob changed: all rejected;
//   - cut at every 4 KiB boundary and at every byte of the last 4 KiB: all rejected;
//   - data appended after the table, zero padding inserted before it (directory adjusted): rejected.
// Every verify must return (a hang shows as the ctest timeout). Under ASan the full set would take
// several minutes, so a fixed subset runs instead (every 16th header byte, 1/64 of the rest);
// HVSIG_ADVERSARIAL=full or =subset overrides the choice.
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hvsig/authenticode.h"
#include "hvsig/crypto_builtin.h"
#include "signing_support.h"

namespace hvsig::test {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

bool Subset() {
  const char* choice = std::getenv("HVSIG_ADVERSARIAL");
  if (choice != nullptr && std::string(choice) == "full") return false;
  if (choice != nullptr && std::string(choice) == "subset") return true;
  return kSanitized;
}

// Keeps every n-th item of a class in the subset, all of them otherwise.
size_t Stride(size_t subset_stride) { return Subset() ? subset_stride : 1; }

const CryptoProvider& Provider() {
  static const CryptoProvider provider = MakeBuiltinProvider(HostedVectorUnitHooks());
  return provider;
}

// One signed kernel and the anchor that trusts it.
class Subject {
 public:
  Subject(Bytes image, Bytes anchor_der) : image_(std::move(image)), anchor_der_(std::move(anchor_der)) {
    EXPECT_EQ(ParseCertificate(Provider(), In(anchor_der_), anchor_), Result::Success);
    fields_ = LocateFields(image_);
  }

  Result Verify(Input bytes) {
    MemoryImage memory(bytes);
    const authenticode::AnchorSet anchors{&anchor_, 1};
    return authenticode::VerifyImage(Provider(), memory.Source(), anchors, authenticode::Options{},
                                     MutableBytes{storage_.data(), storage_.size()}, *v_);
  }
  Result Verify() { return Verify(In(image_)); }

  // Verifies the image with byte `at` XORed with `mask`, then restores it.
  Result VerifyFlipped(uint64_t at, uint8_t mask) {
    image_.at(at) ^= mask;
    const Result r = Verify();
    image_.at(at) ^= mask;
    return r;
  }

  Bytes& image() { return image_; }
  const PeFields& fields() const { return fields_; }
  uint64_t der_offset() const { return fields_.cert_table_offset + 8; }
  uint64_t der_length() const { return DerElementLength(image_, der_offset()); }

 private:
  Bytes image_;
  Bytes anchor_der_;
  Certificate anchor_{};
  PeFields fields_;
  std::unique_ptr<authenticode::Verification> v_ = std::make_unique<authenticode::Verification>();
  Bytes storage_ = Bytes(64 << 10);
};

Subject& Debian() {
  static Subject subject(ReadFile(DebianKernel()), ReadFile(DebianCa()));
  return subject;
}

Subject& Ecdsa() {
  static Subject subject = [] {
    const SigningIdentity id = Identity("adversarial-ecdsa", KeyType::P256);
    const std::string signed_kernel = Cached("adversarial-ecdsa.vmlinuz", [&](const std::string& out) {
      SbSign(UnsignedKernel(), out, id.signer);
    });
    return Subject(ReadFile(signed_kernel), CertificateDer(id.ca.cert));
  }();
  return subject;
}

using SubjectFn = Subject& (*)();

class Adversarial : public ::testing::TestWithParam<SubjectFn> {};

TEST_P(Adversarial, UntouchedImageVerifies) {
  ASSERT_EQ(GetParam()().Verify(), Result::Success);
}

// The DOS header and stub, the PE and optional headers and the section table: all hashed but the
// CheckSum and the security directory; every flip but the CheckSum's is rejected.
TEST_P(Adversarial, HeaderFlipsAreRejectedExceptCheckSum) {
  Subject& s = GetParam()();
  ASSERT_EQ(s.Verify(), Result::Success);
  const PeFields& f = s.fields();
  const uint64_t headers_end = f.section_header(f.section_count);
  size_t checked = 0;
  for (uint64_t at = 0; at < headers_end; ++at) {
    const bool checksum = at >= f.checksum_at && at < f.checksum_at + 4;
    if (!checksum && at % Stride(16) != 0) continue;
    const Result r = s.VerifyFlipped(at, 0xff);
    if (checksum) {
      EXPECT_EQ(r, Result::Success) << "CheckSum byte at " << at;
    } else {
      EXPECT_NE(r, Result::Success) << "header byte at " << at;
    }
    ++checked;
  }
  EXPECT_GE(checked, headers_end / Stride(16));
}

// dwLength, wRevision, wCertificateType: not hashed, but each is checked.
TEST_P(Adversarial, CertificateHeaderFlipsAreRejected) {
  Subject& s = GetParam()();
  for (uint64_t at = s.fields().cert_table_offset; at < s.der_offset(); ++at) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      EXPECT_NE(s.VerifyFlipped(at, mask), Result::Success) << "WIN_CERTIFICATE byte at " << at;
    }
  }
}

TEST_P(Adversarial, RandomSectionDataChangesAreRejected) {
  Subject& s = GetParam()();
  const PeFields& f = s.fields();
  // (offset, size) of each section's raw data, read independently of the core.
  std::vector<std::pair<uint64_t, uint64_t>> sections;
  for (uint16_t i = 0; i < f.section_count; ++i) {
    const uint64_t size = GetLe32(s.image(), f.section_header(i) + 16);
    const uint64_t offset = GetLe32(s.image(), f.section_header(i) + 20);
    if (size != 0) sections.emplace_back(offset, size);
  }
  ASSERT_FALSE(sections.empty());
  std::mt19937 rng(8);
  const size_t count = 4096 / Stride(64);
  for (size_t n = 0; n < count; ++n) {
    const auto& [offset, size] = sections[rng() % sections.size()];
    const uint64_t at = offset + rng() % size;
    const uint8_t mask = static_cast<uint8_t>(1 + rng() % 255);
    ASSERT_NE(s.VerifyFlipped(at, mask), Result::Success) << "section byte at " << at;
  }
}

TEST_P(Adversarial, RandomPkcs7ChangesAreRejected) {
  Subject& s = GetParam()();
  std::mt19937 rng(7);
  const size_t count = 1024 / Stride(16);
  for (size_t n = 0; n < count; ++n) {
    const uint64_t at = s.der_offset() + rng() % s.der_length();
    const uint8_t mask = static_cast<uint8_t>(1 + rng() % 255);
    EXPECT_NE(s.VerifyFlipped(at, mask), Result::Success) << "PKCS#7 byte at " << at;
  }
}

TEST_P(Adversarial, TruncationsAreRejected) {
  Subject& s = GetParam()();
  const uint64_t size = s.image().size();
  std::vector<uint64_t> cuts;
  for (uint64_t cut = 0; cut < size; cut += 4096 * Stride(64)) cuts.push_back(cut);
  const uint64_t last_page = size > 4096 ? size - 4096 : 0;
  for (uint64_t cut = last_page; cut < size; cut += Stride(64)) cuts.push_back(cut);
  for (uint64_t cut : cuts) {
    ASSERT_NE(s.Verify(Input(s.image().data(), cut)), Result::Success) << "cut at " << cut;
  }
}

TEST_P(Adversarial, AppendedDataIsRejected) {
  Subject& s = GetParam()();
  for (size_t extra : {1, 8, 4096}) {
    Bytes longer = s.image();
    longer.resize(longer.size() + extra, 0);
    EXPECT_NE(s.Verify(In(longer)), Result::Success) << extra << " zero bytes appended";
    longer.back() = 0x5a;
    EXPECT_NE(s.Verify(In(longer)), Result::Success) << extra << " bytes appended";
  }
}

// Zero padding inserted between the last section and the table, with the security directory
// moved to the table's new place (the consistent forgery) and without (the table now misplaced).
TEST_P(Adversarial, PaddingBeforeTheTableIsRejected) {
  Subject& s = GetParam()();
  const PeFields& f = s.fields();
  for (uint32_t padding : {8u, 4096u}) {
    Bytes padded = s.image();
    padded.insert(padded.begin() + f.cert_table_offset, padding, 0);
    EXPECT_NE(s.Verify(In(padded)), Result::Success) << padding << " bytes, directory unchanged";
    PutLe32(padded, f.security_dir_at, f.cert_table_offset + padding);
    EXPECT_NE(s.Verify(In(padded)), Result::Success) << padding << " bytes, directory moved";
  }
}

// Named by the instantiation; the parameter (a function pointer) would print as an address.
std::string KernelName(const ::testing::TestParamInfo<SubjectFn>&) { return "kernel"; }
INSTANTIATE_TEST_SUITE_P(DebianKernel, Adversarial, ::testing::Values(&Debian), KernelName);
INSTANTIATE_TEST_SUITE_P(EcdsaKernel, Adversarial, ::testing::Values(&Ecdsa), KernelName);

}  // namespace
}  // namespace hvsig::test
