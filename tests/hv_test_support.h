// The hv tests' simulated control domain: SimGuest, the standard machine and the op helpers
// live in src/hv/sim_guest.h (shared with hvsig-model-demo); this adds test-only images.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "hv/kexec.h"
#include "hv/sim_guest.h"
#include "hvsig/crypto_builtin.h"
#include "hvsig/xen/kexec_file.h"

namespace hvsig::hv::test {

using sim::Bytes;
using sim::Cmdline;
using sim::Exec;
using sim::FileBuffers;
using sim::kCrashSize;
using sim::kCrashStart;
using sim::LegacyLoad;
using sim::LegacySegment;
using sim::Op;
using sim::PutFileLoad;
using sim::SimGuest;
using sim::StandardMachine;
using sim::Status;
using sim::Unload;

// A small valid legacy image of `type` (one 2-page segment).
inline long SimpleLegacyLoad(Kexec& kexec, SimGuest& guest, uint8_t type, uint8_t fill = 0x5a) {
  const uint64_t dest = type == KEXEC_TYPE_CRASH ? kCrashStart + 0x100000 : 0x1000000;
  return LegacyLoad(kexec, guest, type, dest, {{Bytes(5000, fill), dest, 0x2000}});
}

// A minimal bzImage (boot protocol 2.15, 64-bit, relocatable) the loader accepts: setup
// header in a 2-sector real-mode part, then `payload` bytes of protected-mode "kernel".
inline Bytes MinimalBzImage(size_t payload = 8192, uint8_t fill = 0x90) {
  Bytes b(1024 + payload, fill);
  std::memset(b.data(), 0, 1024);
  auto put16 = [&](size_t at, uint16_t v) { b[at] = v & 0xff; b[at + 1] = v >> 8; };
  auto put32 = [&](size_t at, uint32_t v) { put16(at, v & 0xffff); put16(at + 2, v >> 16); };
  b[0x1f1] = 1;                      // setup_sects
  put32(0x1f4, static_cast<uint32_t>(payload / 16));  // syssize
  put16(0x1fe, 0xaa55);              // boot_flag
  std::memcpy(&b[0x202], "HdrS", 4);
  put16(0x206, 0x020f);              // version
  b[0x211] = 0x01;                   // loadflags: LOADED_HIGH
  put32(0x214, 0x100000);            // code32_start
  put32(0x22c, 0x7fffffff);          // initrd_addr_max
  put32(0x230, 0x200000);            // kernel_alignment
  b[0x234] = 1;                      // relocatable_kernel
  b[0x235] = 21;                     // min_alignment (2 MiB)
  put16(0x236, 0x0003);              // xloadflags: KERNEL_64 | CAN_BE_LOADED_ABOVE_4G
  put32(0x238, 2047);                // cmdline_size
  put32(0x258, 0x1000000);           // pref_address (low dword)
  put32(0x260, static_cast<uint32_t>(((payload + 0x200000) + 4095) & ~4095u));  // init_size
  return b;
}

}  // namespace hvsig::hv::test
