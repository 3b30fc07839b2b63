#include "hv/sim_guest.h"

#include <algorithm>

namespace hvsig::hv::sim {

uint64_t SimGuest::Alloc(uint64_t size) {
  const uint64_t addr = next_;
  regions_[addr] = Bytes(static_cast<size_t>(size), 0);
  next_ += ((size + 4095) / 4096 + 1) * 4096;
  return addr;
}

uint64_t SimGuest::Put(const Bytes& bytes) {
  const uint64_t addr = Alloc(bytes.size());
  if (!bytes.empty()) std::memcpy(Data(addr), bytes.data(), bytes.size());
  return addr;
}

uint8_t* SimGuest::Data(uint64_t addr, uint64_t length) {
  auto it = regions_.upper_bound(addr);
  if (it == regions_.begin()) return nullptr;
  --it;
  const uint64_t offset = addr - it->first;
  if (offset > it->second.size() || length > it->second.size() - offset) return nullptr;
  return it->second.data() + offset;
}

int SimGuest::CopyFrom(void* opaque, void* dst, uint64_t addr, size_t length) {
  auto* self = static_cast<SimGuest*>(opaque);
  const long n = self->copies_from++;
  self->reads.emplace_back(addr, length);
  if (n == self->fail_copy_from) return -1;
  uint8_t* src = self->Data(addr, length);
  if (src == nullptr) return -1;
  std::memcpy(dst, src, length);
  if (self->after_copy_from) self->after_copy_from(addr, length);
  return 0;
}

int SimGuest::CopyTo(void* opaque, uint64_t addr, const void* src, size_t length) {
  auto* self = static_cast<SimGuest*>(opaque);
  const long n = self->copies_to++;
  if (n == self->fail_copy_to) return -1;
  uint8_t* dst = self->Data(addr, length);
  if (dst == nullptr) return -1;
  std::memcpy(dst, src, length);
  return 0;
}

// x86-64's canonical lower half, as Xen's access_ok bounds a PV guest.
bool SimGuest::RangeOk(void*, uint64_t addr, uint64_t length) {
  return addr + length >= addr && addr + length <= (1ull << 47);
}

MachineConfig StandardMachine() {
  MachineConfig m;
  m.e820 = {
      {0x0, 0x9fc00, 1},          {0x9fc00, 0x400, 2},          {0xf0000, 0x10000, 2},
      {0x100000, 0x7ff00000, 1},  {0x80000000, 0x10000000, 2},  {0x100000000, 0x80000000, 1},
  };
  m.crash = {kCrashStart, kCrashSize};
  m.cpus = 4;
  m.efi.present = true;
  m.efi.system_table = 0x7ee0f018;
  m.efi.descriptor_size = 48;
  m.efi.descriptor_version = 1;
  m.efi.memory_map.assign(3 * 48, 0);
  for (int i = 0; i < 3; ++i) m.efi.memory_map[i * 48] = 7;  // EfiConventionalMemory
  m.acpi_rsdp = 0x7fb7e014;
  m.mode = policy::Mode::Off;
  return m;
}

long Status(Kexec& kexec, SimGuest& guest, uint8_t type) {
  xen_kexec_status_t s{type};
  return Op(kexec, guest, KEXEC_CMD_kexec_status, s);
}

long Unload(Kexec& kexec, SimGuest& guest, uint8_t type) {
  xen_kexec_unload_t u{type};
  return Op(kexec, guest, KEXEC_CMD_kexec_unload, u);
}

long Exec(Kexec& kexec, SimGuest& guest, int32_t type) {
  xen_kexec_exec_t e{type};
  return Op(kexec, guest, KEXEC_CMD_kexec, e);
}

long LegacyLoad(Kexec& kexec, SimGuest& guest, uint8_t type, uint64_t entry,
                const std::vector<LegacySegment>& segments, uint16_t arch, uint32_t nr_override) {
  std::vector<xen_kexec_segment_t> table;
  for (const LegacySegment& s : segments) {
    table.push_back({s.null_buf ? 0 : guest.Put(s.data), s.data.size(), s.dest, s.dest_size});
  }
  const uint64_t table_addr = guest.Alloc(std::max<size_t>(1, table.size()) * sizeof(xen_kexec_segment_t));
  if (!table.empty()) std::memcpy(guest.Data(table_addr), table.data(), table.size() * sizeof table[0]);
  xen_kexec_load_t load{};
  load.type = type;
  load.arch = arch;
  load.nr_segments = nr_override ? nr_override : static_cast<uint32_t>(table.size());
  load.segments = table_addr;
  load.entry_maddr = entry;
  return Op(kexec, guest, KEXEC_CMD_kexec_load, load);
}

uint64_t PutFileLoad(SimGuest& guest, const FileBuffers& buffers, uint8_t type, uint32_t flags) {
  xen_kexec_file_load_t a{};
  a.type = type;
  a.flags = flags;
  auto put = [&](const Bytes& bytes, xen_kexec_file_buffer_t& buffer) {
    buffer.size = bytes.size();
    buffer.h = bytes.empty() ? 0 : guest.Put(bytes);
  };
  put(buffers.kernel, a.kernel);
  put(buffers.initrd, a.initrd);
  put(buffers.cmdline, a.cmdline);
  put(buffers.initrd_sig, a.initrd_sig);
  return guest.PutStruct(a);
}

Bytes Cmdline(const std::string& text) {
  Bytes b(text.size() + 1, 0);  // the final NUL (no push_back: GCC 12 -Wstringop-overflow)
  std::memcpy(b.data(), text.data(), text.size());
  return b;
}

}  // namespace hvsig::hv::sim
