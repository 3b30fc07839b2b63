#include "hvsig/image.h"

namespace hvsig {

Result ReadImage(const ImageSource& image, uint64_t offset, uint8_t* out, size_t length) {
  if (offset > image.size || length > image.size - offset) {
    return Result::PeTruncated;
  }
  while (length > 0) {
    Input chunk;
    if (image.view(image.opaque, offset, length, chunk) != Result::Success || chunk.empty() ||
        chunk.size() > length) {
      return Result::ImageReadFailed;
    }
    __builtin_memcpy(out, chunk.data(), chunk.size());
    out += chunk.size();
    offset += chunk.size();
    length -= chunk.size();
  }
  return Result::Success;
}

Result MemoryImage::View(void* opaque, uint64_t offset, size_t max_length, Input& chunk) {
  const auto* self = static_cast<const MemoryImage*>(opaque);
  if (offset >= self->bytes_.size()) {
    return Result::ImageReadFailed;
  }
  uint64_t available = self->bytes_.size() - offset;
  chunk = Input(self->bytes_.data() + offset, available < max_length ? available : max_length);
  return Result::Success;
}

}  // namespace hvsig
