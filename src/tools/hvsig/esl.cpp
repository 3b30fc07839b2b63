// hvsig esl list: the entries of a UEFI signature database, from a bare ESL, an efivarfs file,
// a .auth file or one variable of an edk2/OVMF variable store.
//
// Text output, one line per entry: `<type> <owner-guid> <value>`, where value is the hex hash
// (image hash, or TBS hash for x509-sha*), the certificate's RFC 4514 subject then the SHA-256
// of its DER for x509, the hex key or signature for rsa2048*, and `<type-guid> <hex data>` for
// a type this parser does not know. A variable store without --var lists its live variables
// instead: `<name> <vendor-guid> <attributes> <size>`; --var picks one (by name: the vendor GUID
// is the one the UEFI spec or shim gives it) and is refused for other formats. --format
// overrides efi::DetectVariableFormat's rules.
// Exit 0 listed, 1 malformed input (the failed check and its file offset on stderr), 2 usage
// or I/O error.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hvsig/efi.h"
#include "tools/common/certs.h"
#include "tools/common/file_image.h"
#include "tools/hvsig/commands.h"

namespace hvsig::tools {
namespace {

std::string FormatGuid(const efi::Guid& guid) {
  const uint8_t* b = guid.bytes;
  char text[37];
  std::snprintf(text, sizeof text,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[3], b[2],
                b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return text;
}

std::string HexOf(Input bytes) { return Hex(bytes.data(), bytes.size()); }

// UTF-16LE variable names as text; anything outside ASCII becomes '?'.
std::string VariableName(Input utf16) {
  std::string name;
  for (size_t i = 0; i + 1 < utf16.size(); i += 2) {
    const unsigned unit = utf16[i] | (utf16[i + 1] << 8);
    if (unit == 0) break;
    name.push_back(unit < 0x80 ? static_cast<char>(unit) : '?');
  }
  return name;
}

bool IsZeroTime(const efi::EfiTime& t) {
  return t.year == 0 && t.month == 0 && t.day == 0 && t.hour == 0 && t.minute == 0 &&
         t.second == 0 && t.nanosecond == 0 && t.time_zone == 0 && t.daylight == 0;
}

std::string FormatTime(const efi::EfiTime& t) {
  char text[32];
  std::snprintf(text, sizeof text, "%04u-%02u-%02uT%02u:%02u:%02u", t.year, t.month, t.day, t.hour,
                t.minute, t.second);
  return text;
}

bool ParseFormat(const std::string& name, efi::VariableFormat& format) {
  for (efi::VariableFormat candidate :
       {efi::VariableFormat::Auto, efi::VariableFormat::Esl, efi::VariableFormat::Efivarfs,
        efi::VariableFormat::Auth, efi::VariableFormat::VarStore}) {
    if (name == efi::VariableFormatName(candidate)) {
      format = candidate;
      return true;
    }
  }
  return false;
}

std::string Describe(const Error& error) {
  return std::string(ResultName(error.result)) + " at offset " + std::to_string(error.offset);
}

int Malformed(const EslListOptions& options, efi::VariableFormat format, const Error& error,
              Result certificate_error) {
  std::string reason = Describe(error);
  if (certificate_error != Result::Success) {
    reason += std::string(" (") + ResultName(certificate_error) + ")";
  }
  std::fprintf(stderr, "hvsig esl list: %s: malformed %s: %s\n", options.file.c_str(),
               efi::VariableFormatName(format), reason.c_str());
  if (options.json) {
    nlohmann::json j = {{"file", options.file},
                        {"format", efi::VariableFormatName(format)},
                        {"error", ResultName(error.result)},
                        {"offset", error.offset}};
    if (certificate_error != Result::Success) {
      j["certificate_error"] = ResultName(certificate_error);
    }
    std::printf("%s\n", j.dump(2).c_str());
  }
  return kExitRejected;
}

int ListVariables(const EslListOptions& options, Input file) {
  efi::VariableStore store;
  Error error;
  if (efi::ParseVariableStore(file, store, error) != Result::Success) {
    return Malformed(options, efi::VariableFormat::VarStore, error, Result::Success);
  }
  nlohmann::json variables = nlohmann::json::array();
  std::string text;
  efi::VariableStoreReader reader(store);
  efi::StoredVariable variable;
  while (!reader.AtEnd()) {
    if (reader.Next(variable, error) != Result::Success) {
      return Malformed(options, efi::VariableFormat::VarStore, error, Result::Success);
    }
    if (!variable.live()) continue;
    const std::string name = VariableName(variable.name);
    char attributes[16];
    std::snprintf(attributes, sizeof attributes, "0x%08x", variable.attributes);
    text += name + " " + FormatGuid(variable.vendor) + " " + attributes + " " +
            std::to_string(variable.data.size()) + "\n";
    variables.push_back({{"name", name},
                         {"vendor", FormatGuid(variable.vendor)},
                         {"attributes", variable.attributes},
                         {"size", variable.data.size()},
                         {"offset", variable.header_offset}});
  }
  if (options.json) {
    nlohmann::json j = {{"file", options.file}, {"format", "varstore"}, {"variables", variables}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::fputs(text.c_str(), stdout);
  }
  return kExitOk;
}

// The entry's value column and its JSON fields.
std::string DescribeEntry(const CryptoProvider& provider, const efi::SignatureEntry& entry,
                          nlohmann::json& j) {
  switch (entry.type) {
    case efi::SignatureType::X509: {
      uint8_t fingerprint[32];
      if (DigestOnce(provider, DigestAlg::Sha256, entry.data, fingerprint) != Result::Success) {
        return "<digest failed>";
      }
      const std::string subject = NameToString(entry.certificate.subject);
      j["subject"] = subject;
      j["issuer"] = NameToString(entry.certificate.issuer);
      j["serial"] = HexOf(entry.certificate.serial);
      j["sha256"] = Hex(fingerprint, sizeof fingerprint);
      return subject + " " + Hex(fingerprint, sizeof fingerprint);
    }
    case efi::SignatureType::Unknown:
      j["type_guid"] = FormatGuid(entry.type_guid);
      j["data"] = HexOf(entry.data);
      return FormatGuid(entry.type_guid) + " " + HexOf(entry.data);
    case efi::SignatureType::Rsa2048:
    case efi::SignatureType::Rsa2048Sha256:
    case efi::SignatureType::Rsa2048Sha1:
      j["data"] = HexOf(entry.data);
      return HexOf(entry.data);
    default:
      j["hash"] = HexOf(entry.hash);
      if (efi::IsTbsHashType(entry.type)) {
        // A zero time means revoked for all time (UEFI 2.10 §32.4.1).
        j["revocation_time"] = IsZeroTime(entry.revocation_time)
                                   ? nlohmann::json(nullptr)
                                   : nlohmann::json(FormatTime(entry.revocation_time));
      }
      return HexOf(entry.hash);
  }
}

}  // namespace

int RunEslList(const GlobalOptions& global, const EslListOptions& options) {
  efi::VariableFormat format;
  if (!ParseFormat(options.format, format)) {
    std::fprintf(stderr, "hvsig esl list: unknown format %s\n", options.format.c_str());
    return kExitUsage;
  }
  std::vector<uint8_t> bytes;
  std::string io_error;
  if (!ReadWholeFile(options.file, bytes, io_error)) {
    std::fprintf(stderr, "hvsig esl list: %s\n", io_error.c_str());
    return kExitUsage;
  }
  const Input file(bytes.data(), bytes.size());
  if (format == efi::VariableFormat::Auto) format = efi::DetectVariableFormat(file);
  if (format != efi::VariableFormat::VarStore && !options.var.empty()) {
    std::fprintf(stderr, "hvsig esl list: --var needs a variable store, %s is %s\n",
                 options.file.c_str(), efi::VariableFormatName(format));
    return kExitUsage;
  }
  if (format == efi::VariableFormat::VarStore && options.var.empty()) {
    return ListVariables(options, file);
  }
  if (format == efi::VariableFormat::VarStore &&
      efi::SignatureDatabaseVendor(options.var.c_str()) == nullptr) {
    std::fprintf(stderr,
                 "hvsig esl list: %s is not a signature database (PK, KEK, db, dbx, dbt, dbr, "
                 "their *Default copies, MokList, MokListRT, MokListX, MokListXRT)\n",
                 options.var.c_str());
    return kExitUsage;
  }

  efi::SignatureDatabase database;
  Error error;
  if (efi::OpenSignatureDatabase(file, format, options.var.c_str(), database, error) !=
      Result::Success) {
    return Malformed(options, format, error, Result::Success);
  }
  const CryptoProvider& provider = SelectProvider(global.provider);
  // Everything is read before anything is printed: a malformed list prints no entries.
  std::vector<efi::SignatureEntry> entries;
  efi::SignatureListReader reader(provider, database.lists, database.lists_offset);
  while (!reader.AtEnd()) {
    efi::SignatureEntry entry;
    if (reader.Next(entry, error) != Result::Success) {
      return Malformed(options, format, error, reader.certificate_error());
    }
    entries.push_back(entry);
  }

  nlohmann::json list = nlohmann::json::array();
  std::string text;
  for (const efi::SignatureEntry& entry : entries) {
    const std::string owner = FormatGuid(entry.owner);
    nlohmann::json j = {{"type", efi::SignatureTypeName(entry.type)},
                        {"owner", owner},
                        {"list_offset", entry.list_offset},
                        {"entry_offset", entry.entry_offset}};
    const std::string value = DescribeEntry(provider, entry, j);
    text += std::string(efi::SignatureTypeName(entry.type)) + " " + owner + " " + value + "\n";
    list.push_back(j);
  }
  if (options.json) {
    nlohmann::json j = {
        {"file", options.file}, {"format", efi::VariableFormatName(format)}, {"entries", list}};
    if (!options.var.empty()) j["variable"] = options.var;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::fputs(text.c_str(), stdout);
  }
  return kExitOk;
}

}  // namespace hvsig::tools
