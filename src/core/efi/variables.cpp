// The containers signature lists come in: efivarfs files, EFI_VARIABLE_AUTHENTICATION_2
// (.auth) files and edk2 NV variable stores (MdeModulePkg/Include/Guid/VariableFormat.h,
// PI spec EFI_FIRMWARE_VOLUME_HEADER). Sizes are checked against what remains before any
// addition, so no sum below can wrap.
#include "core/efi/bytes.h"
#include "hvsig/der.h"
#include "hvsig/efi.h"

namespace hvsig::efi {
namespace {

constexpr size_t kAttributesSize = 4;

// EFI_VARIABLE_AUTHENTICATION_2: EFI_TIME, then WIN_CERTIFICATE_UEFI_GUID.
constexpr size_t kAuthTimeSize = 16;
constexpr size_t kAuthTimeZeroFieldsStart = 7;  // Pad1, Nanosecond, TimeZone, Daylight, Pad2
constexpr size_t kAuthLengthField = 16;
constexpr size_t kAuthRevisionField = 20;
constexpr size_t kAuthCertTypeField = 22;
constexpr size_t kAuthCertGuidField = 24;
constexpr size_t kAuthHeaderSize = 40;
constexpr uint32_t kWinCertificateUefiGuidSize = 24;  // dwLength covers this header too
constexpr uint16_t kWinCertRevision = 0x0200;
constexpr uint16_t kWinCertTypeEfiGuid = 0x0ef1;

// EFI_FIRMWARE_VOLUME_HEADER.
constexpr size_t kFvGuidField = 16;
constexpr size_t kFvLengthField = 32;
constexpr size_t kFvSignatureField = 40;
constexpr size_t kFvHeaderLengthField = 48;
constexpr size_t kFvChecksumField = 50;
constexpr size_t kFvMinHeaderSize = 64;  // 56 fixed bytes and the block map's terminator
constexpr uint8_t kFvSignature[4] = {'_', 'F', 'V', 'H'};

// VARIABLE_STORE_HEADER.
constexpr size_t kStoreSizeField = 16;
constexpr size_t kStoreFormatField = 20;
constexpr size_t kStoreStateField = 21;
constexpr size_t kStoreHeaderSize = 28;
constexpr uint8_t kStoreFormatted = 0x5a;
constexpr uint8_t kStoreHealthy = 0xfe;

// AUTHENTICATED_VARIABLE_HEADER.
constexpr size_t kVarStateField = 2;
constexpr size_t kVarAttributesField = 4;
constexpr size_t kVarNameSizeField = 36;
constexpr size_t kVarDataSizeField = 40;
constexpr size_t kVarVendorField = 44;
constexpr size_t kVarHeaderSize = 60;
constexpr uint16_t kVarStartId = 0x55aa;
constexpr size_t kVarHeaderAlignment = 4;

Result Fail(Error& error, Result r, uint64_t offset) {
  error = Error{r, offset};
  return r;
}

bool GuidAt(Input file, size_t offset, const Guid& guid) {
  return file.size() >= offset + sizeof guid.bytes &&
         __builtin_memcmp(file.data() + offset, guid.bytes, sizeof guid.bytes) == 0;
}

bool StringsEqual(const char* a, const char* b) {
  while (*a != 0 && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

size_t AlignHeader(size_t offset) {
  return (offset + kVarHeaderAlignment - 1) & ~(kVarHeaderAlignment - 1);
}

struct KnownVariable {
  const char* name;
  const Guid* vendor;
};

constexpr KnownVariable kSignatureDatabases[] = {
    {"db", &kImageSecurityDatabaseGuid},  {"dbx", &kImageSecurityDatabaseGuid},
    {"dbt", &kImageSecurityDatabaseGuid}, {"dbr", &kImageSecurityDatabaseGuid},
    {"PK", &kGlobalVariableGuid},         {"KEK", &kGlobalVariableGuid},
    {"PKDefault", &kGlobalVariableGuid},  {"KEKDefault", &kGlobalVariableGuid},
    {"dbDefault", &kGlobalVariableGuid},  {"dbxDefault", &kGlobalVariableGuid},
    {"dbtDefault", &kGlobalVariableGuid}, {"dbrDefault", &kGlobalVariableGuid},
    {"MokList", &kShimLockGuid},          {"MokListRT", &kShimLockGuid},
    {"MokListX", &kShimLockGuid},         {"MokListXRT", &kShimLockGuid},
};

}  // namespace

const char* VariableFormatName(VariableFormat format) {
  switch (format) {
    case VariableFormat::Auto: return "auto";
    case VariableFormat::Esl: return "esl";
    case VariableFormat::Efivarfs: return "efivarfs";
    case VariableFormat::Auth: return "auth";
    case VariableFormat::VarStore: return "varstore";
  }
  return "unknown";
}

VariableFormat DetectVariableFormat(Input file) {
  if (file.size() >= kFvSignatureField + sizeof kFvSignature &&
      GuidAt(file, kFvGuidField, kSystemNvDataFvGuid) &&
      __builtin_memcmp(file.data() + kFvSignatureField, kFvSignature, sizeof kFvSignature) == 0) {
    return VariableFormat::VarStore;
  }
  if (GuidAt(file, kAuthCertGuidField, kCertTypePkcs7Guid) &&
      Le16(file.data() + kAuthRevisionField) == kWinCertRevision &&
      Le16(file.data() + kAuthCertTypeField) == kWinCertTypeEfiGuid) {
    return VariableFormat::Auth;
  }
  if (file.size() >= kAttributesSize) {
    const uint32_t attributes = Le32(file.data());
    if ((attributes & ~kVariableDefinedAttributes) == 0 &&
        (attributes & kVariableBootServiceAccess) != 0) {
      return VariableFormat::Efivarfs;
    }
  }
  return VariableFormat::Esl;
}

Result ParseEfivarfs(Input file, EfivarfsFile& out, Error& error) {
  if (file.size() < kAttributesSize) return Fail(error, Result::EfiVarTruncated, 0);
  out.attributes = Le32(file.data());
  if ((out.attributes & ~kVariableDefinedAttributes) != 0) {
    return Fail(error, Result::EfiVarBadAttributes, 0);
  }
  out.data = Input(file.data() + kAttributesSize, file.size() - kAttributesSize);
  out.data_offset = kAttributesSize;
  return Result::Success;
}

Result ParseAuthenticatedVariable(Input file, AuthenticatedVariable& out, Error& error) {
  if (file.size() < kAuthHeaderSize) return Fail(error, Result::Auth2Truncated, 0);
  const uint8_t* p = file.data();
  // Time-based authenticated writes carry a bare UTC time (UEFI 2.10 §8.2.2).
  for (size_t i = kAuthTimeZeroFieldsStart; i < kAuthTimeSize; ++i) {
    if (p[i] != 0) return Fail(error, Result::Auth2BadTimestamp, i);
  }
  out.timestamp = DecodeEfiTime(p);
  const uint32_t cert_length = Le32(p + kAuthLengthField);
  if (cert_length < kWinCertificateUefiGuidSize) {
    return Fail(error, Result::Auth2CertTooShort, kAuthLengthField);
  }
  if (cert_length > file.size() - kAuthTimeSize) {
    return Fail(error, Result::Auth2CertOverrun, kAuthLengthField);
  }
  if (Le16(p + kAuthRevisionField) != kWinCertRevision) {
    return Fail(error, Result::Auth2BadRevision, kAuthRevisionField);
  }
  if (Le16(p + kAuthCertTypeField) != kWinCertTypeEfiGuid) {
    return Fail(error, Result::Auth2BadCertType, kAuthCertTypeField);
  }
  if (!GuidAt(file, kAuthCertGuidField, kCertTypePkcs7Guid)) {
    return Fail(error, Result::Auth2NotPkcs7, kAuthCertGuidField);
  }
  out.pkcs7 = Input(p + kAuthHeaderSize, cert_length - kWinCertificateUefiGuidSize);
  // One DER SEQUENCE exactly filling CertData: bytes past it would be data nobody signed.
  der::Error der_error;
  der::Reader reader(out.pkcs7, &der_error);
  Input signed_data;
  if (reader.ReadRawElement(der::kSequence, signed_data) != Result::Success ||
      reader.ExpectEnd() != Result::Success) {
    return Fail(error, Result::Auth2BadPkcs7, kAuthHeaderSize + der_error.offset);
  }
  out.data_offset = kAuthTimeSize + cert_length;
  out.data = Input(p + out.data_offset, file.size() - out.data_offset);
  return Result::Success;
}

Result ParseVariableStore(Input file, VariableStore& out, Error& error) {
  if (file.size() < kFvMinHeaderSize) return Fail(error, Result::VarStoreTruncated, 0);
  const uint8_t* p = file.data();
  if (__builtin_memcmp(p + kFvSignatureField, kFvSignature, sizeof kFvSignature) != 0) {
    return Fail(error, Result::VarStoreBadFvSignature, kFvSignatureField);
  }
  if (!GuidAt(file, kFvGuidField, kSystemNvDataFvGuid)) {
    return Fail(error, Result::VarStoreNotNvData, kFvGuidField);
  }
  const uint64_t fv_length = Le64(p + kFvLengthField);
  if (fv_length > file.size()) return Fail(error, Result::VarStoreBadFvLength, kFvLengthField);
  const size_t header_length = Le16(p + kFvHeaderLengthField);
  if (header_length % 2 != 0 || header_length < kFvMinHeaderSize ||
      header_length + kStoreHeaderSize > fv_length) {
    return Fail(error, Result::VarStoreBadFvHeaderLength, kFvHeaderLengthField);
  }
  uint16_t checksum = 0;
  for (size_t i = 0; i < header_length; i += 2) {
    checksum = static_cast<uint16_t>(checksum + Le16(p + i));
  }
  if (checksum != 0) return Fail(error, Result::VarStoreBadFvChecksum, kFvChecksumField);

  const size_t store = header_length;
  if (!GuidAt(file, store, kAuthenticatedVariableStoreGuid)) {
    return Fail(error, Result::VarStoreNotAuthenticated, store);
  }
  if (p[store + kStoreFormatField] != kStoreFormatted) {
    return Fail(error, Result::VarStoreBadFormat, store + kStoreFormatField);
  }
  if (p[store + kStoreStateField] != kStoreHealthy) {
    return Fail(error, Result::VarStoreNotHealthy, store + kStoreStateField);
  }
  const uint32_t store_size = Le32(p + store + kStoreSizeField);
  if (store_size < kStoreHeaderSize || store_size > fv_length - store) {
    return Fail(error, Result::VarStoreBadSize, store + kStoreSizeField);
  }
  out.fv = Input(p, static_cast<size_t>(fv_length));
  out.variables_end = store + store_size;
  const size_t first = AlignHeader(store + kStoreHeaderSize);
  out.variables_offset = first < out.variables_end ? first : out.variables_end;
  return Result::Success;
}

bool VariableStoreReader::AtEnd() const {
  if (store_.variables_end - cursor_ < sizeof kVarStartId) return true;
  return Le16(store_.fv.data() + cursor_) != kVarStartId;
}

Result VariableStoreReader::Next(StoredVariable& out, Error& error) {
  if (AtEnd()) return Fail(error, Result::InvalidArgument, cursor_);
  const size_t remaining = store_.variables_end - cursor_;
  const uint8_t* header = store_.fv.data() + cursor_;
  if (remaining < kVarHeaderSize) return Fail(error, Result::VarStoreVariableOverrun, cursor_);
  const uint32_t name_size = Le32(header + kVarNameSizeField);
  const uint32_t data_size = Le32(header + kVarDataSizeField);
  if (name_size > remaining - kVarHeaderSize) {
    return Fail(error, Result::VarStoreVariableOverrun, cursor_ + kVarNameSizeField);
  }
  if (data_size > remaining - kVarHeaderSize - name_size) {
    return Fail(error, Result::VarStoreVariableOverrun, cursor_ + kVarDataSizeField);
  }
  out.state = header[kVarStateField];
  out.attributes = Le32(header + kVarAttributesField);
  __builtin_memcpy(out.vendor.bytes, header + kVarVendorField, sizeof out.vendor.bytes);
  out.name = Input(header + kVarHeaderSize, name_size);
  out.data = Input(header + kVarHeaderSize + name_size, data_size);
  out.header_offset = cursor_;
  out.data_offset = cursor_ + kVarHeaderSize + name_size;
  if (out.live() &&
      (name_size < 2 || name_size % 2 != 0 || Le16(out.name.data() + name_size - 2) != 0)) {
    return Fail(error, Result::VarStoreBadVariableName, cursor_ + kVarNameSizeField);
  }
  const size_t next = AlignHeader(out.data_offset + data_size);
  cursor_ = next < store_.variables_end ? next : store_.variables_end;
  return Result::Success;
}

bool VariableNameIs(Input utf16_name, const char* ascii) {
  size_t i = 0;
  for (; ascii[i] != 0; ++i) {
    if (2 * i + 2 > utf16_name.size()) return false;
    if (Le16(utf16_name.data() + 2 * i) != static_cast<uint8_t>(ascii[i])) return false;
  }
  return utf16_name.size() == 2 * i + 2 && Le16(utf16_name.data() + 2 * i) == 0;
}

Result FindVariable(const VariableStore& store, const char* name, const Guid& vendor,
                    StoredVariable& out, Error& error) {
  VariableStoreReader reader(store);
  StoredVariable variable;
  bool found = false;
  while (!reader.AtEnd()) {
    HVSIG_TRY(reader.Next(variable, error));
    if (!variable.live() || !(variable.vendor == vendor) || !VariableNameIs(variable.name, name)) {
      continue;
    }
    if (found) return Fail(error, Result::VarStoreDuplicateVariable, variable.header_offset);
    out = variable;
    found = true;
  }
  if (!found) return Fail(error, Result::VarStoreVariableNotFound, store.variables_offset);
  return Result::Success;
}

const Guid* SignatureDatabaseVendor(const char* name) {
  for (const KnownVariable& known : kSignatureDatabases) {
    if (StringsEqual(known.name, name)) return known.vendor;
  }
  return nullptr;
}

Result OpenSignatureDatabase(Input file, VariableFormat format, const char* variable,
                             SignatureDatabase& out, Error& error) {
  out.format = format == VariableFormat::Auto ? DetectVariableFormat(file) : format;
  switch (out.format) {
    case VariableFormat::Auto:  // DetectVariableFormat never answers Auto
      break;
    case VariableFormat::Esl:
      out.lists = file;
      out.lists_offset = 0;
      return Result::Success;
    case VariableFormat::Efivarfs: {
      EfivarfsFile efivarfs;
      HVSIG_TRY(ParseEfivarfs(file, efivarfs, error));
      out.lists = efivarfs.data;
      out.lists_offset = efivarfs.data_offset;
      return Result::Success;
    }
    case VariableFormat::Auth: {
      AuthenticatedVariable auth;
      HVSIG_TRY(ParseAuthenticatedVariable(file, auth, error));
      out.lists = auth.data;
      out.lists_offset = auth.data_offset;
      return Result::Success;
    }
    case VariableFormat::VarStore: {
      const Guid* vendor = variable != nullptr ? SignatureDatabaseVendor(variable) : nullptr;
      if (vendor == nullptr) return Fail(error, Result::InvalidArgument, 0);
      VariableStore store;
      HVSIG_TRY(ParseVariableStore(file, store, error));
      StoredVariable stored;
      HVSIG_TRY(FindVariable(store, variable, *vendor, stored, error));
      out.lists = stored.data;
      out.lists_offset = stored.data_offset;
      return Result::Success;
    }
  }
  return Fail(error, Result::InvalidArgument, 0);
}

}  // namespace hvsig::efi
