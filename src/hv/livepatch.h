// A model of Xen 4.17's livepatch subsystem (xen/common/livepatch.c) with hvsig's signature check
// on upload: XEN_SYSCTL_livepatch_op's UPLOAD, GET, LIST and ACTION with Xen's structures
// (hvsig/xen/livepatch.h), argument checks, errors and their order. Every op reads its argument
// through a GuestMemory; one lock (Xen's payload_lock) serializes them. An upload copies the
// payload once and decides with policy::DecideLivepatch; each decision is logged and measured.
// Actions are state changes only: nothing is loaded, relocated or patched. The design and the
// differences from Xen are in docs/livepatch.md ("The hypervisor op").
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hv/guest_memory.h"
#include "hv/kexec.h"
#include "hv/verify_kernel.h"
#include "hvsig/crypto.h"
#include "hvsig/policy.h"
#include "hvsig/xen/livepatch.h"

namespace hvsig::hv {

inline constexpr uint64_t kLivepatchMaxSize = 2ull << 20;  // Xen's LIVEPATCH_MAX_SIZE, MB(2)
inline constexpr uint32_t kLivepatchMaxList = 1024;        // livepatch_list's bound on nr
// The most memory the model's move_payload allocates for one payload's loaded sections. NOBITS
// sections have no bytes in the file, so only this bounds them: beyond it vzalloc fails in Xen
// and the upload is -ENOMEM.
inline constexpr uint64_t kLivepatchMaxLoadedSize = 64ull << 20;

enum class LivepatchEventKind : uint8_t { Upload, Apply, Revert, Replace, Unload };
const char* LivepatchEventKindName(LivepatchEventKind kind);  // "upload", "apply", ...

// The measured log: one event per upload decision (accepted or refused) and per completed
// action. Fixed size, no pointers.
struct LivepatchEvent {
  uint32_t sequence;
  LivepatchEventKind kind;
  char name[XEN_LIVEPATCH_NAME_SIZE];  // NUL-terminated
  uint64_t size;                       // bytes uploaded
  uint8_t payload_sha256[32];          // of the file as uploaded
  int error;                           // what the op returned (0: done)
  // Upload only. verified is false in mode off, where decision holds the structure's facts
  // (payload_sha256, format, func_count, malformed, error) but no verdict.
  bool verified;
  policy::LivepatchDecision decision;
};

// A read-only view of an uploaded payload, for tests and tools.
struct LivepatchPayloadView {
  std::string name;
  uint32_t state;   // LIVEPATCH_STATE_*
  int32_t rc;
  uint8_t sha256[32];
  livepatch::Format format;
  uint32_t func_count;
  std::string metadata;  // .modinfo, NULs included
  bool safe_to_reapply;
  uint32_t upload_sequence;  // its upload's LivepatchEvent
};

class Livepatch {
 public:
  // The machine's Secure Boot (forces mode enforce), mode and keyrings (raw RSA keys included).
  // keyrings: as Kexec's (null loads them from config.keyrings).
  Livepatch(const MachineConfig& config, const CryptoProvider& provider,
            std::shared_ptr<const BootKeyrings> keyrings = nullptr);
  ~Livepatch();
  Livepatch(const Livepatch&) = delete;
  Livepatch& operator=(const Livepatch&) = delete;

  // do_sysctl's part of XEN_SYSCTL_livepatch_op: copies the op in from `arg` (the guest address
  // of a xen_sysctl_livepatch_op, i.e. of xen_sysctl's `u`), runs it, and copies it back
  // unless the op said -ENOSYS or -EOPNOTSUPP (so failed ops copy back too, as Xen's do).
  long Sysctl(uint64_t arg, const GuestMemory& guest);
  // livepatch_op on the hypervisor's copy of the argument.
  long Op(xen::xen_sysctl_livepatch_op_t& op, const GuestMemory& guest);

  bool Booted() const { return boot_error_.empty(); }
  const std::string& BootError() const { return boot_error_; }
  policy::Mode Mode() const { return mode_; }

  // Tool interfaces, safe while ops run.
  std::vector<std::string> Console() const;
  std::vector<LivepatchEvent> Events() const;
  std::vector<LivepatchPayloadView> Payloads() const;  // in list order
  uint32_t Version() const;

 private:
  struct Payload;

  long Upload(xen::xen_sysctl_livepatch_upload_t& upload, const GuestMemory& guest);
  long Get(xen::xen_sysctl_livepatch_get_t& get, const GuestMemory& guest);
  long List(xen::xen_sysctl_livepatch_list_t& list, const GuestMemory& guest);
  long Action(xen::xen_sysctl_livepatch_action_t& action, const GuestMemory& guest);
  // Xen's load_payload_data for hvsig: the decision, then what Xen takes from an accepted
  // payload (.modinfo, the reapply rule). Fills event; returns 0 or the upload's -errno.
  int Decide(const std::string& name, const std::vector<uint8_t>& file, Payload& payload,
             LivepatchEvent& event);
  int ErrnoFor(const policy::LivepatchDecision& decision) const;

  Payload* Find(const std::string& name);
  void Apply(Payload& payload);
  void Revert(Payload& payload);
  void Log(const std::string& line);
  uint32_t Record(LivepatchEvent event);  // returns its sequence number

  const CryptoProvider& provider_;
  const bool secure_boot_;
  const policy::Mode mode_;
  policy::LivepatchPolicy policy_;
  std::string boot_error_;
  std::shared_ptr<const BootKeyrings> keyrings_;

  mutable std::mutex payload_lock_;  // Xen's payload_lock: one op at a time
  std::vector<std::unique_ptr<Payload>> payloads_;  // payload_list
  std::vector<Payload*> applied_;                   // applied_list, oldest first
  uint32_t version_ = 1;                            // payload_version

  mutable std::mutex log_lock_;
  std::vector<std::string> console_;
  std::vector<LivepatchEvent> events_;
  uint32_t next_sequence_ = 1;
};

}  // namespace hvsig::hv
