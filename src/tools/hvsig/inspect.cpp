#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "hvsig/pe.h"
#include "tools/common/file_image.h"
#include "tools/hvsig/commands.h"

namespace hvsig::tools {
namespace {

std::string SectionName(const pe::Section& s) {
  size_t n = 0;
  while (n < sizeof s.name && s.name[n] != 0) ++n;
  return std::string(s.name, n);
}

nlohmann::json RangeJson(const pe::ByteRange& r) {
  return {{"offset", r.offset}, {"length", r.length}};
}

nlohmann::json LayoutJson(const pe::PeImage& pe) {
  nlohmann::json j;
  j["format"] = pe.pe32_plus ? "PE32+" : "PE32";
  j["machine"] = pe.machine;
  j["subsystem"] = pe.subsystem;
  j["file_size"] = pe.file_size;
  j["size_of_headers"] = pe.size_of_headers;
  j["number_of_rva_and_sizes"] = pe.number_of_rva_and_sizes;
  j["checksum"] = pe.checksum;
  nlohmann::json sections = nlohmann::json::array();
  for (uint16_t i = 0; i < pe.section_count; ++i) {
    const pe::Section& s = pe.sections[i];
    sections.push_back({{"name", SectionName(s)},
                        {"virtual_address", s.virtual_address},
                        {"virtual_size", s.virtual_size},
                        {"pointer_to_raw_data", s.pointer_to_raw_data},
                        {"size_of_raw_data", s.size_of_raw_data},
                        {"characteristics", s.characteristics}});
  }
  j["sections"] = sections;
  j["gaps"] = pe.gap_count;
  if (pe.gap_count != 0) j["first_gap"] = RangeJson(pe.first_gap);
  j["section_overlap"] = pe.section_overlap;
  j["extra_data"] = RangeJson(pe.extra_data);
  j["certificate_table"] = RangeJson(pe.cert_table);
  nlohmann::json entries = nlohmann::json::array();
  for (uint8_t i = 0; i < pe.certificate_count; ++i) {
    const pe::CertificateEntry& e = pe.certificates[i];
    entries.push_back({{"offset", e.offset},
                       {"length", e.length},
                       {"revision", e.revision},
                       {"type", e.type},
                       {"pkcs7", RangeJson(e.der)}});
  }
  j["certificate_entries"] = entries;
  return j;
}

void PrintLayout(const pe::PeImage& pe) {
  std::printf("format: %s machine 0x%04x subsystem %u, %llu bytes, SizeOfHeaders %u, %u data directories\n",
              pe.pe32_plus ? "PE32+" : "PE32", pe.machine, pe.subsystem,
              static_cast<unsigned long long>(pe.file_size), pe.size_of_headers,
              pe.number_of_rva_and_sizes);
  std::printf("sections: %u\n", pe.section_count);
  for (uint16_t i = 0; i < pe.section_count; ++i) {
    const pe::Section& s = pe.sections[i];
    std::printf("  %-8s raw 0x%08x+0x%08x  va 0x%08x+0x%08x  flags 0x%08x\n",
                SectionName(s).c_str(), s.pointer_to_raw_data, s.size_of_raw_data,
                s.virtual_address, s.virtual_size, s.characteristics);
  }
  if (pe.gap_count != 0) {
    std::printf("unhashed gaps: %u (first at 0x%llx, %llu bytes)\n", pe.gap_count,
                static_cast<unsigned long long>(pe.first_gap.offset),
                static_cast<unsigned long long>(pe.first_gap.length));
  }
  if (pe.section_overlap) std::printf("sections overlap the headers or each other\n");
  std::printf("extra data: 0x%llx+0x%llx\n", static_cast<unsigned long long>(pe.extra_data.offset),
              static_cast<unsigned long long>(pe.extra_data.length));
  if (!pe.is_signed()) {
    std::printf("certificate table: none (unsigned)\n");
    return;
  }
  std::printf("certificate table: 0x%llx+0x%llx, %u entr%s\n",
              static_cast<unsigned long long>(pe.cert_table.offset),
              static_cast<unsigned long long>(pe.cert_table.length), pe.certificate_count,
              pe.certificate_count == 1 ? "y" : "ies");
  for (uint8_t i = 0; i < pe.certificate_count; ++i) {
    const pe::CertificateEntry& e = pe.certificates[i];
    std::printf("  [%u] at 0x%llx dwLength %u revision 0x%04x type %u\n", i,
                static_cast<unsigned long long>(e.offset), e.length, e.revision, e.type);
  }
}

}  // namespace

int RunInspect(const GlobalOptions&, const InspectOptions& options) {
  FileImage file;
  std::string io_error;
  if (!file.Open(options.image, io_error)) {
    std::fprintf(stderr, "hvsig inspect: %s\n", io_error.c_str());
    return kExitUsage;
  }
  auto pe = std::make_unique<pe::PeImage>();
  Error error;
  if (pe::ParsePe(file.Source(), pe::Profile::Compat, *pe, error) != Result::Success) {
    if (options.json) {
      nlohmann::json j = {{"file", options.image},
                          {"error", ResultName(error.result)},
                          {"offset", error.offset}};
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      std::printf("malformed: %s at offset %llu\n", ResultName(error.result),
                  static_cast<unsigned long long>(error.offset));
    }
    return kExitRejected;
  }
  if (options.json) {
    nlohmann::json j = LayoutJson(*pe);
    j["file"] = options.image;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    PrintLayout(*pe);
  }
  return kExitOk;
}

}  // namespace hvsig::tools
