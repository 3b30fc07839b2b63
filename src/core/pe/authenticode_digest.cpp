#include "hvsig/pe.h"

namespace hvsig::pe {

Result AuthenticodeHasher::Begin(const CryptoProvider& provider, const PeImage& image,
                                 const DigestAlg* algs, size_t alg_count) {
  if (alg_count == 0 || alg_count > kMaxAlgorithms) return Result::InvalidArgument;
  image_ = &image;
  count_ = 0;
  range_ = 0;
  range_done_ = 0;
  for (size_t i = 0; i < alg_count; ++i) {
    Result r = digests_[i].Begin(provider, algs[i]);
    if (r != Result::Success) {
      Abandon();
      return r;
    }
    algs_[i] = algs[i];
    finished_[i] = false;
    count_ = i + 1;
  }
  return Result::Success;
}

Result AuthenticodeHasher::Run(const ImageSource& source, const PreemptionHook* hook,
                               Error& error) {
  while (range_ < image_->hash_range_count) {
    const ByteRange& range = image_->hash_ranges[range_];
    if (range_done_ == range.length) {
      ++range_;
      range_done_ = 0;
      continue;
    }
    const uint64_t left = range.length - range_done_;
    const uint64_t offset = range.offset + range_done_;
    Input chunk;
    Result r = source.view(source.opaque, offset, left < kChunk ? left : kChunk, chunk);
    if (r != Result::Success || chunk.empty() || chunk.size() > left) {
      error = Error{Result::ImageReadFailed, offset};
      return Result::ImageReadFailed;
    }
    for (size_t i = 0; i < count_; ++i) digests_[i].Update(chunk);
    range_done_ += chunk.size();
    if (hook != nullptr && hook->should_yield(hook->opaque)) return Result::Preempted;
  }
  return Result::Success;
}

Result AuthenticodeHasher::Finish(DigestAlg alg, uint8_t* out) {
  for (size_t i = 0; i < count_; ++i) {
    if (algs_[i] == alg && !finished_[i]) {
      digests_[i].Finish(out);
      finished_[i] = true;
      return Result::Success;
    }
  }
  return Result::InvalidArgument;
}

void AuthenticodeHasher::Abandon() {
  for (size_t i = 0; i < count_; ++i) {
    if (!finished_[i]) digests_[i].Release();
    finished_[i] = true;
  }
}

Result ComputeImageDigest(const CryptoProvider& provider, const ImageSource& source,
                          const PeImage& image, DigestAlg alg, uint8_t* out, Error& error) {
  AuthenticodeHasher hasher;
  Result r = hasher.Begin(provider, image, &alg, 1);
  if (r != Result::Success) {
    error = Error{r, 0};
    return r;
  }
  r = hasher.Run(source, nullptr, error);
  if (r != Result::Success) {
    hasher.Abandon();
    return r;
  }
  return hasher.Finish(alg, out);
}

}  // namespace hvsig::pe
