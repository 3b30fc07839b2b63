#include "tools/hypervisor/machine.h"

#include <cerrno>
#include <cstdlib>

#include "hvsig/crypto_builtin.h"
#include "hvsig/x509.h"
#include "tools/common/certs.h"
#include "tools/common/file_image.h"

namespace hvsig::hypervisor {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t kLowRamEnd = 0x9fc00;      // the EBDA starts here
constexpr uint64_t kBiosArea = 0xf0000;
constexpr uint64_t kLowMemoryCeiling = 3 * kGiB;  // the PCI hole starts here
constexpr uint64_t kFourGiB = 4 * kGiB;
constexpr uint64_t kFlashStart = 0xffc00000;  // firmware flash, top 4 MiB below 4 GiB
constexpr uint64_t kXenSize = 16 * kMiB;
constexpr uint64_t kPage = 4096;

constexpr uint32_t kEfiReservedMemoryType = 0;
constexpr uint32_t kEfiConventionalMemory = 7;
constexpr uint32_t kEfiDescriptorSize = 48;   // as firmware reports it: 40 bytes + padding

void PutLe(std::vector<uint8_t>& out, size_t at, uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) out[at + i] = static_cast<uint8_t>(value >> (8 * i));
}

// DER length octets.
void PutLength(std::vector<uint8_t>& out, size_t length) {
  if (length < 0x80) {
    out.push_back(static_cast<uint8_t>(length));
    return;
  }
  uint8_t octets[8];
  size_t n = 0;
  for (size_t l = length; l != 0; l >>= 8) octets[n++] = static_cast<uint8_t>(l);
  out.push_back(static_cast<uint8_t>(0x80 | n));
  while (n > 0) out.push_back(octets[--n]);
}

// SubjectPublicKeyInfo { AlgorithmIdentifier { rsaEncryption, NULL }, BIT STRING { pkcs1 } }.
std::vector<uint8_t> SpkiFromPkcs1(const std::vector<uint8_t>& pkcs1) {
  static const uint8_t kRsaAlgorithm[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                          0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
  std::vector<uint8_t> bit_string{0x03};
  PutLength(bit_string, pkcs1.size() + 1);
  bit_string.push_back(0x00);  // no unused bits
  bit_string.insert(bit_string.end(), pkcs1.begin(), pkcs1.end());
  std::vector<uint8_t> spki{0x30};
  PutLength(spki, sizeof kRsaAlgorithm + bit_string.size());
  spki.insert(spki.end(), kRsaAlgorithm, kRsaAlgorithm + sizeof kRsaAlgorithm);
  spki.insert(spki.end(), bit_string.begin(), bit_string.end());
  return spki;
}

}  // namespace

bool ParseSize(const std::string& text, uint64_t& out) {
  if (text.empty() || text[0] == '-' || text[0] == '+') return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text.c_str(), &end, 0);
  if (errno != 0 || end == text.c_str()) return false;
  const std::string suffix(end);
  unsigned shift = 0;
  if (suffix.empty() || suffix == "B") {
    shift = 0;
  } else if (suffix == "K" || suffix == "k" || suffix == "KiB" || suffix == "KB") {
    shift = 10;
  } else if (suffix == "M" || suffix == "m" || suffix == "MiB" || suffix == "MB") {
    shift = 20;
  } else if (suffix == "G" || suffix == "g" || suffix == "GiB" || suffix == "GB") {
    shift = 30;
  } else {
    return false;
  }
  if (shift != 0 && value > (~0ull >> shift)) return false;
  out = static_cast<uint64_t>(value) << shift;
  return true;
}

bool ParseRegion(const std::string& text, hv::MemoryRange& out) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos) return false;
  hv::MemoryRange range;
  if (!ParseSize(text.substr(0, colon), range.start)) return false;
  if (!ParseSize(text.substr(colon + 1), range.size)) return false;
  if (range.size == 0 || range.start + range.size < range.start) return false;
  out = range;
  return true;
}

std::vector<hv::E820Entry> PcMemoryMap(uint64_t memory) {
  const auto ram = static_cast<uint32_t>(hv::E820Type::Ram);
  const auto reserved = static_cast<uint32_t>(hv::E820Type::Reserved);
  std::vector<hv::E820Entry> map = {
      {0, kLowRamEnd, ram},
      {kLowRamEnd, 0xa0000 - kLowRamEnd, reserved},
      {kBiosArea, 0x100000 - kBiosArea, reserved},
  };
  const uint64_t low_end = memory < kLowMemoryCeiling ? memory : kLowMemoryCeiling;
  if (low_end > kMiB) map.push_back({kMiB, low_end - kMiB, ram});
  map.push_back({kFlashStart, kFourGiB - kFlashStart, reserved});
  if (memory > kLowMemoryCeiling) map.push_back({kFourGiB, memory - kLowMemoryCeiling, ram});
  return map;
}

uint64_t RamBytes(const std::vector<hv::E820Entry>& map) {
  uint64_t total = 0;
  for (const hv::E820Entry& e : map) {
    if (e.type == static_cast<uint32_t>(hv::E820Type::Ram)) total += e.size;
  }
  return total;
}

hv::EfiEnvironment PcEfi(const std::vector<hv::E820Entry>& map) {
  hv::EfiEnvironment efi;
  efi.present = true;
  efi.system_table = kBiosArea + 0x8000;  // inside the reserved firmware area
  efi.descriptor_size = kEfiDescriptorSize;
  efi.descriptor_version = 1;
  efi.memory_map.assign(map.size() * kEfiDescriptorSize, 0);
  for (size_t i = 0; i < map.size(); ++i) {
    const size_t at = i * kEfiDescriptorSize;
    const bool ram = map[i].type == static_cast<uint32_t>(hv::E820Type::Ram);
    PutLe(efi.memory_map, at, ram ? kEfiConventionalMemory : kEfiReservedMemoryType, 4);
    PutLe(efi.memory_map, at + 8, map[i].start, 8);                   // PhysicalStart
    PutLe(efi.memory_map, at + 24, (map[i].size + kPage - 1) / kPage, 8);  // NumberOfPages
  }
  return efi;
}

hv::MachineConfig PcMachine(uint64_t memory, const hv::MemoryRange& crash, unsigned cpus) {
  hv::MachineConfig config;
  config.e820 = PcMemoryMap(memory);
  config.crash = crash;
  config.cpus = cpus;
  config.efi = PcEfi(config.e820);
  // Xen relocates itself to the top of the RAM below 4 GiB; the crash notes sit below it.
  const uint64_t low_end = memory < kLowMemoryCeiling ? memory : kLowMemoryCeiling;
  const uint64_t xen_start = low_end > 2 * kXenSize ? (low_end - kXenSize) & ~(2 * kMiB - 1) : 0;
  config.xen = {xen_start, xen_start != 0 ? kXenSize : 0};
  config.notes_base = xen_start > kMiB ? xen_start - kMiB : 0;
  return config;
}

bool LoadRsaPublicKey(const std::string& path, std::vector<uint8_t>& spki, std::string& error) {
  std::vector<uint8_t> bytes;
  if (!tools::ReadWholeFile(path, bytes, error)) return false;
  const std::string text(bytes.begin(), bytes.end());
  std::vector<std::vector<uint8_t>> blocks;
  bool pkcs1 = false;
  if (text.find("-----BEGIN RSA PUBLIC KEY-----") != std::string::npos) {
    pkcs1 = true;
    if (!tools::DecodePem(text, "RSA PUBLIC KEY", blocks) || blocks.size() != 1) {
      error = path + ": malformed PEM (want one RSA PUBLIC KEY block)";
      return false;
    }
  } else if (text.find("-----BEGIN") != std::string::npos) {
    if (!tools::DecodePem(text, "PUBLIC KEY", blocks) || blocks.size() != 1) {
      error = path + ": malformed PEM (want one PUBLIC KEY block)";
      return false;
    }
  } else {
    blocks.push_back(bytes);
  }
  const CryptoProvider& provider = BuiltinProvider();
  SubjectPublicKeyInfo key{};
  der::Error der_error;
  std::vector<uint8_t> candidate = pkcs1 ? SpkiFromPkcs1(blocks[0]) : blocks[0];
  Result r = ParseSubjectPublicKeyInfo(provider, Input(candidate.data(), candidate.size()), key,
                                       &der_error);
  if (r != Result::Success && !pkcs1) {
    // DER input may be PKCS#1 RSAPublicKey as well.
    std::vector<uint8_t> wrapped = SpkiFromPkcs1(blocks[0]);
    if (ParseSubjectPublicKeyInfo(provider, Input(wrapped.data(), wrapped.size()), key) ==
        Result::Success) {
      candidate = std::move(wrapped);
      r = Result::Success;
    }
  }
  if (r != Result::Success) {
    error = path + ": " + ResultName(der_error.result != Result::Success ? der_error.result : r) +
            " at offset " +
            std::to_string(der_error.offset);
    return false;
  }
  if (key.type != KeyType::Rsa) {
    error = path + ": not an RSA key";
    return false;
  }
  spki = std::move(candidate);
  return true;
}

}  // namespace hvsig::hypervisor
