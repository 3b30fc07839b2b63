// The livepatch model's hypercall argument handling (Livepatch::Sysctl: UPLOAD, GET, LIST,
// ACTION), up to four ops in a row on one machine, every argument and payload read from the
// fuzzed guest memory (guest_image.h). The op bytes are unused: each op's command is in its
// argument. Config bits: 0-1 mode (enforce, log, off, enforce with Secure Boot).
#include "fuzz_support.h"
#include "guest_image.h"
#include "hv/livepatch.h"
#include "hypercall_machine.h"

HVSIG_FUZZ_TARGET(livepatch_op) {
  using namespace hvsig;
  using namespace hvsig::hv;
  fuzz::GuestImage guest(data, size);
  const MachineConfig machine = fuzz::HypercallMachine(guest.config());

  Livepatch livepatch(machine, fuzz::Provider(), fuzz::HypercallKeyrings(fuzz::Provider()));
  fuzz::RequireBooted(livepatch);
  const GuestMemory memory = guest.Memory();
  for (size_t i = 0; i < fuzz::kGuestOps; ++i) {
    const long rc = livepatch.Sysctl(guest.arg(i), memory);
    // LIST returns how many payloads it reported, the other ops 0 or -errno.
    HVSIG_FUZZ_CHECK(rc > -4096 && rc <= hv::kLivepatchMaxList);
  }
  // Only accepted uploads become payloads; each was measured by an upload event.
  for (const LivepatchPayloadView& p : livepatch.Payloads()) {
    HVSIG_FUZZ_CHECK(p.upload_sequence != 0);
  }
  return 0;
}
