// EFI signature lists and their containers against files made at test time by the tools that
// make them in practice: efitools' cert-to-efi-sig-list and sign-efi-sig-list, pesign's
// efisiglist (hash entries; efitools' hash-to-efi-sig-list is not trusted, references §5).
// Types those tools cannot write are built here byte by byte from the UEFI layout. Every
// malformed class is a mutation of a good file. Debian's OVMF variable stores ("*Ovmf*",
// fixture debian_ovmf) are cross-checked against an independent scan: OpenSSL finds every
// DER certificate in the file, a name search finds each variable. "*Cli*" tests run hvsig.
#include "hvsig/efi.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "hvsig/crypto_builtin.h"
#include "test_support.h"

#ifdef HVSIG_TOOL
#include <nlohmann/json.hpp>
#endif

namespace hvsig::efi {
namespace {

using namespace hvsig::test;

const CryptoProvider& Provider() {
  static const CryptoProvider provider = MakeBuiltinProvider(HostedVectorUnitHooks());
  return provider;
}

// "11111111-2222-3333-4444-555555555555" in EFI_GUID storage order, written independently of
// MakeGuid: the first three groups little-endian, the last two as they read.
Bytes GuidBytes(const std::string& text) {
  std::string hex;
  for (char c : text) {
    if (c != '-') hex += c;
  }
  Bytes b = FromHex(hex);
  std::reverse(b.begin(), b.begin() + 4);
  std::reverse(b.begin() + 4, b.begin() + 6);
  std::reverse(b.begin() + 6, b.begin() + 8);
  return b;
}
Bytes GuidBytes(const Guid& guid) { return Bytes(guid.bytes, guid.bytes + 16); }

// A scratch directory per test process, removed at exit.
const std::string& WorkDir() {
  struct Dir {
    std::string path;
    Dir() {
      std::string pattern = ::testing::TempDir() + "hvsig_efi_XXXXXX";
      path = mkdtemp(pattern.data()) != nullptr ? pattern : std::string();
    }
    ~Dir() {
      if (!path.empty()) {
        std::string command = "rm -rf '" + path + "'";
        if (system(command.c_str()) != 0) fprintf(stderr, "could not remove %s\n", path.c_str());
      }
    }
  };
  static Dir dir;
  return dir.path;
}
std::string Path(const std::string& name) { return WorkDir() + "/" + name; }

// What OpenSSL says about a certificate.
struct OpensslView {
  std::string subject;  // RFC 2253, as `openssl x509 -nameopt RFC2253`
  std::string sha256;   // lowercase hex of SHA-256 over the DER
};

OpensslView ViewOf(const Bytes& der) {
  OpensslView view;
  const unsigned char* p = der.data();
  X509* x509 = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  EXPECT_NE(x509, nullptr);
  if (x509 == nullptr) return view;
  view.subject = OpenSslSubject(x509);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_length = 0;
  X509_digest(x509, EVP_sha256(), md, &md_length);
  view.sha256 = Hex(Input(md, md_length));
  X509_free(x509);
  return view;
}

// A certificate made by the openssl CLI, with what the CLI prints about it.
struct TestCert {
  std::string pem_path;
  std::string key_path;
  Bytes der;
  std::string subject;      // `openssl x509 -subject -nameopt RFC2253`
  std::string fingerprint;  // `openssl x509 -fingerprint -sha256`, lowercase, no colons
};

TestCert MakeCert(const std::string& name, const std::string& subject) {
  TestCert cert;
  cert.pem_path = Path(name + ".pem");
  cert.key_path = Path(name + ".key");
  Shell("openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj '" + subject + "' -keyout '" +
        cert.key_path + "' -out '" + cert.pem_path + "' 2>/dev/null");
  Shell("openssl x509 -in '" + cert.pem_path + "' -outform der -out '" + Path(name + ".der") + "'");
  cert.der = ReadFile(Path(name + ".der"));
  const std::string subject_line =
      Trim(Shell("openssl x509 -in '" + cert.pem_path + "' -noout -subject -nameopt RFC2253"));
  cert.subject = subject_line.substr(subject_line.find('=') + 1);
  const std::string fingerprint_line =
      Trim(Shell("openssl x509 -in '" + cert.pem_path + "' -noout -fingerprint -sha256"));
  for (char c : Lower(fingerprint_line.substr(fingerprint_line.find('=') + 1))) {
    if (c != ':') cert.fingerprint += c;
  }
  return cert;
}

constexpr char kOwnerText[] = "11111111-2222-3333-4444-555555555555";

// cert-to-efi-sig-list's list for cert, owned by kOwnerText.
Bytes CertEsl(const TestCert& cert, const std::string& name) {
  Shell("cert-to-efi-sig-list -g " + std::string(kOwnerText) + " '" + cert.pem_path + "' '" +
        Path(name) + "'");
  return ReadFile(Path(name));
}

// efisiglist's list holding one hash.
Bytes HashEsl(const std::string& type, const Bytes& hash, const std::string& name) {
  Shell("efisiglist -a -t " + type + " -h " + Hex(In(hash)) + " -o '" + Path(name) + "'");
  return ReadFile(Path(name));
}

// One EFI_SIGNATURE_LIST written from the UEFI layout: SignatureType, ListSize, HeaderSize,
// SignatureSize, header bytes, then owner || data per entry.
Bytes BuildList(const Guid& type, uint32_t header_size, const std::vector<Bytes>& data,
                const Bytes& owner) {
  const uint32_t signature_size = static_cast<uint32_t>(16 + (data.empty() ? 0 : data[0].size()));
  Bytes list(28, 0);
  std::copy(type.bytes, type.bytes + 16, list.begin());
  PutLe32(list, 16, static_cast<uint32_t>(28 + header_size + data.size() * signature_size));
  PutLe32(list, 20, header_size);
  PutLe32(list, 24, signature_size);
  list.insert(list.end(), header_size, 0xa5);
  for (const Bytes& entry : data) {
    list.insert(list.end(), owner.begin(), owner.end());
    list.insert(list.end(), entry.begin(), entry.end());
  }
  return list;
}

struct Listing {
  Result result = Result::Success;
  Error error;
  Result certificate_error = Result::Success;
  std::vector<SignatureEntry> entries;
};

Listing ReadAll(Input lists, uint64_t base = 0) {
  Listing out;
  SignatureListReader reader(Provider(), lists, base);
  while (!reader.AtEnd()) {
    SignatureEntry entry;
    out.result = reader.Next(entry, out.error);
    if (out.result != Result::Success) {
      out.certificate_error = reader.certificate_error();
      return out;
    }
    out.entries.push_back(entry);
  }
  return out;
}

// Opens file as the container it is detected to be (`variable` of a store) and lists it.
Listing OpenAndReadAll(const Bytes& file, const char* variable, VariableFormat expected_format,
                       SignatureDatabase& database) {
  Listing listing;
  listing.result =
      OpenSignatureDatabase(In(file), VariableFormat::Auto, variable, database, listing.error);
  if (listing.result != Result::Success) return listing;
  EXPECT_EQ(database.format, expected_format);
  return ReadAll(database.lists, database.lists_offset);
}

void ExpectCertEntry(const SignatureEntry& entry, const TestCert& cert) {
  EXPECT_EQ(entry.type, SignatureType::X509);
  EXPECT_EQ(GuidBytes(entry.owner), GuidBytes(kOwnerText));
  EXPECT_EQ(Bytes(entry.data.begin(), entry.data.end()), cert.der);
  EXPECT_EQ(entry.certificate.der, entry.data);
  EXPECT_EQ(FormatNameString(entry.certificate.subject), cert.subject);
  uint8_t fingerprint[32];
  ASSERT_EQ(DigestOnce(Provider(), DigestAlg::Sha256, entry.data, fingerprint), Result::Success);
  EXPECT_EQ(Hex(Input(fingerprint, 32)), cert.fingerprint);
  EXPECT_TRUE(entry.hash.empty());
}

// ---- Lists made by efitools and pesign ----------------------------------------------------

TEST(EslEfitools, CertToEfiSigListHoldsTheCertificate) {
  const TestCert cert = MakeCert("db1", "/CN=hvsig test db/O=hvsig tests/C=DE");
  const Bytes esl = CertEsl(cert, "db1.esl");
  ASSERT_FALSE(esl.empty());
  EXPECT_EQ(DetectVariableFormat(In(esl)), VariableFormat::Esl);
  const Listing listing = ReadAll(In(esl));
  ASSERT_EQ(listing.result, Result::Success) << ResultName(listing.error.result);
  ASSERT_EQ(listing.entries.size(), 1u);
  ExpectCertEntry(listing.entries[0], cert);
  EXPECT_EQ(listing.entries[0].list_offset, 0u);
  EXPECT_EQ(listing.entries[0].entry_offset, 28u);
  EXPECT_EQ(GuidBytes(listing.entries[0].type_guid),
            GuidBytes("a5c059a1-94e4-4aa7-87b5-ab155c2bf072"));
  size_t count = 0;
  Error error;
  EXPECT_EQ(ValidateSignatureLists(Provider(), In(esl), 0, count, error), Result::Success);
  EXPECT_EQ(count, 1u);
}

TEST(EslEfitools, SignEfiSigListAuthCarriesTheListAndTimestamp) {
  const TestCert cert = MakeCert("kek", "/CN=hvsig test KEK");
  const Bytes esl = CertEsl(cert, "db.esl");
  Shell("sign-efi-sig-list -t '2024-02-03 04:05:06' -g " + std::string(kOwnerText) + " -k '" +
        cert.key_path + "' -c '" + cert.pem_path + "' db '" + Path("db.esl") + "' '" +
        Path("db.auth") + "' >/dev/null");
  const Bytes auth = ReadFile(Path("db.auth"));
  ASSERT_GT(auth.size(), esl.size());
  EXPECT_EQ(DetectVariableFormat(In(auth)), VariableFormat::Auth);

  AuthenticatedVariable parsed;
  Error error;
  ASSERT_EQ(ParseAuthenticatedVariable(In(auth), parsed, error), Result::Success)
      << ResultName(error.result) << " at " << error.offset;
  EXPECT_EQ(parsed.timestamp.year, 2024);
  EXPECT_EQ(parsed.timestamp.month, 2);
  EXPECT_EQ(parsed.timestamp.day, 3);
  EXPECT_EQ(parsed.timestamp.hour, 4);
  EXPECT_EQ(parsed.timestamp.minute, 5);
  EXPECT_EQ(parsed.timestamp.second, 6);
  const uint32_t dw_length = GetLe32(auth, 16);
  EXPECT_EQ(parsed.pkcs7.size(), dw_length - 24u);
  EXPECT_EQ(parsed.pkcs7.data(), auth.data() + 40);
  EXPECT_EQ(parsed.data_offset, 16u + dw_length);
  EXPECT_EQ(Bytes(parsed.data.begin(), parsed.data.end()), esl);

  SignatureDatabase database;
  const Listing listing = OpenAndReadAll(auth, nullptr, VariableFormat::Auth, database);
  ASSERT_EQ(listing.result, Result::Success)
      << ResultName(listing.error.result) << " at " << listing.error.offset;
  ASSERT_EQ(listing.entries.size(), 1u);
  ExpectCertEntry(listing.entries[0], cert);
  EXPECT_EQ(listing.entries[0].entry_offset, 16u + dw_length + 28);
}

TEST(EslPesign, EfisiglistHashEntriesHoldTheHashesGiven) {
  const Bytes sha256 = RandomBytes(32);
  const Bytes sha1 = RandomBytes(20);
  const Bytes sha256_list = HashEsl("sha256", sha256, "h256.esl");
  const Bytes sha1_list = HashEsl("sha1", sha1, "h1.esl");
  const TestCert cert = MakeCert("mixed", "/CN=hvsig mixed");
  const Bytes cert_list = CertEsl(cert, "mixed.esl");
  // A dbx-like database: several lists back to back.
  const Bytes lists = Concat({sha256_list, cert_list, sha1_list});
  EXPECT_EQ(DetectVariableFormat(In(lists)), VariableFormat::Esl);
  const Listing listing = ReadAll(In(lists));
  ASSERT_EQ(listing.result, Result::Success) << ResultName(listing.error.result);
  ASSERT_EQ(listing.entries.size(), 3u);

  EXPECT_EQ(listing.entries[0].type, SignatureType::Sha256);
  EXPECT_EQ(Bytes(listing.entries[0].hash.begin(), listing.entries[0].hash.end()), sha256);
  EXPECT_EQ(listing.entries[0].data, listing.entries[0].hash);
  ExpectCertEntry(listing.entries[1], cert);
  EXPECT_EQ(listing.entries[1].list_offset, sha256_list.size());
  EXPECT_EQ(listing.entries[2].type, SignatureType::Sha1);
  EXPECT_EQ(Bytes(listing.entries[2].hash.begin(), listing.entries[2].hash.end()), sha1);
  EXPECT_EQ(listing.entries[2].list_offset, sha256_list.size() + cert_list.size());
  DigestAlg alg;
  ASSERT_TRUE(SignatureTypeDigest(listing.entries[2].type, alg));
  EXPECT_EQ(alg, DigestAlg::Sha1);
}

// ---- Types no tool writes: built from the layout ------------------------------------------

struct TypeCase {
  Guid guid;
  SignatureType type;
  size_t data_size;
  size_t hash_size;  // 0: not a hash type
  const char* name;
};

const TypeCase kTypeCases[] = {
    {kCertSha1Guid, SignatureType::Sha1, 20, 20, "sha1"},
    {kCertSha224Guid, SignatureType::Sha224, 28, 28, "sha224"},
    {kCertSha256Guid, SignatureType::Sha256, 32, 32, "sha256"},
    {kCertSha384Guid, SignatureType::Sha384, 48, 48, "sha384"},
    {kCertSha512Guid, SignatureType::Sha512, 64, 64, "sha512"},
    {kCertX509Sha256Guid, SignatureType::X509Sha256, 48, 32, "x509-sha256"},
    {kCertX509Sha384Guid, SignatureType::X509Sha384, 64, 48, "x509-sha384"},
    {kCertX509Sha512Guid, SignatureType::X509Sha512, 80, 64, "x509-sha512"},
    {kCertRsa2048Guid, SignatureType::Rsa2048, 256, 0, "rsa2048"},
    {kCertRsa2048Sha256Guid, SignatureType::Rsa2048Sha256, 256, 0, "rsa2048-sha256"},
    {kCertRsa2048Sha1Guid, SignatureType::Rsa2048Sha1, 256, 0, "rsa2048-sha1"},
};

TEST(EslBuilt, EveryFixedSizeStandardTypeParsesWithItsValues) {
  const Bytes owner = RandomBytes(16);
  for (const TypeCase& c : kTypeCases) {
    SCOPED_TRACE(c.name);
    std::vector<Bytes> data = {RandomBytes(c.data_size), RandomBytes(c.data_size)};
    if (IsTbsHashType(c.type)) {
      // EFI_TIME 2023-12-31 23:59:58, nanosecond 7, TimeZone -60, Daylight 1.
      const uint8_t time[16] = {0xe7, 0x07, 12, 31, 23, 59, 58, 0, 7, 0, 0, 0, 0xc4, 0xff, 1, 0};
      std::copy(time, time + 16, data[0].end() - 16);
      std::fill(data[1].end() - 16, data[1].end(), 0);
    }
    const Bytes list = BuildList(c.guid, 0, data, owner);
    EXPECT_NE(DetectVariableFormat(In(list)), VariableFormat::Efivarfs);
    const Listing listing = ReadAll(In(list));
    ASSERT_EQ(listing.result, Result::Success) << ResultName(listing.error.result);
    ASSERT_EQ(listing.entries.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      const SignatureEntry& entry = listing.entries[i];
      EXPECT_EQ(entry.type, c.type);
      EXPECT_STREQ(SignatureTypeName(entry.type), c.name);
      EXPECT_EQ(IsTbsHashType(entry.type), c.hash_size != 0 && c.data_size == c.hash_size + 16);
      EXPECT_EQ(GuidBytes(entry.owner), owner);
      EXPECT_EQ(Bytes(entry.data.begin(), entry.data.end()), data[i]);
      EXPECT_EQ(entry.entry_offset, 28 + i * (16 + c.data_size));
      EXPECT_EQ(Bytes(entry.hash.begin(), entry.hash.end()),
                Bytes(data[i].begin(), data[i].begin() + c.hash_size));
      DigestAlg alg;
      EXPECT_EQ(SignatureTypeDigest(entry.type, alg), c.hash_size != 0);
      if (c.hash_size != 0) {
        EXPECT_EQ(DigestLength(alg), c.hash_size);
      }
    }
    if (IsTbsHashType(c.type)) {
      const EfiTime& t = listing.entries[0].revocation_time;
      EXPECT_EQ(t.year, 2023);
      EXPECT_EQ(t.month, 12);
      EXPECT_EQ(t.day, 31);
      EXPECT_EQ(t.hour, 23);
      EXPECT_EQ(t.minute, 59);
      EXPECT_EQ(t.second, 58);
      EXPECT_EQ(t.nanosecond, 7u);
      EXPECT_EQ(t.time_zone, -60);
      EXPECT_EQ(t.daylight, 1);
      EXPECT_EQ(listing.entries[1].revocation_time.year, 0);
    }
  }
}

TEST(EslBuilt, UnknownTypesAreReportedButNeverHashesOrCertificates) {
  const Guid unknown = MakeGuid(0x00000027, 0x1234, 0x5678, 1, 2, 3, 4, 5, 6, 7, 8);
  const Bytes owner = RandomBytes(16);
  // An unknown type may carry a SignatureHeader; its entries can have any size.
  const Bytes list =
      BuildList(unknown, 5, {RandomBytes(32), RandomBytes(32), RandomBytes(32)}, owner);
  const Listing listing = ReadAll(In(list));
  ASSERT_EQ(listing.result, Result::Success) << ResultName(listing.error.result);
  ASSERT_EQ(listing.entries.size(), 3u);
  for (const SignatureEntry& entry : listing.entries) {
    EXPECT_EQ(entry.type, SignatureType::Unknown);
    EXPECT_EQ(GuidBytes(entry.type_guid), GuidBytes(unknown));
    EXPECT_TRUE(entry.hash.empty());
    EXPECT_EQ(entry.data.size(), 32u);
    DigestAlg alg;
    EXPECT_FALSE(SignatureTypeDigest(entry.type, alg));
  }
  EXPECT_EQ(listing.entries[0].entry_offset, 28u + 5);
}

// ---- Malformed lists: mutations of good ones ----------------------------------------------

struct Mutation {
  const char* what;
  std::function<Bytes()> make;
  Result expected;
  uint64_t offset;
  size_t entries_before;  // entries returned before the failure
};

void ExpectRejected(const Mutation& m) {
  SCOPED_TRACE(m.what);
  const Bytes bytes = m.make();
  const Listing listing = ReadAll(In(bytes));
  EXPECT_EQ(listing.result, m.expected) << ResultName(listing.result);
  EXPECT_EQ(listing.error.result, m.expected);
  EXPECT_EQ(listing.error.offset, m.offset);
  EXPECT_EQ(listing.entries.size(), m.entries_before);
  size_t count = 0;
  Error error;
  EXPECT_EQ(ValidateSignatureLists(Provider(), In(bytes), 0, count, error), m.expected);
  EXPECT_EQ(error.offset, m.offset);
}

TEST(EslMalformed, EveryListCheckHasItsResultAndOffset) {
  const Bytes hash = HashEsl("sha256", RandomBytes(32), "good.esl");  // 28 + 16 + 32 bytes
  ASSERT_EQ(hash.size(), 76u);
  const TestCert cert = MakeCert("bad", "/CN=hvsig malformed");
  const Bytes cert_list = CertEsl(cert, "bad.esl");
  const Bytes owner(16, 0x11);
  auto with32 = [&](Bytes b, size_t at, uint32_t v) {
    PutLe32(b, at, v);
    return b;
  };
  const std::vector<Mutation> mutations = {
      {"bytes after the last list",
       [&] {
         return Concat({hash, Bytes(10, 0)});
       },
       Result::EslTruncated, 76, 1},
      {"a file shorter than a list header", [&] { return Bytes(hash.begin(), hash.begin() + 27); },
       Result::EslTruncated, 0, 0},
      {"SignatureListSize 0", [&] { return with32(hash, 16, 0); }, Result::EslListSizeTooSmall, 16,
       0},
      {"SignatureListSize 27", [&] { return with32(hash, 16, 27); }, Result::EslListSizeTooSmall,
       16, 0},
      {"SignatureListSize past the end", [&] { return with32(hash, 16, 77); },
       Result::EslListOverrun, 16, 0},
      {"list cut by one byte", [&] { return Bytes(hash.begin(), hash.end() - 1); },
       Result::EslListOverrun, 16, 0},
      {"SignatureListSize 0xffffffff", [&] { return with32(hash, 16, 0xffffffff); },
       Result::EslListOverrun, 16, 0},
      {"SignatureHeaderSize past the list", [&] { return with32(hash, 20, 49); },
       Result::EslHeaderSizeOverrun, 20, 0},
      {"SignatureHeaderSize 0xffffffff", [&] { return with32(hash, 20, 0xffffffff); },
       Result::EslHeaderSizeOverrun, 20, 0},
      {"SignatureHeader on a sha256 list",
       [&] { return BuildList(kCertSha256Guid, 4, {RandomBytes(32)}, owner); },
       Result::EslBadHeaderSize, 20, 0},
      {"SignatureSize 16", [&] { return with32(hash, 24, 16); }, Result::EslSignatureSizeTooSmall,
       24, 0},
      {"SignatureSize 0", [&] { return with32(hash, 24, 0); }, Result::EslSignatureSizeTooSmall, 24,
       0},
      {"SignatureSize not dividing", [&] { return with32(hash, 24, 47); },
       Result::EslSizeNotMultiple, 24, 0},
      {"SignatureSize larger than the list", [&] { return with32(hash, 24, 49); },
       Result::EslSizeNotMultiple, 24, 0},
      {"a list without signatures",
       [&] { return with32(Bytes(hash.begin(), hash.begin() + 28), 16, 28); }, Result::EslNoEntries,
       16, 0},
      {"sha256 entries of 20 bytes",
       [&] { return BuildList(kCertSha256Guid, 0, {RandomBytes(20)}, owner); },
       Result::EslBadSignatureSize, 24, 0},
      {"x509-sha256 without its revocation time",
       [&] { return BuildList(kCertX509Sha256Guid, 0, {RandomBytes(32)}, owner); },
       Result::EslBadSignatureSize, 24, 0},
      {"rsa2048 with a 4096-bit key",
       [&] { return BuildList(kCertRsa2048Guid, 0, {RandomBytes(512)}, owner); },
       Result::EslBadSignatureSize, 24, 0},
      {"a good list, then one cut short",
       [&] {
         return Concat({cert_list, Bytes(hash.begin(), hash.end() - 1)});
       },
       Result::EslListOverrun, cert_list.size() + 16, 1},
      {"a good list, then a sha256 list with a bad size",
       [&] {
         return Concat({hash, with32(hash, 24, 47)});
       },
       Result::EslSizeNotMultiple, 76 + 24, 1},
  };
  for (const Mutation& m : mutations) ExpectRejected(m);
}

TEST(EslMalformed, X509EntriesThatDoNotParseAreRejected) {
  const TestCert cert = MakeCert("badcert", "/CN=hvsig bad certificate");
  const Bytes good = CertEsl(cert, "badcert.esl");
  const Bytes hash = HashEsl("sha256", RandomBytes(32), "badcert_hash.esl");

  Bytes wrong_tag = good;
  wrong_tag[44] = 0x31;  // the Certificate SEQUENCE becomes a SET
  Listing listing = ReadAll(In(wrong_tag));
  EXPECT_EQ(listing.result, Result::EslBadCertificate);
  EXPECT_EQ(listing.error.offset, 44u);
  EXPECT_EQ(listing.certificate_error, Result::DerUnexpectedTag);

  // One byte less of certificate, with sizes that still add up: only the DER is wrong.
  Bytes short_cert(good.begin(), good.end() - 1);
  PutLe32(short_cert, 16, GetLe32(good, 16) - 1);
  PutLe32(short_cert, 24, GetLe32(good, 24) - 1);
  listing = ReadAll(In(short_cert));
  EXPECT_EQ(listing.result, Result::EslBadCertificate);
  EXPECT_NE(listing.certificate_error, Result::Success);
  EXPECT_GE(listing.error.offset, 44u);
  EXPECT_LT(listing.error.offset, short_cert.size());

  // The same certificate with a trailing byte inside its entry.
  Bytes padded = good;
  padded.push_back(0);
  PutLe32(padded, 16, GetLe32(good, 16) + 1);
  PutLe32(padded, 24, GetLe32(good, 24) + 1);
  listing = ReadAll(In(padded));
  EXPECT_EQ(listing.result, Result::EslBadCertificate);
  EXPECT_EQ(listing.certificate_error, Result::DerTrailingData);
  EXPECT_EQ(listing.error.offset, good.size());

  // After a good list, the failure is located in the whole input and the reader stays failed.
  const Bytes both = Concat({hash, wrong_tag});
  SignatureListReader reader(Provider(), In(both), 1000);
  SignatureEntry entry;
  Error error;
  ASSERT_EQ(reader.Next(entry, error), Result::Success);
  EXPECT_EQ(entry.type, SignatureType::Sha256);
  EXPECT_EQ(entry.entry_offset, 1000u + 28);
  EXPECT_EQ(reader.Next(entry, error), Result::EslBadCertificate);
  EXPECT_EQ(error.offset, 1000u + 76 + 44);
  EXPECT_FALSE(reader.AtEnd());
  error = Error{};
  EXPECT_EQ(reader.Next(entry, error), Result::EslBadCertificate);
  EXPECT_EQ(error.offset, 1000u + 76 + 44);
}

TEST(EslMalformed, EfisiglistPemAsCertificateIsRejected) {
  // efisiglist -c stores whatever file it is given: a PEM file becomes an X.509 "entry".
  const TestCert cert = MakeCert("pem", "/CN=hvsig pem entry");
  Shell("efisiglist -a -c '" + cert.pem_path + "' -o '" + Path("pem.esl") + "'");
  const Bytes esl = ReadFile(Path("pem.esl"));
  ASSERT_GT(esl.size(), 44u);
  const Listing listing = ReadAll(In(esl));
  EXPECT_EQ(listing.result, Result::EslBadCertificate);
  EXPECT_EQ(listing.error.offset, 44u);
  EXPECT_EQ(listing.certificate_error, Result::DerUnexpectedTag);
}

// ---- efivarfs ------------------------------------------------------------------------------

TEST(Efivarfs, AttributePrefixIsDetectedAndSkipped) {
  const Bytes hash = HashEsl("sha256", RandomBytes(32), "efivarfs.esl");
  const Bytes attributes = {0x27, 0, 0, 0};  // NV | BS | RT | TIME_BASED_AUTHENTICATED_WRITE
  const Bytes file = Concat({attributes, hash});
  EXPECT_EQ(DetectVariableFormat(In(file)), VariableFormat::Efivarfs);
  EfivarfsFile parsed;
  Error error;
  ASSERT_EQ(ParseEfivarfs(In(file), parsed, error), Result::Success);
  EXPECT_EQ(parsed.attributes, 0x27u);
  EXPECT_EQ(Bytes(parsed.data.begin(), parsed.data.end()), hash);
  SignatureDatabase database;
  const Listing listing = OpenAndReadAll(file, nullptr, VariableFormat::Efivarfs, database);
  ASSERT_EQ(listing.result, Result::Success)
      << ResultName(listing.error.result) << " at " << listing.error.offset;
  ASSERT_EQ(listing.entries.size(), 1u);
  EXPECT_EQ(listing.entries[0].list_offset, 4u);
  EXPECT_EQ(Bytes(listing.entries[0].hash.begin(), listing.entries[0].hash.end()),
            Bytes(hash.begin() + 44, hash.end()));

  // The same bytes read as a bare list fail where the attribute word shifts the header.
  EXPECT_NE(ReadAll(In(file)).result, Result::Success);

  EXPECT_EQ(ParseEfivarfs(In(Bytes{0x07, 0, 0}), parsed, error), Result::EfiVarTruncated);
  EXPECT_EQ(error.offset, 0u);
  const Bytes undefined_bits = Concat({Bytes{0x07, 0x01, 0, 0}, hash});
  EXPECT_EQ(DetectVariableFormat(In(undefined_bits)), VariableFormat::Esl);
  EXPECT_EQ(ParseEfivarfs(In(undefined_bits), parsed, error), Result::EfiVarBadAttributes);
  EXPECT_EQ(error.offset, 0u);
}

// ---- EFI_VARIABLE_AUTHENTICATION_2 ---------------------------------------------------------

// A container header changed in place, and the check that must catch it.
struct HeaderMutation {
  const char* what;
  std::function<void(Bytes&)> mutate;
  Result expected;
  uint64_t offset;
};

// Every mutation of good fails with its result at its offset: through parse when given, and
// through OpenSignatureDatabase as `format` (`variable` of a store).
void ExpectMutationsRejected(const Bytes& good, const std::vector<HeaderMutation>& cases,
                             VariableFormat format, const char* variable,
                             const std::function<Result(Input, Error&)>& parse = nullptr) {
  for (const HeaderMutation& c : cases) {
    SCOPED_TRACE(c.what);
    Bytes bytes = good;
    c.mutate(bytes);
    Error error;
    if (parse) {
      EXPECT_EQ(parse(In(bytes), error), c.expected);
      EXPECT_EQ(error.result, c.expected);
      EXPECT_EQ(error.offset, c.offset);
      error = Error{};
    }
    SignatureDatabase database;
    EXPECT_EQ(OpenSignatureDatabase(In(bytes), format, variable, database, error), c.expected);
    EXPECT_EQ(error.result, c.expected);
    EXPECT_EQ(error.offset, c.offset);
  }
}

TEST(Auth2Malformed, EveryHeaderCheckHasItsResultAndOffset) {
  const TestCert cert = MakeCert("auth", "/CN=hvsig auth");
  CertEsl(cert, "auth.esl");
  Shell("sign-efi-sig-list -t '2024-02-03 04:05:06' -k '" + cert.key_path + "' -c '" +
        cert.pem_path + "' db '" + Path("auth.esl") + "' '" + Path("auth.auth") + "' >/dev/null");
  const Bytes good = ReadFile(Path("auth.auth"));
  ASSERT_GT(good.size(), 40u);
  const uint32_t dw_length = GetLe32(good, 16);

  const std::vector<HeaderMutation> cases = {
      {"39 bytes", [](Bytes& b) { b.resize(39); }, Result::Auth2Truncated, 0},
      {"Pad1", [](Bytes& b) { b[7] = 1; }, Result::Auth2BadTimestamp, 7},
      {"Nanosecond", [](Bytes& b) { b[9] = 1; }, Result::Auth2BadTimestamp, 9},
      {"TimeZone", [](Bytes& b) { b[12] = 0xc4; }, Result::Auth2BadTimestamp, 12},
      {"Daylight", [](Bytes& b) { b[14] = 1; }, Result::Auth2BadTimestamp, 14},
      {"Pad2", [](Bytes& b) { b[15] = 1; }, Result::Auth2BadTimestamp, 15},
      {"dwLength 23", [](Bytes& b) { PutLe32(b, 16, 23); }, Result::Auth2CertTooShort, 16},
      {"dwLength past the end",
       [](Bytes& b) { PutLe32(b, 16, static_cast<uint32_t>(b.size() - 16 + 1)); },
       Result::Auth2CertOverrun, 16},
      {"dwLength 0xffffffff", [](Bytes& b) { PutLe32(b, 16, 0xffffffff); },
       Result::Auth2CertOverrun, 16},
      {"wRevision 0x0100", [](Bytes& b) { PutLe16(b, 20, 0x0100); }, Result::Auth2BadRevision, 20},
      {"WIN_CERT_TYPE_PKCS_SIGNED_DATA", [](Bytes& b) { PutLe16(b, 22, 0x0002); },
       Result::Auth2BadCertType, 22},
      {"CertType not PKCS7", [](Bytes& b) { b[30] ^= 1; }, Result::Auth2NotPkcs7, 24},
      {"CertData not a SEQUENCE", [](Bytes& b) { b[40] = 0x31; }, Result::Auth2BadPkcs7, 40},
      {"CertData with a byte after the SignedData",
       [dw_length](Bytes& b) { PutLe32(b, 16, dw_length + 1); }, Result::Auth2BadPkcs7,
       40 + (dw_length - 24)},
      {"CertData cut short", [dw_length](Bytes& b) { PutLe32(b, 16, dw_length - 1); },
       Result::Auth2BadPkcs7, 40},
  };
  ExpectMutationsRejected(good, cases, VariableFormat::Auth, nullptr, [](Input bytes, Error& error) {
    AuthenticatedVariable parsed;
    return ParseAuthenticatedVariable(bytes, parsed, error);
  });
}

// ---- Truncation ----------------------------------------------------------------------------

// Every prefix of a valid file, read in every format: nothing crashes (ASan builds check the
// reads), and no prefix yields more entries than the whole file has in its own format.
void ExpectPrefixesNeverGainEntries(const Bytes& file, VariableFormat format, const char* variable,
                                    const std::vector<size_t>& lengths) {
  SignatureDatabase database;
  Error error;
  ASSERT_EQ(OpenSignatureDatabase(In(file), format, variable, database, error), Result::Success);
  size_t full = 0;
  ASSERT_EQ(ValidateSignatureLists(Provider(), database.lists, database.lists_offset, full, error),
            Result::Success);
  for (size_t length : lengths) {
    // An exact-size copy, so a read past the prefix is a heap overflow under ASan.
    const Bytes prefix(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(length));
    for (VariableFormat f : {VariableFormat::Auto, VariableFormat::Esl, VariableFormat::Efivarfs,
                             VariableFormat::Auth, VariableFormat::VarStore}) {
      SignatureDatabase truncated;
      if (OpenSignatureDatabase(In(prefix), f, variable != nullptr ? variable : "db", truncated,
                                error) != Result::Success) {
        continue;
      }
      size_t count = 0;
      const Result r =
          ValidateSignatureLists(Provider(), truncated.lists, truncated.lists_offset, count, error);
      if (r == Result::Success && truncated.format == format) {
        EXPECT_LE(count, full) << "prefix " << length << " as " << VariableFormatName(f);
      }
      if (r == Result::Success && length < file.size() && f == format &&
          format == VariableFormat::VarStore) {
        ADD_FAILURE() << "a truncated store parsed at " << length;
      }
    }
  }
}

std::vector<size_t> EveryLength(size_t size) {
  std::vector<size_t> lengths;
  for (size_t i = 0; i < size; ++i) lengths.push_back(i);
  return lengths;
}

TEST(EslTruncation, NoPrefixOfAToolMadeFileYieldsMoreEntries) {
  const TestCert cert = MakeCert("trunc", "/CN=hvsig truncation");
  const Bytes cert_list = CertEsl(cert, "trunc.esl");
  const Bytes lists = Concat({HashEsl("sha256", RandomBytes(32), "t256.esl"), cert_list,
                              HashEsl("sha1", RandomBytes(20), "t1.esl")});
  WriteFile(Path("trunc_all.esl"), lists);
  Shell("sign-efi-sig-list -t '2024-02-03 04:05:06' -k '" + cert.key_path + "' -c '" +
        cert.pem_path + "' db '" + Path("trunc_all.esl") + "' '" + Path("trunc.auth") +
        "' >/dev/null");
  const Bytes auth = ReadFile(Path("trunc.auth"));
  const Bytes efivarfs = Concat({Bytes{0x27, 0, 0, 0}, lists});

  ExpectPrefixesNeverGainEntries(lists, VariableFormat::Esl, nullptr, EveryLength(lists.size()));
  ExpectPrefixesNeverGainEntries(auth, VariableFormat::Auth, nullptr, EveryLength(auth.size()));
  ExpectPrefixesNeverGainEntries(efivarfs, VariableFormat::Efivarfs, nullptr,
                                 EveryLength(efivarfs.size()));
}

TEST(EslTruncation, NoPrefixOfABuiltListYieldsMoreEntries) {
  Bytes lists;
  for (const TypeCase& c : kTypeCases) {
    lists =
        Concat({lists, BuildList(c.guid, 0, {RandomBytes(c.data_size), RandomBytes(c.data_size)},
                                 RandomBytes(16))});
  }
  ExpectPrefixesNeverGainEntries(lists, VariableFormat::Esl, nullptr, EveryLength(lists.size()));
}

// ---- Debian's OVMF variable stores ---------------------------------------------------------

std::string OvmfPath(const std::string& name) {
  return std::string(HVSIG_TEST_CACHE) + "/root/usr/share/OVMF/" + name;
}

// Every DER certificate anywhere in the file, found by OpenSSL at every "30 82" position.
std::vector<std::pair<size_t, Bytes>> ScanCertificates(const Bytes& file) {
  std::vector<std::pair<size_t, Bytes>> found;
  for (size_t i = 0; i + 4 <= file.size(); ++i) {
    if (file[i] != 0x30 || file[i + 1] != 0x82) continue;
    const size_t total = 4 + ((file[i + 2] << 8) | file[i + 3]);
    if (i + total > file.size()) continue;
    const unsigned char* p = file.data() + i;
    X509* x509 = d2i_X509(nullptr, &p, static_cast<long>(total));
    if (x509 != nullptr && p == file.data() + i + total) {
      found.emplace_back(i, Bytes(file.begin() + i, file.begin() + i + total));
    }
    X509_free(x509);
  }
  return found;
}

// The data of the live variable with this name, found by searching for the UTF-16 name and
// reading the AUTHENTICATED_VARIABLE_HEADER 60 bytes before it (StartId 0x55AA, State 0x3F,
// NameSize at +36, DataSize at +40). Fails the test unless exactly one such copy exists.
Bytes NaiveVariableData(const Bytes& file, const std::string& name) {
  Bytes utf16;
  for (char c : name) {
    utf16.push_back(static_cast<uint8_t>(c));
    utf16.push_back(0);
  }
  utf16.push_back(0);
  utf16.push_back(0);
  std::vector<Bytes> copies;
  for (size_t at = 60; at + utf16.size() <= file.size(); ++at) {
    if (!std::equal(utf16.begin(), utf16.end(), file.begin() + at)) continue;
    const size_t h = at - 60;
    if (file[h] != 0xaa || file[h + 1] != 0x55 || file[h + 2] != 0x3f) continue;
    if (GetLe32(file, h + 36) != utf16.size()) continue;
    const size_t data_size = GetLe32(file, h + 40);
    copies.emplace_back(file.begin() + at + utf16.size(),
                        file.begin() + at + utf16.size() + data_size);
  }
  EXPECT_EQ(copies.size(), 1u) << name;
  return copies.empty() ? Bytes() : copies[0];
}

size_t NaiveHeaderOffset(const Bytes& file, const std::string& name) {
  const Bytes data = NaiveVariableData(file, name);
  const auto at = std::search(file.begin(), file.end(), data.begin(), data.end());
  return static_cast<size_t>(at - file.begin()) - 2 * (name.size() + 1) - 60;
}

void ExpectOvmfKeysMatchScan(const std::string& path) {
  const Bytes file = ReadFile(path);
  ASSERT_FALSE(file.empty()) << path << " missing: run the fetch.debian_ovmf test";
  EXPECT_EQ(DetectVariableFormat(In(file)), VariableFormat::VarStore);
  const auto scanned = ScanCertificates(file);
  std::set<size_t> unclaimed;
  for (const auto& [offset, der] : scanned) unclaimed.insert(offset);

  std::map<std::string, std::vector<std::string>> subjects;
  for (const char* name : {"PK", "KEK", "db", "dbx"}) {
    SCOPED_TRACE(name);
    SignatureDatabase database;
    const Listing listing = OpenAndReadAll(file, name, VariableFormat::VarStore, database);
    ASSERT_EQ(listing.result, Result::Success)
        << ResultName(listing.error.result) << " at " << listing.error.offset;
    EXPECT_EQ(Bytes(database.lists.begin(), database.lists.end()), NaiveVariableData(file, name));
    for (const SignatureEntry& entry : listing.entries) {
      EXPECT_EQ(entry.data.data(), file.data() + entry.entry_offset + 16);
      if (entry.type != SignatureType::X509) {
        EXPECT_EQ(entry.type, SignatureType::Sha256);
        EXPECT_EQ(entry.hash.size(), 32u);
        continue;
      }
      const size_t offset = entry.entry_offset + 16;
      const auto it = std::find_if(scanned.begin(), scanned.end(),
                                   [&](const auto& s) { return s.first == offset; });
      ASSERT_NE(it, scanned.end()) << "no certificate found by OpenSSL at " << offset;
      EXPECT_EQ(Bytes(entry.data.begin(), entry.data.end()), it->second);
      EXPECT_EQ(unclaimed.erase(offset), 1u) << "listed twice: " << offset;
      const OpensslView view = ViewOf(it->second);
      EXPECT_EQ(FormatNameString(entry.certificate.subject), view.subject);
      uint8_t fingerprint[32];
      ASSERT_EQ(DigestOnce(Provider(), DigestAlg::Sha256, entry.data, fingerprint),
                Result::Success);
      EXPECT_EQ(Hex(Input(fingerprint, 32)), view.sha256);
      subjects[name].push_back(view.subject);
    }
  }
  EXPECT_TRUE(unclaimed.empty()) << unclaimed.size() << " certificates in no signature database";
  auto holds = [&](const std::string& variable, const std::string& cn) {
    for (const std::string& s : subjects[variable]) {
      if (s.find(cn) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(holds("db", "CN=Microsoft Corporation UEFI CA 2011,"));
  EXPECT_TRUE(holds("db", "CN=Microsoft Windows Production PCA 2011,"));
  EXPECT_TRUE(holds("KEK", "CN=Microsoft Corporation KEK CA 2011,"));
  EXPECT_EQ(subjects["PK"].size(), 1u);
}

TEST(Ovmf, Ms4mStoreListsTheKeysOpensslFinds) {
  ExpectOvmfKeysMatchScan(OvmfPath("OVMF_VARS_4M.ms.fd"));
}
TEST(Ovmf, Ms2mStoreListsTheKeysOpensslFinds) {
  ExpectOvmfKeysMatchScan(OvmfPath("OVMF_VARS.ms.fd"));
}

TEST(Ovmf, StoreWithoutKeysHasNoDb) {
  const Bytes file = ReadFile(OvmfPath("OVMF_VARS_4M.fd"));
  ASSERT_FALSE(file.empty());
  SignatureDatabase database;
  const Listing listing = OpenAndReadAll(file, "db", VariableFormat::VarStore, database);
  EXPECT_EQ(listing.result, Result::VarStoreVariableNotFound);
}

TEST(Ovmf, VariableWalkSeesEveryLiveVariableOnce) {
  const Bytes file = ReadFile(OvmfPath("OVMF_VARS_4M.ms.fd"));
  ASSERT_FALSE(file.empty());
  VariableStore store;
  Error error;
  ASSERT_EQ(ParseVariableStore(In(file), store, error), Result::Success);
  VariableStoreReader reader(store);
  std::map<std::string, int> live;
  StoredVariable variable;
  while (!reader.AtEnd()) {
    ASSERT_EQ(reader.Next(variable, error), Result::Success) << ResultName(error.result);
    if (!variable.live()) continue;
    std::string name;
    for (size_t i = 0; i + 2 < variable.name.size(); i += 2)
      name += static_cast<char>(variable.name[i]);
    EXPECT_TRUE(VariableNameIs(variable.name, name.c_str()));
    ++live[name];
  }
  for (const char* name : {"PK", "KEK", "db", "dbx"}) EXPECT_EQ(live[name], 1) << name;
  EXPECT_EQ(SignatureDatabaseVendor("db"), &kImageSecurityDatabaseGuid);
  EXPECT_EQ(SignatureDatabaseVendor("KEK"), &kGlobalVariableGuid);
  EXPECT_EQ(SignatureDatabaseVendor("MokListRT"), &kShimLockGuid);
  EXPECT_EQ(SignatureDatabaseVendor("Boot0000"), nullptr);
  EXPECT_FALSE(VariableNameIs(variable.name, ""));
}

TEST(Ovmf, MalformedStoresAreRejectedWithTheirResultAndOffset) {
  const Bytes good = ReadFile(OvmfPath("OVMF_VARS_4M.ms.fd"));
  ASSERT_GT(good.size(), 0x1000u);
  const size_t h = good[48] | (good[49] << 8);  // HeaderLength: the variable store header
  const size_t db = NaiveHeaderOffset(good, "db");
  const size_t pk = NaiveHeaderOffset(good, "PK");
  ASSERT_LT(db, pk);
  const std::vector<HeaderMutation> cases = {
      {"63 bytes", [](Bytes& b) { b.resize(63); }, Result::VarStoreTruncated, 0},
      {"no _FVH", [](Bytes& b) { b[40] = 'X'; }, Result::VarStoreBadFvSignature, 40},
      {"not NV data", [](Bytes& b) { b[16] ^= 1; }, Result::VarStoreNotNvData, 16},
      {"cut by one byte", [](Bytes& b) { b.pop_back(); }, Result::VarStoreBadFvLength, 32},
      {"HeaderLength odd", [](Bytes& b) { b[48] |= 1; }, Result::VarStoreBadFvHeaderLength, 48},
      {"HeaderLength 62", [](Bytes& b) { PutLe16(b, 48, 62); }, Result::VarStoreBadFvHeaderLength,
       48},
      {"block map changed", [](Bytes& b) { b[56] ^= 1; }, Result::VarStoreBadFvChecksum, 50},
      {"store not authenticated", [h](Bytes& b) { b[h] ^= 1; }, Result::VarStoreNotAuthenticated,
       h},
      {"store not formatted", [h](Bytes& b) { b[h + 20] = 0xff; }, Result::VarStoreBadFormat,
       h + 20},
      {"store not healthy", [h](Bytes& b) { b[h + 21] = 0xff; }, Result::VarStoreNotHealthy,
       h + 21},
      {"store past the volume",
       [h](Bytes& b) { PutLe32(b, h + 16, static_cast<uint32_t>(b.size() - h + 1)); },
       Result::VarStoreBadSize, h + 16},
      {"store smaller than its header", [h](Bytes& b) { PutLe32(b, h + 16, 27); },
       Result::VarStoreBadSize, h + 16},
      {"db data past the store", [db](Bytes& b) { PutLe32(b, db + 40, 0x7fffffff); },
       Result::VarStoreVariableOverrun, db + 40},
      {"db name past the store", [db](Bytes& b) { PutLe32(b, db + 36, 0xffffffff); },
       Result::VarStoreVariableOverrun, db + 36},
      {"db name not NUL-terminated", [db](Bytes& b) { b[db + 60 + 4] = 'x'; },
       Result::VarStoreBadVariableName, db + 36},
      {"PK renamed to db",
       [pk](Bytes& b) {
         b[pk + 60] = 'd';
         b[pk + 62] = 'b';
         std::copy(kImageSecurityDatabaseGuid.bytes, kImageSecurityDatabaseGuid.bytes + 16,
                   b.begin() + pk + 44);
       },
       Result::VarStoreDuplicateVariable, pk},
  };
  ExpectMutationsRejected(good, cases, VariableFormat::VarStore, "db");
  SignatureDatabase database;
  Error error;
  EXPECT_EQ(OpenSignatureDatabase(In(good), VariableFormat::VarStore, "dbt", database, error),
            Result::VarStoreVariableNotFound);
  EXPECT_EQ(OpenSignatureDatabase(In(good), VariableFormat::VarStore, "Boot0000", database, error),
            Result::InvalidArgument);
  EXPECT_EQ(OpenSignatureDatabase(In(good), VariableFormat::VarStore, nullptr, database, error),
            Result::InvalidArgument);
}

TEST(Ovmf, NoPrefixOfAStoreParses) {
  const Bytes file = ReadFile(OvmfPath("OVMF_VARS_4M.ms.fd"));
  ASSERT_FALSE(file.empty());
  std::vector<size_t> lengths;
  for (size_t i = 0; i < 0x400; ++i) lengths.push_back(i);
  for (size_t i = 0x400; i < file.size(); i += 4093) lengths.push_back(i);
  lengths.push_back(file.size() - 1);
  ExpectPrefixesNeverGainEntries(file, VariableFormat::VarStore, "db", lengths);
}

// ---- The hvsig CLI -------------------------------------------------------------------------

#ifdef HVSIG_TOOL
struct ToolRun {
  int status;
  std::string out;
  std::string err;
};

ToolRun RunTool(const std::string& args) {
  const std::string err_path = Path("stderr.txt");
  CommandResult result = RunCommand(std::string(HVSIG_TOOL) + " " + args + " 2>'" + err_path + "'");
  const Bytes err = ReadFile(err_path);
  return ToolRun{result.exit_code, std::move(result.out), std::string(err.begin(), err.end())};
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    lines.push_back(text.substr(start, end - start));
  }
  return lines;
}

TEST(EslCli, ListsCertificatesAndHashesInEveryContainer) {
  const TestCert cert = MakeCert("cli", "/CN=hvsig cli/O=hvsig tests");
  CertEsl(cert, "cli.esl");
  const Bytes sha256 = RandomBytes(32);
  const Bytes hash_list = HashEsl("sha256", sha256, "cli_hash.esl");
  const Bytes lists = Concat({ReadFile(Path("cli.esl")), hash_list});
  WriteFile(Path("cli_all.esl"), lists);
  WriteFile(Path("cli_all.efivarfs"), Concat({Bytes{0x27, 0, 0, 0}, lists}));
  Shell("sign-efi-sig-list -k '" + cert.key_path + "' -c '" + cert.pem_path + "' db '" +
        Path("cli_all.esl") + "' '" + Path("cli_all.auth") + "' >/dev/null");

  const std::string cert_line =
      "x509 " + std::string(kOwnerText) + " " + cert.subject + " " + cert.fingerprint;
  for (const char* file : {"cli_all.esl", "cli_all.efivarfs", "cli_all.auth"}) {
    SCOPED_TRACE(file);
    const ToolRun run = RunTool("esl list '" + Path(file) + "'");
    EXPECT_EQ(run.status, 0) << run.err;
    const std::vector<std::string> lines = Lines(run.out);
    ASSERT_EQ(lines.size(), 2u) << run.out;
    EXPECT_EQ(lines[0], cert_line);
    EXPECT_EQ(lines[1].substr(0, 7), "sha256 ");
    EXPECT_EQ(lines[1].substr(lines[1].size() - 64), Hex(In(sha256)));
  }

  const ToolRun json = RunTool("esl list --json '" + Path("cli_all.auth") + "'");
  ASSERT_EQ(json.status, 0) << json.err;
  const nlohmann::json j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["format"], "auth");
  ASSERT_EQ(j["entries"].size(), 2u);
  EXPECT_EQ(j["entries"][0]["type"], "x509");
  EXPECT_EQ(j["entries"][0]["owner"], kOwnerText);
  EXPECT_EQ(j["entries"][0]["subject"], cert.subject);
  EXPECT_EQ(j["entries"][0]["sha256"], cert.fingerprint);
  EXPECT_EQ(j["entries"][1]["type"], "sha256");
  EXPECT_EQ(j["entries"][1]["hash"], Hex(In(sha256)));

  // --format overrides detection: the efivarfs file read as a bare list is malformed.
  const ToolRun forced = RunTool("esl list --format esl '" + Path("cli_all.efivarfs") + "'");
  EXPECT_EQ(forced.status, 1);
  EXPECT_TRUE(forced.out.empty());
}

TEST(EslCli, MalformedListsExitOneNamingTheCheckAndOffset) {
  Bytes bad = HashEsl("sha256", RandomBytes(32), "cli_bad.esl");
  PutLe32(bad, 24, 47);
  WriteFile(Path("cli_bad.esl"), bad);
  ToolRun run = RunTool("esl list '" + Path("cli_bad.esl") + "'");
  EXPECT_EQ(run.status, 1);
  EXPECT_TRUE(run.out.empty());
  EXPECT_NE(run.err.find("EslSizeNotMultiple at offset 24"), std::string::npos) << run.err;

  run = RunTool("esl list --json '" + Path("cli_bad.esl") + "'");
  EXPECT_EQ(run.status, 1);
  const nlohmann::json j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["error"], "EslSizeNotMultiple");
  EXPECT_EQ(j["offset"], 24);

  const TestCert cert = MakeCert("cli_pem", "/CN=hvsig cli pem");
  Shell("efisiglist -a -c '" + cert.pem_path + "' -o '" + Path("cli_pem.esl") + "'");
  run = RunTool("esl list '" + Path("cli_pem.esl") + "'");
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("EslBadCertificate at offset 44 (DerUnexpectedTag)"), std::string::npos)
      << run.err;
}

TEST(EslCli, UsageAndIoErrorsExitTwo) {
  const Bytes hash = HashEsl("sha256", RandomBytes(32), "cli_usage.esl");
  EXPECT_EQ(RunTool("esl list '" + Path("does-not-exist") + "'").status, 2);
  EXPECT_EQ(RunTool("esl list --var db '" + Path("cli_usage.esl") + "'").status, 2);
  EXPECT_EQ(RunTool("esl list --format xml '" + Path("cli_usage.esl") + "'").status, 2);
  EXPECT_EQ(RunTool("esl list").status, 2);
}

TEST(EslCliOvmf, ListsTheStoreAndItsDatabases) {
  const std::string path = OvmfPath("OVMF_VARS_4M.ms.fd");
  const Bytes file = ReadFile(path);
  ASSERT_FALSE(file.empty());

  ToolRun run = RunTool("esl list '" + path + "'");
  ASSERT_EQ(run.status, 0) << run.err;
  const std::vector<std::string> variables = Lines(run.out);
  auto listed = [&](const std::string& prefix) {
    return std::count_if(variables.begin(), variables.end(),
                         [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
  };
  EXPECT_EQ(listed("db d719b2cb-3d3a-4596-a3bc-dad00e67656f "), 1);
  EXPECT_EQ(listed("dbx d719b2cb-3d3a-4596-a3bc-dad00e67656f "), 1);
  EXPECT_EQ(listed("KEK 8be4df61-93ca-11d2-aa0d-00e098032b8c "), 1);
  EXPECT_EQ(listed("PK 8be4df61-93ca-11d2-aa0d-00e098032b8c "), 1);

  run = RunTool("esl list --var db '" + path + "'");
  ASSERT_EQ(run.status, 0) << run.err;
  std::vector<std::string> expected;
  SignatureDatabase database;
  Error error;
  ASSERT_EQ(OpenSignatureDatabase(In(file), VariableFormat::VarStore, "db", database, error),
            Result::Success);
  const Bytes db = NaiveVariableData(file, "db");
  for (const auto& [offset, der] : ScanCertificates(db)) {
    const OpensslView view = ViewOf(der);
    // The owner GUID is the 16 bytes before the certificate, in EFI_GUID order.
    const Bytes owner(db.begin() + offset - 16, db.begin() + offset);
    char text[37];
    snprintf(text, sizeof text,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", owner[3],
             owner[2], owner[1], owner[0], owner[5], owner[4], owner[7], owner[6], owner[8],
             owner[9], owner[10], owner[11], owner[12], owner[13], owner[14], owner[15]);
    expected.push_back("x509 " + std::string(text) + " " + view.subject + " " + view.sha256);
  }
  EXPECT_EQ(Lines(run.out), expected);
  EXPECT_EQ(expected.size(), 2u);

  run = RunTool("esl list --var dbt '" + path + "'");
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("VarStoreVariableNotFound"), std::string::npos) << run.err;
  EXPECT_EQ(RunTool("esl list --var Boot0000 '" + path + "'").status, 2);

  run = RunTool("esl list --json --var KEK '" + path + "'");
  ASSERT_EQ(run.status, 0) << run.err;
  const nlohmann::json j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["format"], "varstore");
  EXPECT_EQ(j["variable"], "KEK");
  bool microsoft_kek = false;
  for (const auto& entry : j["entries"]) {
    microsoft_kek |=
        entry["subject"].get<std::string>().rfind("CN=Microsoft Corporation KEK CA 2011,", 0) == 0;
  }
  EXPECT_TRUE(microsoft_kek);
}
#endif  // HVSIG_TOOL

}  // namespace
}  // namespace hvsig::efi
