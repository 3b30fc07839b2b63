// The livepatch subsystem model. Op by op it follows Xen 4.17's xen/common/livepatch.c
// (livepatch_op; livepatch_upload with verify_payload and get_name; livepatch_get;
// livepatch_list; livepatch_action) and do_sysctl's copy-back. Deliberate differences are marked
// "Model:"; the main one is that an action's work, which Xen schedules for a rendezvous of all
// CPUs right after the hypercall, completes inside it, and patches nothing.
#include "hv/livepatch.h"

#include <cerrno>
#include <cinttypes>
#include <cstring>

#include "hv/errno_name.h"
#include "hv/text.h"
#include "hvsig/livepatch.h"

namespace hvsig::hv {

using xen::xen_livepatch_name_t;
using xen::xen_livepatch_status_t;
using xen::xen_sysctl_livepatch_action_t;
using xen::xen_sysctl_livepatch_get_t;
using xen::xen_sysctl_livepatch_list_t;
using xen::xen_sysctl_livepatch_op_t;
using xen::xen_sysctl_livepatch_upload_t;

namespace {

constexpr uint64_t kShfWrite = 0x1;
constexpr uint64_t kShfAlloc = 0x2;
constexpr uint64_t kShfExecinstr = 0x4;
constexpr uint32_t kShtNobits = 8;

// get_name: the size and padding checks, the name's one copy, its terminating NUL. The name is
// what precedes the first NUL (Xen compares names with strcmp).
int GetName(const xen_livepatch_name_t& name, const GuestMemory& guest, std::string& out) {
  if (name.size == 0 || name.size > XEN_LIVEPATCH_NAME_SIZE) return -EINVAL;
  if (name.pad[0] != 0 || name.pad[1] != 0 || name.pad[2] != 0) return -EINVAL;
  char n[XEN_LIVEPATCH_NAME_SIZE];
  if (copy_from_guest(guest, n, name.name, name.size) != 0) return -EFAULT;
  if (n[name.size - 1] != '\0') return -EINVAL;
  out.assign(n);
  return 0;
}

// __copy_to_guest_offset: nothing to copy is no access at all.
int CopyOut(const GuestMemory& guest, uint64_t addr, const void* src, size_t length) {
  if (length == 0) return 0;
  return copy_to_guest(guest, addr, src, length);
}

uint64_t Le(const uint8_t* p, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = bytes; i-- > 0;) v = (v << 8) | p[i];
  return v;
}

// What Xen takes from a loaded payload's section table beyond the checks hvsig made
// (livepatch::ParsePayload already bounded the table, every section and every name):
// prepare_payload's .modinfo metadata (the first section of that name), and move_payload's
// reapply rule: a reverted payload may be applied again only if its one writable section with
// bytes is .livepatch.funcs (or it has none), since .data/.bss are no longer pristine.
struct SectionFacts {
  bool fits_in_memory = false;  // the loaded sections (and a NOBITS .modinfo) fit the allocator
  bool has_modinfo = false;
  std::vector<uint8_t> modinfo;
  bool safe_to_reapply = false;
};

SectionFacts ReadSections(Input elf) {
  const uint8_t* b = elf.data();
  const uint64_t shoff = Le(b + 40, 8);
  const uint64_t shnum = Le(b + 60, 2);
  const uint64_t strtab = Le(b + shoff + livepatch::kSectionHeaderSize * Le(b + 62, 2) + 24, 8);
  SectionFacts facts;
  const uint8_t* modinfo = nullptr;
  uint64_t loaded = 0;  // saturates at the bound: sizes come from the payload
  unsigned writable = 0;
  bool writable_is_funcs = false;
  for (uint64_t i = 1; i < shnum; ++i) {
    const uint8_t* sh = b + shoff + livepatch::kSectionHeaderSize * i;
    const char* name = reinterpret_cast<const char*>(b + strtab + Le(sh, 4));
    const uint64_t flags = Le(sh + 8, 8);
    const uint64_t size = Le(sh + 32, 8);
    const bool is_modinfo = modinfo == nullptr && std::strcmp(name, ".modinfo") == 0;
    if (is_modinfo) modinfo = sh;
    // livepatch_elf_ignore_section: not loaded.
    const bool is_loaded = (flags & kShfAlloc) && size != 0;
    if (is_loaded || (is_modinfo && Le(sh + 4, 4) == kShtNobits)) {
      loaded = size > kLivepatchMaxLoadedSize - loaded ? kLivepatchMaxLoadedSize + 1 : loaded + size;
    }
    if (!is_loaded) continue;
    if (!(flags & kShfExecinstr) && (flags & kShfWrite)) {
      ++writable;
      writable_is_funcs = std::strcmp(name, ".livepatch.funcs") == 0;
    }
  }
  facts.fits_in_memory = loaded <= kLivepatchMaxLoadedSize;
  if (!facts.fits_in_memory) return facts;
  if (modinfo != nullptr) {
    facts.has_modinfo = true;
    const uint64_t offset = Le(modinfo + 24, 8);
    const uint64_t size = Le(modinfo + 32, 8);
    // A NOBITS section is loaded as zeros.
    facts.modinfo = Le(modinfo + 4, 4) == kShtNobits
                        ? std::vector<uint8_t>(static_cast<size_t>(size), 0)
                        : std::vector<uint8_t>(b + offset, b + offset + size);
  }
  facts.safe_to_reapply = writable == 0 || (writable == 1 && writable_is_funcs);
  return facts;
}

std::string DecisionText(const policy::LivepatchDecision& d) {
  const char* format = livepatch::FormatName(d.format);
  if (d.malformed) {
    return Format("malformed: %s at offset %" PRIu64 ", no signature looked at",
                  ResultName(d.error.result), d.error.offset);
  }
  switch (d.verdict) {
    case policy::LivepatchVerdict::Trusted:
      return Format("%s signature trusted: %s %s in keyring %s", format,
                    policy::SignerKindName(d.signer_kind), Hex(d.signer_sha256, 8).c_str(),
                    d.has_keyring ? keyring::KeyringName(d.keyring) : "-");
    case policy::LivepatchVerdict::Unsigned:
      return "not signed";
    case policy::LivepatchVerdict::Rejected:
      return Format("%s signature rejected: %s at offset %" PRIu64, format,
                    ResultName(d.error.result), d.error.offset);
  }
  return "?";
}

}  // namespace

const char* LivepatchEventKindName(LivepatchEventKind kind) {
  switch (kind) {
    case LivepatchEventKind::Upload: return "upload";
    case LivepatchEventKind::Apply: return "apply";
    case LivepatchEventKind::Revert: return "revert";
    case LivepatchEventKind::Replace: return "replace";
    case LivepatchEventKind::Unload: return "unload";
  }
  return "?";
}

struct Livepatch::Payload {
  std::string name;
  uint32_t state = LIVEPATCH_STATE_CHECKED;
  int32_t rc = 0;
  bool reverted = false;
  bool safe_to_reapply = false;
  uint64_t size = 0;
  uint8_t sha256[32] = {};
  livepatch::Format format = livepatch::Format::None;
  uint32_t func_count = 0;
  std::vector<uint8_t> metadata;
  uint32_t upload_sequence = 0;
};

Livepatch::Livepatch(const MachineConfig& config, const CryptoProvider& provider,
                     std::shared_ptr<const BootKeyrings> keyrings)
    : provider_(provider),
      secure_boot_(config.secure_boot),
      mode_(config.secure_boot ? policy::Mode::Enforce : config.mode),
      policy_(policy::DefaultLivepatchPolicy(config.secure_boot)),
      keyrings_(keyrings ? std::move(keyrings) : LoadBootKeyrings(provider, config.keyrings)) {
  policy_.mode = mode_;
  // As kexec's enforce: an unsigned payload is refused (-ENODATA) with or without Secure Boot.
  policy_.require_signature = true;
  if (!keyrings_->load_error.empty()) boot_error_ = "keyrings: " + keyrings_->load_error;
  const keyring::Keyring& builtin = keyrings_->rings[static_cast<size_t>(keyring::KeyringId::Builtin)];
  const keyring::Keyring& secondary = keyrings_->rings[static_cast<size_t>(keyring::KeyringId::Secondary)];
  const keyring::Keyring& blacklist = keyrings_->rings[static_cast<size_t>(keyring::KeyringId::Blacklist)];
  Log(Format("(XEN) livepatch: signature policy mode %s%s, formats note and modsig; vouching: "
             "builtin %zu certs + %zu raw RSA keys, secondary %zu certs; blacklist %zu certs "
             "%zu hashes",
             policy::ModeName(mode_), secure_boot_ ? " (forced by Secure Boot)" : "",
             builtin.certificate_count, builtin.raw_key_count, secondary.certificate_count,
             blacklist.certificate_count, blacklist.hash_count));
  if (!boot_error_.empty()) Log("(XEN) livepatch: boot error: " + boot_error_);
}

Livepatch::~Livepatch() = default;

void Livepatch::Log(const std::string& line) {
  std::lock_guard<std::mutex> guard(log_lock_);
  console_.push_back(line);
}

uint32_t Livepatch::Record(LivepatchEvent event) {
  std::lock_guard<std::mutex> guard(log_lock_);
  event.sequence = next_sequence_++;
  events_.push_back(event);
  return event.sequence;
}

std::vector<std::string> Livepatch::Console() const {
  std::lock_guard<std::mutex> guard(log_lock_);
  return console_;
}

std::vector<LivepatchEvent> Livepatch::Events() const {
  std::lock_guard<std::mutex> guard(log_lock_);
  return events_;
}

std::vector<LivepatchPayloadView> Livepatch::Payloads() const {
  std::lock_guard<std::mutex> guard(payload_lock_);
  std::vector<LivepatchPayloadView> views;
  for (const std::unique_ptr<Payload>& p : payloads_) {
    LivepatchPayloadView v;
    v.name = p->name;
    v.state = p->state;
    v.rc = p->rc;
    std::memcpy(v.sha256, p->sha256, sizeof v.sha256);
    v.format = p->format;
    v.func_count = p->func_count;
    v.metadata.assign(p->metadata.begin(), p->metadata.end());
    v.safe_to_reapply = p->safe_to_reapply;
    v.upload_sequence = p->upload_sequence;
    views.push_back(v);
  }
  return views;
}

uint32_t Livepatch::Version() const {
  std::lock_guard<std::mutex> guard(payload_lock_);
  return version_;
}

long Livepatch::Sysctl(uint64_t arg, const GuestMemory& guest) {
  xen_sysctl_livepatch_op_t op;
  if (copy_from_guest(guest, &op, arg, sizeof op) != 0) return -EFAULT;
  const long rc = Op(op, guest);
  if (rc == -ENOSYS || rc == -EOPNOTSUPP) return rc;
  if (copy_to_guest(guest, arg, &op, sizeof op) != 0) return -EFAULT;
  return rc;
}

long Livepatch::Op(xen_sysctl_livepatch_op_t& op, const GuestMemory& guest) {
  if (op.pad != 0) return -EINVAL;
  switch (op.cmd) {
    case XEN_SYSCTL_LIVEPATCH_UPLOAD: return Upload(op.u.upload, guest);
    case XEN_SYSCTL_LIVEPATCH_GET: return Get(op.u.get, guest);
    case XEN_SYSCTL_LIVEPATCH_LIST: return List(op.u.list, guest);
    case XEN_SYSCTL_LIVEPATCH_ACTION: return Action(op.u.action, guest);
    default: return -EOPNOTSUPP;
  }
}

Livepatch::Payload* Livepatch::Find(const std::string& name) {
  for (const std::unique_ptr<Payload>& p : payloads_) {
    if (p->name == name) return p.get();
  }
  return nullptr;
}

int Livepatch::ErrnoFor(const policy::LivepatchDecision& d) const {
  switch (d.verdict) {
    case policy::LivepatchVerdict::Trusted: return 0;
    case policy::LivepatchVerdict::Unsigned: return secure_boot_ ? -EPERM : -ENODATA;
    case policy::LivepatchVerdict::Rejected: return d.malformed ? -EINVAL : -EKEYREJECTED;
  }
  return -EKEYREJECTED;
}

long Livepatch::Upload(xen_sysctl_livepatch_upload_t& upload, const GuestMemory& guest) {
  // verify_payload: a bad name is -EINVAL whatever get_name said (-EFAULT included).
  std::string name;
  if (GetName(upload.name, guest, name) != 0) return -EINVAL;
  if (upload.size == 0) return -EINVAL;
  if (upload.size > kLivepatchMaxSize) return -EINVAL;
  if (!guest_range_ok(guest, upload.payload, upload.size)) return -EFAULT;

  std::lock_guard<std::mutex> guard(payload_lock_);
  if (Find(name) != nullptr) return -EEXIST;
  // The only read of the payload: everything below uses this copy.
  std::vector<uint8_t> file(static_cast<size_t>(upload.size));
  if (copy_from_guest(guest, file.data(), upload.payload, file.size()) != 0) return -EFAULT;

  auto payload = std::make_unique<Payload>();
  payload->name = name;
  payload->size = file.size();
  LivepatchEvent event{};
  event.kind = LivepatchEventKind::Upload;
  std::memcpy(event.name, name.c_str(), name.size() + 1);
  event.size = file.size();
  event.verified = mode_ != policy::Mode::Off;
  const int rc = Decide(name, file, *payload, event);
  event.error = rc;
  std::memcpy(event.payload_sha256, event.decision.payload_sha256, 32);
  const uint32_t sequence = Record(event);
  if (rc != 0) {
    Log(Format("(XEN) livepatch: %s: upload refused (%s), measured as event #%u", name.c_str(),
               ErrnoName(rc), sequence));
    return rc;
  }
  payload->upload_sequence = sequence;
  Log(Format("(XEN) livepatch: %s: uploaded (event #%u): state CHECKED, %u funcs, %zu bytes of "
             "metadata",
             name.c_str(), sequence, payload->func_count, payload->metadata.size()));
  payloads_.push_back(std::move(payload));
  ++version_;
  return 0;
}

int Livepatch::Decide(const std::string& name, const std::vector<uint8_t>& file, Payload& payload,
                      LivepatchEvent& event) {
  const Input input(file.data(), file.size());
  auto context = std::make_unique<policy::LivepatchContext>();
  policy::LivepatchDecision& d = event.decision;
  int error = 0;
  std::string text;
  if (mode_ == policy::Mode::Off) {
    // Xen's own ELF checks still run; the signature is not looked at. Nothing vouched.
    d = policy::LivepatchDecision{};
    d.verdict = policy::LivepatchVerdict::Unsigned;
    DigestOnce(provider_, DigestAlg::Sha256, input, d.payload_sha256);
    if (livepatch::ParsePayload(input, context->payload, d.error) != Result::Success) {
      d.verdict = policy::LivepatchVerdict::Rejected;
      d.malformed = true;
      error = -EINVAL;
      text = DecisionText(d);
    } else {
      d.accepted = true;
      d.format = context->payload.format;
      d.func_count = context->payload.func_count;
      text = Format("mode off: %s signature not verified", livepatch::FormatName(d.format));
    }
  } else {
    policy::DecideLivepatch(provider_, input, keyrings_->view, policy_, *context, d);
    error = ErrnoFor(d);
    text = DecisionText(d);
  }
  // In mode log a rejection is reported with the errno enforce would have returned.
  Log(Format("(XEN) livepatch: %s: %zu bytes, sha256 %s: %s%s%s%s", name.c_str(), file.size(),
             Hex(d.payload_sha256, 32).c_str(), text.c_str(), error != 0 ? " -> " : "",
             error != 0 ? ErrnoName(error) : "",
             error != 0 && d.accepted ? "; mode log: loading anyway" : ""));
  if (!d.accepted) return error;

  const SectionFacts facts = ReadSections(context->payload.elf);
  // move_payload's vzalloc.
  if (!facts.fits_in_memory) {
    Log(Format("(XEN) livepatch: %s: Could not allocate memory for payload", name.c_str()));
    return -ENOMEM;
  }
  // prepare_payload: the metadata must be NUL-terminated strings.
  if (facts.has_modinfo && (facts.modinfo.empty() || facts.modinfo.back() != '\0')) {
    Log(Format("(XEN) livepatch: %s: Incorrect metadata format detected", name.c_str()));
    return -EINVAL;
  }
  std::memcpy(payload.sha256, d.payload_sha256, sizeof payload.sha256);
  payload.format = d.format;
  payload.func_count = d.func_count;
  payload.metadata = facts.modinfo;
  payload.safe_to_reapply = facts.safe_to_reapply;
  return 0;
}

long Livepatch::Get(xen_sysctl_livepatch_get_t& get, const GuestMemory& guest) {
  std::string name;
  const int rc = GetName(get.name, guest, name);
  if (rc != 0) return rc;
  std::lock_guard<std::mutex> guard(payload_lock_);
  const Payload* payload = Find(name);
  if (payload == nullptr) return -ENOENT;
  get.status.state = payload->state;
  get.status.rc = payload->rc;
  return 0;
}

long Livepatch::List(xen_sysctl_livepatch_list_t& list, const GuestMemory& guest) {
  if (list.nr > kLivepatchMaxList) return -E2BIG;
  if (list.pad != 0) return -EINVAL;
  if (list.nr != 0 &&
      (!guest_range_ok(guest, list.status, uint64_t{list.nr} * sizeof(xen_livepatch_status_t)) ||
       !guest_range_ok(guest, list.len, uint64_t{list.nr} * sizeof(uint32_t)) ||
       !guest_range_ok(guest, list.metadata_len, uint64_t{list.nr} * sizeof(uint32_t)))) {
    return -EINVAL;
  }
  std::lock_guard<std::mutex> guard(payload_lock_);
  const auto count = static_cast<uint32_t>(payloads_.size());
  if (list.idx >= count && count != 0) return -EINVAL;

  list.name_total_size = 0;
  list.metadata_total_size = 0;
  uint32_t idx = 0;  // entries written
  uint32_t i = 0;    // entries walked, the skipped ones included
  long rc = 0;
  if (list.nr != 0) {
    uint64_t name_offset = 0;
    uint64_t metadata_offset = 0;
    for (const std::unique_ptr<Payload>& p : payloads_) {
      if (list.idx > i++) continue;
      const xen_livepatch_status_t status{p->state, p->rc};
      const auto name_len = static_cast<uint32_t>(p->name.size() + 1);
      const auto metadata_len = static_cast<uint32_t>(p->metadata.size());
      list.name_total_size += name_len;
      list.metadata_total_size += metadata_len;
      if (!guest_range_ok(guest, list.name + name_offset, name_len) ||
          !guest_range_ok(guest, list.metadata + metadata_offset, metadata_len)) {
        rc = -EINVAL;
        break;
      }
      if (CopyOut(guest, list.name + name_offset, p->name.c_str(), name_len) != 0 ||
          CopyOut(guest, list.len + idx * sizeof(uint32_t), &name_len, sizeof name_len) != 0 ||
          CopyOut(guest, list.status + idx * sizeof status, &status, sizeof status) != 0 ||
          CopyOut(guest, list.metadata + metadata_offset, p->metadata.data(), metadata_len) != 0 ||
          CopyOut(guest, list.metadata_len + idx * sizeof(uint32_t), &metadata_len,
                  sizeof metadata_len) != 0) {
        rc = -EFAULT;
        break;
      }
      ++idx;
      name_offset += name_len;
      metadata_offset += metadata_len;
      // Model: never preempted (Xen also stops at hypercall_preempt_check()).
      if (idx >= list.nr) break;
    }
  } else {
    for (const std::unique_ptr<Payload>& p : payloads_) {
      list.name_total_size += static_cast<uint32_t>(p->name.size() + 1);
      list.metadata_total_size += static_cast<uint32_t>(p->metadata.size());
    }
  }
  list.nr = count - i;
  list.version = version_;
  return rc != 0 ? rc : idx;
}

// apply_payload_tail / revert_payload_tail: the state changes of a completed action.
void Livepatch::Apply(Payload& payload) {
  applied_.push_back(&payload);
  payload.state = LIVEPATCH_STATE_APPLIED;
  payload.rc = 0;
}

void Livepatch::Revert(Payload& payload) {
  applied_.pop_back();
  payload.reverted = true;
  payload.state = LIVEPATCH_STATE_CHECKED;
  payload.rc = 0;
}

long Livepatch::Action(xen_sysctl_livepatch_action_t& action, const GuestMemory& guest) {
  if (action.pad != 0) return -EINVAL;
  std::string name;
  const int rc = GetName(action.name, guest, name);
  if (rc != 0) return rc;
  std::lock_guard<std::mutex> guard(payload_lock_);
  Payload* payload = Find(name);
  if (payload == nullptr) return -ENOENT;
  // Model: Xen's -EBUSY for a payload whose work is still scheduled cannot happen: the work
  // below completes before the hypercall returns, so GET never sees rc -EAGAIN either.

  LivepatchEvent event{};
  std::memcpy(event.name, name.c_str(), name.size() + 1);
  event.size = payload->size;
  std::memcpy(event.payload_sha256, payload->sha256, 32);
  const char* const nothing_patched = "(model: a state change, nothing is patched)";
  switch (action.cmd) {
    case LIVEPATCH_ACTION_UNLOAD: {
      if (payload->state != LIVEPATCH_STATE_CHECKED) return -EINVAL;
      event.kind = LivepatchEventKind::Unload;
      const uint32_t sequence = Record(event);
      Log(Format("(XEN) livepatch: %s: unloaded (event #%u)", name.c_str(), sequence));
      for (auto it = payloads_.begin(); it != payloads_.end(); ++it) {
        if (it->get() == payload) {
          payloads_.erase(it);
          break;
        }
      }
      ++version_;
      return 0;
    }
    case LIVEPATCH_ACTION_REVERT: {
      // Xen: reverting a payload that is not applied is no error, and does nothing.
      if (payload->state != LIVEPATCH_STATE_APPLIED) return 0;
      if (applied_.back() != payload) {
        Log(Format("(XEN) livepatch: %s: can't unload. Top is %s", name.c_str(),
                   applied_.back()->name.c_str()));
        return -EBUSY;
      }
      Revert(*payload);
      event.kind = LivepatchEventKind::Revert;
      const uint32_t sequence = Record(event);
      Log(Format("(XEN) livepatch: %s: REVERT: APPLIED -> CHECKED (event #%u) %s", name.c_str(),
                 sequence, nothing_patched));
      return 0;
    }
    case LIVEPATCH_ACTION_APPLY: {
      if (payload->state != LIVEPATCH_STATE_CHECKED) return 0;
      if (payload->reverted && !payload->safe_to_reapply) {
        // Xen: the action fails in the status, not in the hypercall's return value.
        Log(Format("(XEN) livepatch: %s: can't revert as payload has .data. Please unload",
                   name.c_str()));
        payload->rc = -EINVAL;
        return 0;
      }
      // Model: no build-id dependency (LIVEPATCH_ACTION_APPLY_NODEPS) or expectation checks.
      Apply(*payload);
      event.kind = LivepatchEventKind::Apply;
      const uint32_t sequence = Record(event);
      Log(Format("(XEN) livepatch: %s: APPLY: CHECKED -> APPLIED, %u funcs (event #%u) %s",
                 name.c_str(), payload->func_count, sequence, nothing_patched));
      return 0;
    }
    case LIVEPATCH_ACTION_REPLACE: {
      if (payload->state != LIVEPATCH_STATE_CHECKED) return 0;
      // livepatch_do_action: every applied payload is reverted, newest first, then this one
      // is applied.
      std::string reverted;
      while (!applied_.empty()) {
        Payload& other = *applied_.back();
        reverted += (reverted.empty() ? "" : ", ") + other.name;
        Revert(other);
      }
      Apply(*payload);
      event.kind = LivepatchEventKind::Replace;
      const uint32_t sequence = Record(event);
      Log(Format("(XEN) livepatch: %s: REPLACE: reverted [%s], CHECKED -> APPLIED (event #%u) %s",
                 name.c_str(), reverted.c_str(), sequence, nothing_patched));
      return 0;
    }
    default:
      return -EOPNOTSUPP;
  }
}

}  // namespace hvsig::hv
