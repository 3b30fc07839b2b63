// The PE parser and the Authenticode digest, in both profiles: the one-shot digest and the
// resumable hasher preempted after every chunk must agree, and every range the parser asks to
// hash lies inside the file.
#include <string.h>

#include "fuzz_support.h"
#include "hvsig/pe.h"

namespace {

using namespace hvsig;

struct State {
  pe::PeImage image;
  pe::AuthenticodeHasher hasher;
};

bool AlwaysYield(void*) { return true; }

// An ImageSource that hands out at most 4 KiB at a time, never across a page boundary (a
// kexec image's page list), over an exact-size buffer.
struct PagedSource {
  Input bytes;
  static Result View(void* opaque, uint64_t offset, size_t max_length, Input& chunk) {
    const Input& b = static_cast<PagedSource*>(opaque)->bytes;
    HVSIG_FUZZ_CHECK(offset < b.size() && max_length >= 1);
    size_t length = 4096 - offset % 4096;
    if (length > max_length) length = max_length;
    if (length > b.size() - offset) length = b.size() - offset;
    chunk = Input(b.data() + offset, length);
    return Result::Success;
  }
};

}  // namespace

HVSIG_FUZZ_TARGET(pe) {
  static State* state = new State();
  State& s = *state;
  const CryptoProvider& provider = fuzz::Provider();
  MemoryImage memory(Input(data, size));
  const ImageSource source = memory.Source();
  PagedSource paged{Input(data, size)};
  const ImageSource paged_source{size, PagedSource::View, &paged};

  for (pe::Profile profile : {pe::Profile::Strict, pe::Profile::Compat}) {
    Error error;
    if (pe::ParsePe(source, profile, s.image, error) != Result::Success) {
      HVSIG_FUZZ_CHECK(error.result != Result::Success);
      continue;
    }
    const pe::PeImage& image = s.image;
    HVSIG_FUZZ_CHECK(image.file_size == size);
    HVSIG_FUZZ_CHECK(image.section_count <= pe::kMaxSections);
    HVSIG_FUZZ_CHECK(image.hash_range_count <= pe::kMaxSections + 4);
    HVSIG_FUZZ_CHECK(image.certificate_count <= pe::kMaxSignatures);
    for (uint16_t i = 0; i < image.hash_range_count; ++i) {
      const pe::ByteRange& range = image.hash_ranges[i];
      HVSIG_FUZZ_CHECK(range.offset <= size && range.length <= size - range.offset);
    }
    for (uint8_t i = 0; i < image.certificate_count; ++i) {
      const pe::ByteRange& der = image.certificates[i].der;
      HVSIG_FUZZ_CHECK(der.offset <= size && der.length <= size - der.offset);
    }

    uint8_t one_shot[kMaxDigestLength];
    Error digest_error;
    if (pe::ComputeImageDigest(provider, source, image, DigestAlg::Sha256, one_shot,
                               digest_error) != Result::Success) {
      continue;
    }
    // One yield per view: a range of n bytes takes at most n / 4096 + 2 page-bounded views.
    uint64_t max_rounds = 1;
    uint64_t hashed_bytes = 0;
    for (uint16_t i = 0; i < image.hash_range_count; ++i) {
      max_rounds += image.hash_ranges[i].length / 4096 + 2;
      hashed_bytes += image.hash_ranges[i].length;
    }
    // The second algorithm checks that the hasher feeds every context alike. Sections may
    // overlap, so an input can make the hashed bytes up to ~100 times its size; the corpus
    // drifts towards such inputs, and SHA-384 over them took 60% of the run. Above the budget
    // the resumed SHA-256 is still compared with the one-shot one.
    constexpr uint64_t kTwoAlgorithmBudget = 256 * 1024;
    const DigestAlg algs[] = {DigestAlg::Sha256, DigestAlg::Sha384};
    const size_t alg_count = hashed_bytes <= kTwoAlgorithmBudget ? 2 : 1;
    HVSIG_FUZZ_CHECK(s.hasher.Begin(provider, image, algs, alg_count) == Result::Success);
    const PreemptionHook hook{AlwaysYield, nullptr};
    Result r;
    uint64_t rounds = 0;
    while ((r = s.hasher.Run(paged_source, &hook, digest_error)) == Result::Preempted) {
      HVSIG_FUZZ_CHECK(++rounds <= max_rounds);
    }
    HVSIG_FUZZ_CHECK(r == Result::Success);
    uint8_t resumed[kMaxDigestLength];
    uint8_t sha384[kMaxDigestLength];
    HVSIG_FUZZ_CHECK(s.hasher.Finish(DigestAlg::Sha256, resumed) == Result::Success);
    HVSIG_FUZZ_CHECK((s.hasher.Finish(DigestAlg::Sha384, sha384) == Result::Success) ==
                     (alg_count == 2));
    HVSIG_FUZZ_CHECK(memcmp(one_shot, resumed, 32) == 0);
  }
  return 0;
}
