// Xen 4.17's answers, hypercall by hypercall: do_xen_version (xen/common/kernel.c),
// arch_memory_op's XENMEM_machine_memory_map (xen/arch/x86/mm.c), do_sysctl's physinfo
// (xen/common/sysctl.c, xen/arch/x86/sysctl.c) and livepatch_op (the model,
// src/hv/livepatch.cpp), and do_kexec_op (the model, src/hv/kexec.cpp).
// The calling domain is always the privileged PV dom0: XSM never denies.
#include "tools/hypervisor/hypervisor.h"

#include <cerrno>
#include <cinttypes>
#include <cstddef>
#include <cstring>

extern "C" {
#include <xen/xen.h>
#include <xen/memory.h>
#include <xen/sysctl.h>
#include <xen/version.h>
#include <xen/features.h>
}

#include "hv/errno_name.h"
#include "hv/xen_identity.h"
#include "hvsig/xen/kexec_file.h"
#include "hvsig/xen/livepatch.h"
#include "tools/common/file_image.h"
#include "tools/hypervisor/machine.h"

namespace hvsig::hypervisor {
namespace {

namespace identity = hv::xen_identity;

constexpr uint64_t kMemopCmdMask = (1u << 6) - 1;  // MEMOP_CMD_MASK: the rest is start_extent

// The livepatch model reads Xen's structure through its own copy of the ABI.
static_assert(sizeof(::xen_sysctl_livepatch_op) == sizeof(xen::xen_sysctl_livepatch_op_t));
static_assert(offsetof(::xen_sysctl_livepatch_op, u.upload.payload) ==
              offsetof(xen::xen_sysctl_livepatch_op_t, u.upload.payload));
static_assert(offsetof(::xen_sysctl_livepatch_op, u.list.metadata_len) ==
              offsetof(xen::xen_sysctl_livepatch_op_t, u.list.metadata_len));
static_assert(offsetof(::xen_sysctl_livepatch_op, u.action.pad) ==
              offsetof(xen::xen_sysctl_livepatch_op_t, u.action.pad));
static_assert(offsetof(::xen_sysctl_livepatch_op, u.get.status.rc) ==
              offsetof(xen::xen_sysctl_livepatch_op_t, u.get.status.rc));

const char* KexecCmdName(uint64_t cmd) {
  switch (cmd) {
    case KEXEC_CMD_kexec: return "KEXEC_CMD_kexec";
    case KEXEC_CMD_kexec_load_v1: return "KEXEC_CMD_kexec_load_v1";
    case KEXEC_CMD_kexec_unload_v1: return "KEXEC_CMD_kexec_unload_v1";
    case KEXEC_CMD_kexec_get_range: return "KEXEC_CMD_kexec_get_range";
    case KEXEC_CMD_kexec_load: return "KEXEC_CMD_kexec_load";
    case KEXEC_CMD_kexec_unload: return "KEXEC_CMD_kexec_unload";
    case KEXEC_CMD_kexec_status: return "KEXEC_CMD_kexec_status";
    case KEXEC_CMD_kexec_file_load: return "KEXEC_CMD_kexec_file_load";
    default: return nullptr;
  }
}

const char* XenVersionName(uint64_t cmd) {
  switch (cmd) {
    case XENVER_version: return "XENVER_version";
    case XENVER_extraversion: return "XENVER_extraversion";
    case XENVER_compile_info: return "XENVER_compile_info";
    case XENVER_capabilities: return "XENVER_capabilities";
    case XENVER_changeset: return "XENVER_changeset";
    case XENVER_platform_parameters: return "XENVER_platform_parameters";
    case XENVER_get_features: return "XENVER_get_features";
    case XENVER_pagesize: return "XENVER_pagesize";
    case XENVER_guest_handle: return "XENVER_guest_handle";
    case XENVER_commandline: return "XENVER_commandline";
    case XENVER_build_id: return "XENVER_build_id";
    default: return nullptr;
  }
}

const char* SysctlName(uint32_t cmd) {
  switch (cmd) {
    case XEN_SYSCTL_physinfo: return "XEN_SYSCTL_physinfo";
    case XEN_SYSCTL_livepatch_op: return "XEN_SYSCTL_livepatch_op";
    default: return nullptr;
  }
}

const char* LivepatchOpName(uint32_t cmd) {
  switch (cmd) {
    case XEN_SYSCTL_LIVEPATCH_UPLOAD: return "UPLOAD";
    case XEN_SYSCTL_LIVEPATCH_GET: return "GET";
    case XEN_SYSCTL_LIVEPATCH_LIST: return "LIST";
    case XEN_SYSCTL_LIVEPATCH_ACTION: return "ACTION";
    default: return nullptr;
  }
}

// "family(SUBOP)" with the sub-op's name, or its number when it has none.
std::string CallName(const char* family, const char* subop, uint64_t number) {
  return std::string(family) + "(" + (subop != nullptr ? subop : std::to_string(number)) + ")";
}

std::string ResultText(long rc) {
  if (rc >= 0) return std::to_string(rc);
  const std::string name = hv::ErrnoName(rc);
  if (name != "-E?") return name;
  const char* symbol = strerrorname_np(static_cast<int>(-rc));
  return symbol != nullptr ? std::string("-") + symbol : std::to_string(rc);
}

// safe_strcpy into a fixed, zero-filled Xen string type, then copy_to_guest of the whole array.
template <size_t N>
long CopyStringOut(const hv::GuestMemory& guest, uint64_t arg, const char* text) {
  char buffer[N] = {};
  std::strncpy(buffer, text, N - 1);
  return hv::copy_to_guest(guest, arg, buffer, N) != 0 ? -EFAULT : 0;
}

}  // namespace

void Console::Line(const std::string& line) {
  std::lock_guard<std::mutex> guard(lock_);
  std::fprintf(stdout, "%s\n", line.c_str());
  std::fflush(stdout);
  if (log_file_ != nullptr) {
    std::fprintf(log_file_, "%s\n", line.c_str());
    std::fflush(log_file_);
  }
}

Hypervisor::Hypervisor(const hv::MachineConfig& machine, const HostConfig& host,
                       const CryptoProvider& provider, Console& console)
    : machine_(machine), host_(host), provider_(provider), console_(console) {
  std::unique_lock<std::shared_mutex> exclusive(machine_lock_);
  Boot();
}

Hypervisor::~Hypervisor() = default;

bool Hypervisor::Booted() const {
  std::shared_lock<std::shared_mutex> shared(machine_lock_);
  return kexec_->Booted() && livepatch_->Booted();
}

std::string Hypervisor::BootError() const {
  std::shared_lock<std::shared_mutex> shared(machine_lock_);
  return !kexec_->Booted() ? kexec_->BootError() : livepatch_->BootError();
}

void Hypervisor::Note(const std::string& text) {
  console_.Line("(XEN) hvsig-hypervisor: " + text);
}

void Hypervisor::Boot() {
  ++boot_count_;
  char line[256];
  std::snprintf(line, sizeof line,
                "boot #%u: Xen %u.%u%s, %" PRIu64 " MiB RAM in %zu e820 entries, %u CPUs, "
                "Secure Boot %s, %zu raw RSA key(s) for livepatch",
                boot_count_, identity::kMajor, identity::kMinor, identity::kExtraVersion,
                RamBytes(machine_.e820) >> 20, machine_.e820.size(), machine_.cpus,
                machine_.secure_boot ? "on" : "off", machine_.keyrings.builtin_raw_keys.size());
  Note(line);
  // One set of keyrings per boot, as Xen holds: both models read it.
  const std::shared_ptr<const hv::BootKeyrings> keyrings =
      hv::LoadBootKeyrings(provider_, machine_.keyrings);
  kexec_ = std::make_unique<hv::Kexec>(machine_, provider_, keyrings);
  livepatch_ = std::make_unique<hv::Livepatch>(machine_, provider_, keyrings);
  std::lock_guard<std::mutex> guard(drain_lock_);
  console_printed_ = 0;
  livepatch_printed_ = 0;
  DrainConsole();
}

// A call reaches one model, so draining both keeps each call's lines together and in order.
void Hypervisor::DrainConsole() {
  const std::vector<std::string> lines = kexec_->Console();
  for (; console_printed_ < lines.size(); ++console_printed_) console_.Line(lines[console_printed_]);
  const std::vector<std::string> livepatch_lines = livepatch_->Console();
  for (; livepatch_printed_ < livepatch_lines.size(); ++livepatch_printed_) {
    console_.Line(livepatch_lines[livepatch_printed_]);
  }
}

void Hypervisor::Summary(pid_t pid, const Result& result) {
  std::lock_guard<std::mutex> guard(drain_lock_);
  DrainConsole();
  console_.Line("(XEN) hypercall " + result.name + " from pid " + std::to_string(pid) + ": " +
                ResultText(result.rc));
}

long Hypervisor::Hypercall(pid_t pid, uint64_t op, const uint64_t (&args)[5],
                           const hv::GuestMemory& guest) {
  if (op == __HYPERVISOR_kexec_op && args[0] == KEXEC_CMD_kexec) {
    // A successful exec replaces the machine: no other op may see it half-way.
    std::unique_lock<std::shared_mutex> exclusive(machine_lock_);
    const Result result = KexecOp(args[0], args[1], guest);
    Summary(pid, result);
    hv::Handoff handoff{};
    if (result.rc == 0 && kexec_->Kexeced(handoff)) {
      char line[320];
      std::snprintf(line, sizeof line,
                    "kexec handoff: %s image load #%u, kernel sha256 %s, entry %#" PRIx64
                    "; the machine now runs image #%u",
                    handoff.type == KEXEC_TYPE_CRASH ? "crash" : "default", handoff.load_sequence,
                    handoff.file_loaded ? tools::Hex(handoff.kernel_sha256, 32).c_str()
                                        : "(legacy load: not measured)",
                    handoff.entry_maddr, handoff.load_sequence);
      Note(line);
      Boot();
    }
    return result.rc;
  }

  if (op == __HYPERVISOR_multicall) return Multicall(pid, args[0], args[1], guest);

  std::shared_lock<std::shared_mutex> shared(machine_lock_);
  Result result;
  switch (op) {
    case __HYPERVISOR_kexec_op:
      result = KexecOp(args[0], args[1], guest);
      break;
    case __HYPERVISOR_xen_version:
      result = XenVersion(args[0], args[1], guest);
      break;
    case __HYPERVISOR_memory_op:
      result = MemoryOp(args[0], args[1], guest);
      break;
    case __HYPERVISOR_sysctl:
      result = Sysctl(args[0], guest);
      break;
    default:
      result = {-ENOSYS, "hypercall_" + std::to_string(op) + "(" + std::to_string(args[0]) + ")"};
      break;
  }
  Summary(pid, result);
  return result.rc;
}

// do_multicall: each entry is a hypercall of its own (logged as one), its result written back
// into the entry. A multicall inside a multicall is -EINVAL, as Xen's MCSF_in_multicall check.
long Hypervisor::Multicall(pid_t pid, uint64_t call_list, uint64_t nr_calls,
                           const hv::GuestMemory& guest) {
  long rc = 0;
  if (nr_calls > UINT32_MAX ||
      !hv::guest_range_ok(guest, call_list, nr_calls * sizeof(multicall_entry_t))) {
    rc = -EFAULT;
  }
  for (uint64_t i = 0; rc == 0 && i < nr_calls; ++i) {
    const uint64_t entry_addr = call_list + i * sizeof(multicall_entry_t);
    multicall_entry_t entry;
    if (hv::copy_from_guest(guest, &entry, entry_addr, sizeof entry) != 0) {
      rc = -EFAULT;
      break;
    }
    const uint64_t args[5] = {entry.args[0], entry.args[1], entry.args[2], entry.args[3],
                              entry.args[4]};
    long result;
    if (entry.op == __HYPERVISOR_multicall) {
      result = -EINVAL;
      std::shared_lock<std::shared_mutex> shared(machine_lock_);
      Summary(pid, {result, "multicall(nested)"});
    } else {
      result = Hypercall(pid, entry.op, args, guest);
    }
    entry.result = static_cast<xen_ulong_t>(result);
    if (hv::copy_to_guest(guest, entry_addr + offsetof(multicall_entry_t, result), &entry.result,
                          sizeof entry.result) != 0) {
      rc = -EFAULT;
    }
  }
  std::shared_lock<std::shared_mutex> shared(machine_lock_);
  Summary(pid, {rc, "multicall(" + std::to_string(nr_calls) + ")"});
  return rc;
}

Hypervisor::Result Hypervisor::KexecOp(uint64_t cmd, uint64_t arg, const hv::GuestMemory& guest) {
  const long rc = kexec_->Hypercall(static_cast<unsigned long>(cmd), arg, guest);
  return {rc, CallName("kexec_op", KexecCmdName(cmd), cmd)};
}

Hypervisor::Result Hypervisor::XenVersion(uint64_t cmd, uint64_t arg,
                                          const hv::GuestMemory& guest) {
  const std::string name = CallName("xen_version", XenVersionName(cmd), cmd);
  switch (cmd) {
    case XENVER_version:
      return {static_cast<long>((identity::kMajor << 16) | identity::kMinor), name};
    case XENVER_extraversion:
      return {CopyStringOut<sizeof(xen_extraversion_t)>(guest, arg, identity::kExtraVersion), name};
    case XENVER_compile_info: {
      xen_compile_info_t info{};
      std::strncpy(info.compiler, "hvsig-hypervisor, " __VERSION__, sizeof info.compiler - 1);
      std::strncpy(info.compile_by, "hvsig", sizeof info.compile_by - 1);
      std::strncpy(info.compile_domain, "model", sizeof info.compile_domain - 1);
      std::strncpy(info.compile_date, "n/a", sizeof info.compile_date - 1);
      return {hv::copy_to_guest(guest, arg, &info, sizeof info) != 0 ? -EFAULT : 0, name};
    }
    case XENVER_capabilities:
      return {CopyStringOut<sizeof(xen_capabilities_info_t)>(guest, arg, identity::kCapabilities),
              name};
    case XENVER_changeset:
      return {CopyStringOut<sizeof(xen_changeset_info_t)>(guest, arg, identity::kChangeset), name};
    case XENVER_platform_parameters: {
      const xen_platform_parameters_t params{__HYPERVISOR_VIRT_START};
      return {hv::copy_to_guest(guest, arg, &params, sizeof params) != 0 ? -EFAULT : 0, name};
    }
    case XENVER_get_features: {
      xen_feature_info_t fi;
      if (hv::copy_from_guest(guest, &fi, arg, sizeof fi) != 0) return {-EFAULT, name};
      if (fi.submap_idx != 0) return {-EINVAL, name};
      // A 64-bit PV hardware domain: not translated, so no writable page tables.
      fi.submap = (1u << XENFEAT_memory_op_vnode_supported) | (1u << XENFEAT_dom0) |
                  (1u << XENFEAT_mmu_pt_update_preserve_ad) | (1u << XENFEAT_highmem_assist) |
                  (1u << XENFEAT_gnttab_map_avail_bits);
      return {hv::copy_to_guest(guest, arg, &fi, sizeof fi) != 0 ? -EFAULT : 0, name};
    }
    case XENVER_pagesize:
      return {arg != 0 ? -EINVAL : static_cast<long>(identity::kPageSize), name};
    case XENVER_guest_handle: {
      const xen_domain_handle_t dom0_handle = {};  // dom0's UUID is all zero
      return {hv::copy_to_guest(guest, arg, dom0_handle, sizeof dom0_handle) != 0 ? -EFAULT : 0,
              name};
    }
    case XENVER_commandline:
      return {CopyStringOut<sizeof(xen_commandline_t)>(guest, arg, host_.xen_commandline.c_str()),
              name};
    case XENVER_build_id: {
      if (arg != 0) {
        uint32_t length;
        if (hv::copy_from_guest(guest, &length, arg, sizeof length) != 0) return {-EFAULT, name};
        if (length == 0) return {-EINVAL, name};
      }
      return {-ENODATA, name};  // xen_build_id(): the model carries no build id
    }
    default:
      return {-ENOSYS, name};
  }
}

// XENMEM_machine_memory_map: the host e820 as struct e820entry {u64 addr, size; u32 type}
// (packed). As Xen, the buffer must have room for one more entry than the map has, and a null
// buffer asks only for the count.
Hypervisor::Result Hypervisor::MemoryOp(uint64_t cmd, uint64_t arg, const hv::GuestMemory& guest) {
  const uint64_t subop = cmd & kMemopCmdMask;
  if (subop != XENMEM_machine_memory_map) {
    return {-ENOSYS, CallName("memory_op", nullptr, subop)};
  }
  const std::string name = "memory_op(XENMEM_machine_memory_map)";
  struct __attribute__((packed)) E820Entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
  };
  static_assert(sizeof(E820Entry) == 20);
  xen_memory_map_t map;
  if (hv::copy_from_guest(guest, &map, arg, sizeof map) != 0) return {-EFAULT, name};
  const auto buffer = reinterpret_cast<uint64_t>(map.buffer.p);
  const bool store = buffer != 0;
  const size_t count = machine_.e820.size();
  if (store && map.nr_entries < count + 1) return {-EINVAL, name};
  if (store && !hv::guest_range_ok(guest, buffer, uint64_t{map.nr_entries} * sizeof(E820Entry))) {
    return {-EFAULT, name};
  }
  if (store) {
    std::vector<E820Entry> entries;
    for (const hv::E820Entry& e : machine_.e820) entries.push_back({e.start, e.size, e.type});
    if (hv::copy_to_guest(guest, buffer, entries.data(), entries.size() * sizeof(E820Entry)) != 0) {
      return {-EFAULT, name};
    }
  }
  map.nr_entries = static_cast<unsigned int>(count);
  return {hv::copy_to_guest(guest, arg, &map, sizeof map) != 0 ? -EFAULT : 0, name};
}

Hypervisor::Result Hypervisor::Sysctl(uint64_t arg, const hv::GuestMemory& guest) {
  xen_sysctl_t op;
  if (hv::copy_from_guest(guest, &op, arg, sizeof op) != 0) return {-EFAULT, "sysctl(?)"};
  std::string name = CallName("sysctl", SysctlName(op.cmd), op.cmd);
  if (op.cmd == XEN_SYSCTL_livepatch_op) {
    const char* subop = LivepatchOpName(op.u.livepatch.cmd);
    name.insert(name.size() - 1,
                "/" + (subop != nullptr ? std::string(subop) : std::to_string(op.u.livepatch.cmd)));
  }
  if (op.interface_version != XEN_SYSCTL_INTERFACE_VERSION) return {-EACCES, name};
  if (op.cmd == XEN_SYSCTL_livepatch_op) {
    // do_sysctl copies the whole op back; the model copies back the part it owns.
    return {livepatch_->Sysctl(arg + offsetof(xen_sysctl_t, u.livepatch), guest), name};
  }
  if (op.cmd != XEN_SYSCTL_physinfo) return {-ENOSYS, name};

  xen_sysctl_physinfo& pi = op.u.physinfo;
  std::memset(&pi, 0, sizeof pi);
  pi.threads_per_core = 1;
  pi.cores_per_socket = machine_.cpus;
  pi.nr_cpus = machine_.cpus;
  pi.max_cpu_id = machine_.cpus - 1;
  pi.nr_nodes = 1;
  pi.max_node_id = 0;
  pi.cpu_khz = host_.cpu_khz;
  pi.capabilities = XEN_SYSCTL_PHYSCAP_pv | XEN_SYSCTL_PHYSCAP_gnttab_v1 |
                    XEN_SYSCTL_PHYSCAP_gnttab_v2;
  pi.total_pages = RamBytes(machine_.e820) / identity::kPageSize;
  uint64_t top = 0;
  for (const hv::E820Entry& e : machine_.e820) {
    if (e.type == static_cast<uint32_t>(hv::E820Type::Ram) && e.start + e.size > top) top = e.start + e.size;
  }
  pi.max_mfn = top / identity::kPageSize - 1;
  return {hv::copy_to_guest(guest, arg, &op, sizeof op) != 0 ? -EFAULT : 0, name};
}

}  // namespace hvsig::hypervisor
