// The machine hvsig-hypervisor models, from its command line: sizes with K/M/G suffixes, a PC
// memory map for a given amount of RAM, and the raw RSA public keys it keeps for livepatch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hv/bzimage_loader.h"
#include "hv/kexec.h"

namespace hvsig::hypervisor {

// "4G", "512M", "64K", "4096", "0x1000000" (K/M/G are powers of 1024, with or without a
// trailing "iB"/"B"). False on anything else or on overflow.
bool ParseSize(const std::string& text, uint64_t& out);

// "START:SIZE", both as ParseSize reads them. False on a malformed or wrapping range.
bool ParseRegion(const std::string& text, hv::MemoryRange& out);

// A PC's e820 for `memory` bytes of RAM: conventional memory below 0x9fc00, the EBDA and BIOS
// area reserved, RAM from 1 MiB up to min(memory, 3 GiB), the PCI hole (firmware flash
// reserved) up to 4 GiB, and the rest of the RAM from 4 GiB up.
std::vector<hv::E820Entry> PcMemoryMap(uint64_t memory);

// Bytes of type RAM in a map.
uint64_t RamBytes(const std::vector<hv::E820Entry>& map);

// The firmware's EFI memory map for the same machine (one descriptor per e820 entry), so the
// next kernel's boot_params carry a map that agrees with the e820.
hv::EfiEnvironment PcEfi(const std::vector<hv::E820Entry>& map);

// The machine description the model boots with: e820, crash region, CPUs, where Xen and the
// crash notes sit (top of low RAM). Keyrings and policy are the caller's.
hv::MachineConfig PcMachine(uint64_t memory, const hv::MemoryRange& crash, unsigned cpus);

// An RSA public key file: PEM "PUBLIC KEY" (SubjectPublicKeyInfo) or "RSA PUBLIC KEY"
// (PKCS#1), or the DER of either. On success `spki` is the key as SubjectPublicKeyInfo DER,
// validated by the core's parser; otherwise an error message.
bool LoadRsaPublicKey(const std::string& path, std::vector<uint8_t>& spki, std::string& error);

}  // namespace hvsig::hypervisor
