// The livepatch model's hypercall argument handling (Livepatch::Sysctl: UPLOAD, GET, LIST,
// ACTION), up to four ops in a row on one machine, every argument and payload read from the
// fuzzed guest memory (guest_image.h). The op bytes are unused: each op's command is in its
// argument. Config bits: 0-1 mode (enforce, log, off, enforce with Secure Boot).
#include <cstdio>

#include "fuzz_support.h"
#include "guest_image.h"
#include "hv/livepatch.h"
#include "hv/sim_guest.h"

HVSIG_FUZZ_TARGET(livepatch_op) {
  using namespace hvsig;
  using namespace hvsig::hv;
  static const MachineConfig base = [] {
    MachineConfig m = sim::StandardMachine();
    m.keyrings.builtin_certs.emplace_back(std::begin(fuzz::kFuzzCaDer), std::end(fuzz::kFuzzCaDer));
    m.keyrings.builtin_certs.emplace_back(std::begin(fuzz::kFuzzSignerDer),
                                          std::end(fuzz::kFuzzSignerDer));
    m.keyrings.builtin_raw_keys.emplace_back(std::begin(fuzz::kFuzzSignerSpkiDer),
                                             std::end(fuzz::kFuzzSignerSpkiDer));
    return m;
  }();
  fuzz::GuestImage guest(data, size);
  MachineConfig machine = base;
  const uint8_t config = guest.config();
  static constexpr policy::Mode kModes[] = {policy::Mode::Enforce, policy::Mode::Log,
                                            policy::Mode::Off, policy::Mode::Enforce};
  machine.mode = kModes[config & 3];
  machine.secure_boot = (config & 3) == 3;

  Livepatch livepatch(machine, fuzz::Provider());
  if (!livepatch.Booted()) {
    fprintf(stderr, "boot error: %s\n", livepatch.BootError().c_str());
    abort();
  }
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
