// EFI_SIGNATURE_LIST reading. All arithmetic is on size_t/uint64_t values that start as 32-bit
// fields and are compared against what remains before they are added, so nothing wraps.
#include "core/efi/bytes.h"
#include "hvsig/efi.h"

namespace hvsig::efi {
namespace {

constexpr size_t kListHeaderSize = 28;  // SignatureType, ListSize, HeaderSize, SignatureSize
constexpr size_t kListSizeField = 16;
constexpr size_t kHeaderSizeField = 20;
constexpr size_t kSignatureSizeField = 24;
constexpr size_t kOwnerSize = 16;
constexpr size_t kEfiTimeSize = 16;
constexpr size_t kRsa2048Size = 256;
// SignatureSize of a type whose data can have any length.
constexpr uint32_t kVariableSize = 0;

struct TypeInfo {
  const Guid* guid;
  SignatureType type;
  uint32_t data_size;  // SignatureSize - 16 (edk2's mSupportSigItem), or kVariableSize
};

constexpr TypeInfo kTypes[] = {
    {&kCertSha1Guid, SignatureType::Sha1, 20},
    {&kCertSha224Guid, SignatureType::Sha224, 28},
    {&kCertSha256Guid, SignatureType::Sha256, 32},
    {&kCertSha384Guid, SignatureType::Sha384, 48},
    {&kCertSha512Guid, SignatureType::Sha512, 64},
    {&kCertX509Guid, SignatureType::X509, kVariableSize},
    {&kCertX509Sha256Guid, SignatureType::X509Sha256, 32 + kEfiTimeSize},
    {&kCertX509Sha384Guid, SignatureType::X509Sha384, 48 + kEfiTimeSize},
    {&kCertX509Sha512Guid, SignatureType::X509Sha512, 64 + kEfiTimeSize},
    {&kCertRsa2048Guid, SignatureType::Rsa2048, kRsa2048Size},
    {&kCertRsa2048Sha256Guid, SignatureType::Rsa2048Sha256, kRsa2048Size},
    {&kCertRsa2048Sha1Guid, SignatureType::Rsa2048Sha1, kRsa2048Size},
};

const TypeInfo* FindType(const Guid& guid) {
  for (const TypeInfo& info : kTypes) {
    if (*info.guid == guid) return &info;
  }
  return nullptr;
}

Guid ReadGuid(const uint8_t* p) {
  Guid guid;
  __builtin_memcpy(guid.bytes, p, sizeof guid.bytes);
  return guid;
}

}  // namespace

const char* SignatureTypeName(SignatureType type) {
  switch (type) {
    case SignatureType::Unknown: return "unknown";
    case SignatureType::Sha1: return "sha1";
    case SignatureType::Sha224: return "sha224";
    case SignatureType::Sha256: return "sha256";
    case SignatureType::Sha384: return "sha384";
    case SignatureType::Sha512: return "sha512";
    case SignatureType::X509: return "x509";
    case SignatureType::X509Sha256: return "x509-sha256";
    case SignatureType::X509Sha384: return "x509-sha384";
    case SignatureType::X509Sha512: return "x509-sha512";
    case SignatureType::Rsa2048: return "rsa2048";
    case SignatureType::Rsa2048Sha256: return "rsa2048-sha256";
    case SignatureType::Rsa2048Sha1: return "rsa2048-sha1";
  }
  return "unknown";
}

bool SignatureTypeDigest(SignatureType type, DigestAlg& alg) {
  switch (type) {
    case SignatureType::Sha1: alg = DigestAlg::Sha1; return true;
    case SignatureType::Sha224: alg = DigestAlg::Sha224; return true;
    case SignatureType::Sha256:
    case SignatureType::X509Sha256: alg = DigestAlg::Sha256; return true;
    case SignatureType::Sha384:
    case SignatureType::X509Sha384: alg = DigestAlg::Sha384; return true;
    case SignatureType::Sha512:
    case SignatureType::X509Sha512: alg = DigestAlg::Sha512; return true;
    default: return false;
  }
}

bool IsTbsHashType(SignatureType type) {
  return type == SignatureType::X509Sha256 || type == SignatureType::X509Sha384 ||
         type == SignatureType::X509Sha512;
}

EfiTime DecodeEfiTime(const uint8_t* p) {
  EfiTime time;
  time.year = Le16(p);
  time.month = p[2];
  time.day = p[3];
  time.hour = p[4];
  time.minute = p[5];
  time.second = p[6];
  time.nanosecond = Le32(p + 8);
  time.time_zone = static_cast<int16_t>(Le16(p + 12));
  time.daylight = p[14];
  return time;
}

Result SignatureListReader::Fail(Result r, uint64_t offset, Error& error) {
  failure_ = r;
  failure_error_ = Error{r, base_ + offset};
  error = failure_error_;
  return r;
}

Result SignatureListReader::EnterList(Error& error) {
  const size_t start = list_end_;
  const size_t remaining = lists_.size() - start;
  const uint8_t* header = lists_.data() + start;
  if (remaining < kListHeaderSize) return Fail(Result::EslTruncated, start, error);
  const uint32_t list_size = Le32(header + kListSizeField);
  const uint32_t header_size = Le32(header + kHeaderSizeField);
  const uint32_t signature_size = Le32(header + kSignatureSizeField);
  if (list_size < kListHeaderSize) {
    return Fail(Result::EslListSizeTooSmall, start + kListSizeField, error);
  }
  if (list_size > remaining) return Fail(Result::EslListOverrun, start + kListSizeField, error);
  if (header_size > list_size - kListHeaderSize) {
    return Fail(Result::EslHeaderSizeOverrun, start + kHeaderSizeField, error);
  }
  const TypeInfo* info = FindType(ReadGuid(header));
  // Every standard type defines an empty SignatureHeader; only unknown types may carry one.
  if (info != nullptr && header_size != 0) {
    return Fail(Result::EslBadHeaderSize, start + kHeaderSizeField, error);
  }
  if (signature_size <= kOwnerSize) {
    return Fail(Result::EslSignatureSizeTooSmall, start + kSignatureSizeField, error);
  }
  const size_t signatures = list_size - kListHeaderSize - header_size;
  if (signatures % signature_size != 0) {
    return Fail(Result::EslSizeNotMultiple, start + kSignatureSizeField, error);
  }
  if (signatures == 0) return Fail(Result::EslNoEntries, start + kListSizeField, error);
  if (info != nullptr && info->data_size != kVariableSize &&
      signature_size != kOwnerSize + info->data_size) {
    return Fail(Result::EslBadSignatureSize, start + kSignatureSizeField, error);
  }
  list_start_ = start;
  list_end_ = start + list_size;
  next_entry_ = start + kListHeaderSize + header_size;
  signature_size_ = signature_size;
  type_ = info != nullptr ? info->type : SignatureType::Unknown;
  return Result::Success;
}

Result SignatureListReader::Next(SignatureEntry& entry, Error& error) {
  if (failure_ != Result::Success) {
    error = failure_error_;
    return failure_;
  }
  if (next_entry_ == list_end_) {
    if (list_end_ == lists_.size()) return Fail(Result::InvalidArgument, list_end_, error);
    HVSIG_TRY(EnterList(error));
  }
  const uint8_t* at = lists_.data() + next_entry_;
  entry.type = type_;
  entry.type_guid = ReadGuid(lists_.data() + list_start_);
  entry.owner = ReadGuid(at);
  entry.data = Input(at + kOwnerSize, signature_size_ - kOwnerSize);
  entry.hash = Input();
  entry.revocation_time = EfiTime{};
  entry.list_offset = base_ + list_start_;
  entry.entry_offset = base_ + next_entry_;
  const uint64_t data_offset = next_entry_ + kOwnerSize;

  DigestAlg alg;
  if (SignatureTypeDigest(type_, alg)) {
    entry.hash = Input(entry.data.data(), DigestLength(alg));
  }
  if (IsTbsHashType(type_)) {
    entry.revocation_time = DecodeEfiTime(entry.data.data() + entry.hash.size());
  }
  if (type_ == SignatureType::X509) {
    der::Error der_error;
    const Result parsed = ParseCertificate(*provider_, entry.data, entry.certificate, &der_error);
    if (parsed != Result::Success) {
      certificate_error_ = parsed;
      return Fail(Result::EslBadCertificate, data_offset + der_error.offset, error);
    }
  }
  next_entry_ += signature_size_;
  return Result::Success;
}

Result ValidateSignatureLists(const CryptoProvider& provider, Input lists, uint64_t base_offset,
                              size_t& count, Error& error) {
  SignatureListReader reader(provider, lists, base_offset);
  SignatureEntry entry;
  count = 0;
  while (!reader.AtEnd()) {
    HVSIG_TRY(reader.Next(entry, error));
    ++count;
  }
  return Result::Success;
}

}  // namespace hvsig::efi
