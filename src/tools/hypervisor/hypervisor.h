// hvsig-hypervisor's hypercall layer: what a PV dom0 reaches through the hypercall page. It owns
// the kexec and livepatch models (src/hv) and answers kexec_op, xen_version, memory_op and
// sysctl (physinfo, livepatch_op) the way Xen 4.17 does, directly or as entries of a multicall (libxenctrl issues memory_op that way);
// every other hypercall is -ENOSYS. Each call is logged: the model's console
// lines it produced, then one summary line (docs/hypercall-boundary.md).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "hv/guest_memory.h"
#include "hv/kexec.h"
#include "hv/livepatch.h"
#include "hvsig/crypto.h"

namespace hvsig::hypervisor {

// The console: stdout and, optionally, a log file; one line at a time, flushed per line.
class Console {
 public:
  explicit Console(FILE* log_file) : log_file_(log_file) {}
  void Line(const std::string& line);

 private:
  std::mutex lock_;
  FILE* log_file_;
};

// What the daemon keeps besides the model's MachineConfig.
struct HostConfig {
  std::string xen_commandline;            // XENVER_commandline
  uint32_t cpu_khz = 2400000;
};

class Hypervisor {
 public:
  Hypervisor(const hv::MachineConfig& machine, const HostConfig& host,
             const CryptoProvider& provider, Console& console);
  ~Hypervisor();

  // False (with the reason) if the model refused to boot this machine.
  bool Booted() const;
  std::string BootError() const;

  // One hypercall from process `pid`, with guest handles resolved through `guest`. Returns
  // the hypercall's rc (>= 0 or -errno) and logs it.
  long Hypercall(pid_t pid, uint64_t op, const uint64_t (&args)[5], const hv::GuestMemory& guest);

  // A line of the daemon's own (prefixed "(XEN) hvsig-hypervisor: ").
  void Note(const std::string& text);

 private:
  struct Result {
    long rc;
    std::string name;  // "kexec_op(KEXEC_CMD_kexec_load)", ...
  };

  long Multicall(pid_t pid, uint64_t call_list, uint64_t nr_calls, const hv::GuestMemory& guest);
  Result KexecOp(uint64_t cmd, uint64_t arg, const hv::GuestMemory& guest);
  Result XenVersion(uint64_t cmd, uint64_t arg, const hv::GuestMemory& guest);
  Result MemoryOp(uint64_t cmd, uint64_t arg, const hv::GuestMemory& guest);
  Result Sysctl(uint64_t arg, const hv::GuestMemory& guest);

  // Boots a fresh model (at start and after a kexec handoff). Caller holds machine_lock_
  // exclusively, or is the constructor.
  void Boot();
  // Prints the model's console lines not printed yet. Caller holds machine_lock_ (any mode).
  void DrainConsole();
  void Summary(pid_t pid, const Result& result);

  const hv::MachineConfig machine_;
  const HostConfig host_;
  const CryptoProvider& provider_;
  Console& console_;

  // Ops share the machine; a kexec (which may replace it) holds it exclusively.
  mutable std::shared_mutex machine_lock_;
  std::unique_ptr<hv::Kexec> kexec_;
  std::unique_ptr<hv::Livepatch> livepatch_;  // booted with kexec_: a reboot forgets payloads
  unsigned boot_count_ = 0;

  std::mutex drain_lock_;
  size_t console_printed_ = 0;    // lines of kexec_->Console() already on our console
  size_t livepatch_printed_ = 0;  // lines of livepatch_->Console() likewise
};

}  // namespace hvsig::hypervisor
