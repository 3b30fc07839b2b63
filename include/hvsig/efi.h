// UEFI signature databases: EFI_SIGNATURE_LIST parsing (UEFI 2.10 §32.4.1) and the containers
// they travel in (efivarfs files, EFI_VARIABLE_AUTHENTICATION_2 `.auth` files, edk2/OVMF NV
// variable stores). In the style of mozilla::pkix's readers: the core copies nothing and
// allocates nothing; every entry is a view into the caller's bytes, and keyrings are built by
// the caller into storage it sizes.
//
// Every structural check has its own Result and reports the byte offset of the field at
// fault, counted from the first byte of the file the caller handed in.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hvsig/crypto.h"
#include "hvsig/input.h"
#include "hvsig/result.h"
#include "hvsig/x509.h"

namespace hvsig::efi {

// An EFI_GUID as stored: Data1, Data2, Data3 little-endian, then Data4's eight bytes.
struct Guid {
  uint8_t bytes[16];

  bool operator==(const Guid& other) const {
    return __builtin_memcmp(bytes, other.bytes, sizeof bytes) == 0;
  }
};

// Builds the stored form from the spec's {Data1, Data2, Data3, {Data4}} notation, so the
// constants below read exactly like the edk2 definitions they come from.
constexpr Guid MakeGuid(uint32_t d1, uint16_t d2, uint16_t d3, uint8_t a, uint8_t b, uint8_t c,
                        uint8_t d, uint8_t e, uint8_t f, uint8_t g, uint8_t h) {
  return Guid{{static_cast<uint8_t>(d1), static_cast<uint8_t>(d1 >> 8),
               static_cast<uint8_t>(d1 >> 16), static_cast<uint8_t>(d1 >> 24),
               static_cast<uint8_t>(d2), static_cast<uint8_t>(d2 >> 8), static_cast<uint8_t>(d3),
               static_cast<uint8_t>(d3 >> 8), a, b, c, d, e, f, g, h}};
}

// Signature types (edk2 MdePkg/Include/Guid/ImageAuthentication.h).
inline constexpr Guid kCertSha1Guid =
    MakeGuid(0x826ca512, 0xcf10, 0x4ac9, 0xb1, 0x87, 0xbe, 0x01, 0x49, 0x66, 0x31, 0xbd);
inline constexpr Guid kCertSha224Guid =
    MakeGuid(0x0b6e5233, 0xa65c, 0x44c9, 0x94, 0x07, 0xd9, 0xab, 0x83, 0xbf, 0xc8, 0xbd);
inline constexpr Guid kCertSha256Guid =
    MakeGuid(0xc1c41626, 0x504c, 0x4092, 0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28);
inline constexpr Guid kCertSha384Guid =
    MakeGuid(0xff3e5307, 0x9fd0, 0x48c9, 0x85, 0xf1, 0x8a, 0xd5, 0x6c, 0x70, 0x1e, 0x01);
inline constexpr Guid kCertSha512Guid =
    MakeGuid(0x093e0fae, 0xa6c4, 0x4f50, 0x9f, 0x1b, 0xd4, 0x1e, 0x2b, 0x89, 0xc1, 0x9a);
inline constexpr Guid kCertX509Guid =
    MakeGuid(0xa5c059a1, 0x94e4, 0x4aa7, 0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72);
inline constexpr Guid kCertX509Sha256Guid =
    MakeGuid(0x3bd2a492, 0x96c0, 0x4079, 0xb4, 0x20, 0xfc, 0xf9, 0x8e, 0xf1, 0x03, 0xed);
inline constexpr Guid kCertX509Sha384Guid =
    MakeGuid(0x7076876e, 0x80c2, 0x4ee6, 0xaa, 0xd2, 0x28, 0xb3, 0x49, 0xa6, 0x86, 0x5b);
inline constexpr Guid kCertX509Sha512Guid =
    MakeGuid(0x446dbf63, 0x2502, 0x4cda, 0xbc, 0xfa, 0x24, 0x65, 0xd2, 0xb0, 0xfe, 0x9d);
inline constexpr Guid kCertRsa2048Guid =
    MakeGuid(0x3c5766e8, 0x269c, 0x4e34, 0xaa, 0x14, 0xed, 0x77, 0x6e, 0x85, 0xb3, 0xb6);
inline constexpr Guid kCertRsa2048Sha256Guid =
    MakeGuid(0xe2b36190, 0x879b, 0x4a3d, 0xad, 0x8d, 0xf2, 0xe7, 0xbb, 0xa3, 0x27, 0x84);
inline constexpr Guid kCertRsa2048Sha1Guid =
    MakeGuid(0x67f8444f, 0x8743, 0x48f1, 0xa3, 0x28, 0x1e, 0xaa, 0xb8, 0x73, 0x60, 0x80);
// WIN_CERTIFICATE_UEFI_GUID.CertType of an EFI_VARIABLE_AUTHENTICATION_2.
inline constexpr Guid kCertTypePkcs7Guid =
    MakeGuid(0x4aafd29d, 0x68df, 0x49ee, 0x8a, 0xa9, 0x34, 0x7d, 0x37, 0x56, 0x65, 0xa7);

// Vendor GUIDs of the signature-database variables.
inline constexpr Guid kGlobalVariableGuid =  // PK, KEK, *Default
    MakeGuid(0x8be4df61, 0x93ca, 0x11d2, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c);
inline constexpr Guid kImageSecurityDatabaseGuid =  // db, dbx, dbt, dbr
    MakeGuid(0xd719b2cb, 0x3d3a, 0x4596, 0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f);
inline constexpr Guid kShimLockGuid =  // MokList, MokListX and their RT mirrors
    MakeGuid(0x605dab50, 0xe046, 0x4300, 0xab, 0xb6, 0x3d, 0xd8, 0x10, 0xdd, 0x8b, 0x23);

// Firmware-volume and variable-store signatures (edk2 SystemNvDataGuid.h, VariableFormat.h).
inline constexpr Guid kSystemNvDataFvGuid =
    MakeGuid(0xfff12b8d, 0x7696, 0x4c8b, 0xa9, 0x85, 0x27, 0x47, 0x07, 0x5b, 0x4f, 0x50);
inline constexpr Guid kAuthenticatedVariableStoreGuid =
    MakeGuid(0xaaf32c78, 0x947b, 0x439a, 0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92);

// ---- EFI_SIGNATURE_LIST -------------------------------------------------------------------

enum class SignatureType : uint8_t {
  Unknown,  // a type GUID this parser does not know: never a certificate nor a hash
  Sha1,
  Sha224,
  Sha256,
  Sha384,
  Sha512,
  X509,        // a DER certificate (parsed)
  X509Sha256,  // TBSCertificate hash + revocation time
  X509Sha384,
  X509Sha512,
  Rsa2048,        // a 2048-bit modulus (exponent 65537)
  Rsa2048Sha256,  // a PKCS#1 signature of a SHA-256 hash
  Rsa2048Sha1,
};

// Short names for reports: "sha256", "x509", "x509-sha256", "rsa2048-sha1", "unknown".
const char* SignatureTypeName(SignatureType type);
// The digest algorithm of an image-hash entry (Sha*) or of a TBS-hash entry (X509Sha*);
// false for the other types.
bool SignatureTypeDigest(SignatureType type, DigestAlg& alg);
// X509Sha256/384/512: a revoked certificate named by the hash of its TBSCertificate.
bool IsTbsHashType(SignatureType type);

// EFI_TIME (UEFI 2.10 §8.3), decoded field by field; no field is range-checked.
struct EfiTime {
  uint16_t year;
  uint8_t month;
  uint8_t day;
  uint8_t hour;
  uint8_t minute;
  uint8_t second;
  uint32_t nanosecond;
  int16_t time_zone;
  uint8_t daylight;
};

struct SignatureEntry {
  SignatureType type;
  Guid type_guid;  // the list's SignatureType as stored (names an Unknown entry's type)
  Guid owner;      // SignatureOwner
  Input data;      // SignatureData: SignatureSize - 16 bytes
  // Sha*: the image hash. X509Sha*: the TBSCertificate hash. Empty for other types.
  Input hash;
  // X509Sha* only: from when the certificate counts as revoked (all zero: always).
  EfiTime revocation_time;
  Certificate certificate;  // X509 only: data parsed, views into data
  uint64_t list_offset;     // of the entry's EFI_SIGNATURE_LIST
  uint64_t entry_offset;    // of the entry's EFI_SIGNATURE_DATA (its SignatureOwner)
};

// Reads concatenated EFI_SIGNATURE_LISTs, one entry per Next():
//
//   SignatureListReader reader(provider, lists, lists_offset);
//   while (!reader.AtEnd()) {
//     HVSIG_TRY(reader.Next(entry, error));
//     ...
//   }
//
// Each list's header is checked when the reader enters it, each entry when it is read, so a
// failure may come after entries were returned: callers that must not act on part of a
// database validate it first (ValidateSignatureLists) or discard what they built. After a
// failure Next() keeps returning it.
//
// Checks, in order, each with its own Result:
//   fewer than 28 bytes left for a header        EslTruncated
//   SignatureListSize < 28 (including 0)          EslListSizeTooSmall
//   SignatureListSize past the end of the input   EslListOverrun
//   SignatureHeaderSize past SignatureListSize    EslHeaderSizeOverrun
//   SignatureHeaderSize != 0 for a known type     EslBadHeaderSize
//   SignatureSize <= 16 (no room past the owner)  EslSignatureSizeTooSmall
//   signature bytes not a multiple of the size    EslSizeNotMultiple
//   a list without any signature                  EslNoEntries
//   a fixed-size type with another SignatureSize  EslBadSignatureSize
//   an X.509 entry that ParseCertificate refuses  EslBadCertificate (certificate_error() has
//                                                 the parser's Result; the offset is the
//                                                 failing DER element's)
// Unknown type GUIDs only get the generic checks and are returned as SignatureType::Unknown.
class SignatureListReader {
 public:
  // base_offset: the file offset of lists[0], added to every offset reported.
  SignatureListReader(const CryptoProvider& provider, Input lists, uint64_t base_offset = 0)
      : provider_(&provider), lists_(lists), base_(base_offset) {}

  bool AtEnd() const {
    return failure_ == Result::Success && next_entry_ == list_end_ && list_end_ == lists_.size();
  }
  Result Next(SignatureEntry& entry, Error& error);
  // The ParseCertificate Result behind an EslBadCertificate.
  Result certificate_error() const { return certificate_error_; }

 private:
  Result EnterList(Error& error);
  Result Fail(Result r, uint64_t offset, Error& error);

  const CryptoProvider* provider_;
  Input lists_;
  uint64_t base_;
  size_t list_start_ = 0;
  size_t list_end_ = 0;    // end of the current list
  size_t next_entry_ = 0;  // next EFI_SIGNATURE_DATA of the current list
  uint32_t signature_size_ = 0;
  SignatureType type_ = SignatureType::Unknown;
  Result failure_ = Result::Success;
  Error failure_error_;
  Result certificate_error_ = Result::Success;
};

// Reads every entry; count gets their number. Success means the whole input is well formed.
Result ValidateSignatureLists(const CryptoProvider& provider, Input lists, uint64_t base_offset,
                              size_t& count, Error& error);

// ---- Containers ---------------------------------------------------------------------------

enum class VariableFormat : uint8_t {
  Auto,      // DetectVariableFormat decides
  Esl,       // bare EFI_SIGNATURE_LISTs
  Efivarfs,  // a file of /sys/firmware/efi/efivars: 4-byte attributes, then the data
  Auth,      // EFI_VARIABLE_AUTHENTICATION_2, then the data (sign-efi-sig-list's .auth)
  VarStore,  // an edk2 NV variable store firmware volume (OVMF_VARS*.fd)
};

const char* VariableFormatName(VariableFormat format);  // "auto", "esl", "efivarfs", ...

// EFI_VARIABLE_* attribute bits (UEFI 2.10 §8.2).
constexpr uint32_t kVariableBootServiceAccess = 0x02;
constexpr uint32_t kVariableDefinedAttributes = 0xff;

// The format of a file, decided by its first bytes, first rule that matches:
//  1. VarStore: EFI_SYSTEM_NV_DATA_FV_GUID at offset 16 and "_FVH" at offset 40;
//  2. Auth: a WIN_CERTIFICATE header at offset 16 with wRevision 0x0200, wCertificateType
//     WIN_CERT_TYPE_EFI_GUID and CertType EFI_CERT_TYPE_PKCS7_GUID;
//  3. Efivarfs: the first 32-bit word has only defined attribute bits (0xff) and includes
//     BOOTSERVICE_ACCESS, which every variable readable from an OS has;
//  4. Esl otherwise.
// Rule 3 cannot take a bare list of a standard type for efivarfs: the list starts with the
// type GUID, whose Data1 is above 0xff for every type above. The rules before it read fields
// that, in a bare list or an efivarfs file, are sizes (SignatureHeaderSize or
// SignatureListSize 0x0ef10200 for rule 2) or certificate bytes.
VariableFormat DetectVariableFormat(Input file);

struct EfivarfsFile {
  uint32_t attributes;
  Input data;
  uint64_t data_offset;  // always 4
};
// EfiVarTruncated under 4 bytes, EfiVarBadAttributes for bits outside 0xff.
Result ParseEfivarfs(Input file, EfivarfsFile& out, Error& error);

// EFI_VARIABLE_AUTHENTICATION_2 and the variable data after it. The PKCS#7 is located and
// checked to be one DER SEQUENCE, not verified: the firmware verifies it against KEK/PK
// when the variable is written; the keyring trusts the data as an ESL file.
struct AuthenticatedVariable {
  EfiTime timestamp;
  Input pkcs7;  // WIN_CERTIFICATE_UEFI_GUID.CertData
  Input data;
  uint64_t data_offset;
};
// Auth2Truncated (under 40 bytes), Auth2BadTimestamp (Pad1, Nanosecond, TimeZone, Daylight,
// Pad2 not zero, as the spec requires), Auth2CertTooShort (dwLength < 24), Auth2CertOverrun,
// Auth2BadRevision, Auth2BadCertType, Auth2NotPkcs7 (CertType), Auth2BadPkcs7.
Result ParseAuthenticatedVariable(Input file, AuthenticatedVariable& out, Error& error);

// An edk2 firmware volume holding an authenticated variable store.
struct VariableStore {
  Input fv;                 // the firmware volume: FvLength bytes
  size_t variables_offset;  // the first AUTHENTICATED_VARIABLE_HEADER
  size_t variables_end;     // end of the variable store
};
// Checks, in order: VarStoreTruncated (no room for the FV header), VarStoreBadFvSignature
// ("_FVH"), VarStoreNotNvData (FileSystemGuid), VarStoreBadFvLength (FvLength past the
// file), VarStoreBadFvHeaderLength (odd, no room for the block map terminator, or no room
// for the store header before FvLength), VarStoreBadFvChecksum (16-bit sum of the
// header not zero), VarStoreNotAuthenticated (store signature), VarStoreBadFormat (Format
// not 0x5a), VarStoreNotHealthy (State not 0xfe), VarStoreBadSize (store Size smaller than
// its header or past FvLength).
Result ParseVariableStore(Input file, VariableStore& out, Error& error);

// AUTHENTICATED_VARIABLE_HEADER.State: only VAR_ADDED variables are live. edk2 also revives a
// variable caught mid-update (VAR_ADDED & VAR_IN_DELETED_TRANSITION) when no live copy
// exists; hvsig reads firmware images at rest and treats that state as deleted.
constexpr uint8_t kVariableAdded = 0x3f;

struct StoredVariable {
  uint8_t state;
  uint32_t attributes;
  Guid vendor;
  Input name;  // UTF-16LE with its terminating NUL (checked for live variables only)
  Input data;
  uint64_t header_offset;
  uint64_t data_offset;
  bool live() const { return state == kVariableAdded; }
};

// Walks the store's variables in order, live or not, until a header whose StartId is not
// 0x55AA (erased flash) or the end of the store. VarStoreVariableOverrun if a header, its
// name or its data runs past the store; VarStoreBadVariableName if a live variable's name is
// empty, of odd size or not NUL-terminated.
class VariableStoreReader {
 public:
  explicit VariableStoreReader(const VariableStore& store)
      : store_(store), cursor_(store.variables_offset) {}
  bool AtEnd() const;
  Result Next(StoredVariable& out, Error& error);

 private:
  const VariableStore& store_;
  size_t cursor_;
};

// Whether a variable's UTF-16LE name (with NUL) is the ASCII string ascii.
bool VariableNameIs(Input utf16_name, const char* ascii);

// The live variable named `name` under `vendor`. VarStoreVariableNotFound if none,
// VarStoreDuplicateVariable if two live copies exist (the store is ambiguous).
Result FindVariable(const VariableStore& store, const char* name, const Guid& vendor,
                    StoredVariable& out, Error& error);

// The vendor GUID of a signature-database variable: db, dbx, dbt, dbr (image security
// database), PK, KEK and their *Default copies (global), MokList, MokListRT, MokListX,
// MokListXRT (shim). Null for any other name.
const Guid* SignatureDatabaseVendor(const char* name);

// The signature lists in a file of any format above.
struct SignatureDatabase {
  VariableFormat format;  // as detected when asked for Auto
  Input lists;
  uint64_t lists_offset;
};
// variable names the store variable to read (VarStore only; ignored otherwise):
// InvalidArgument if it is null or not a signature-database name.
Result OpenSignatureDatabase(Input file, VariableFormat format, const char* variable,
                             SignatureDatabase& out, Error& error);

}  // namespace hvsig::efi
