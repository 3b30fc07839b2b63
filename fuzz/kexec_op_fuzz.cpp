// The kexec model's hypercall argument handling (Kexec::do_kexec_op: kexec_load, kexec_load_v1,
// kexec_file_load, unload, status, get_range, exec), up to four ops in a row on one machine,
// every argument read from the fuzzed guest memory (guest_image.h).
// Config bits: 0-1 mode (enforce, log, off, enforce with Secure Boot), 2 initrd signature
// required, 3 Xen 4.17's status quirk, 4 unknown ops are -EOPNOTSUPP, 5 no crash reservation.
// Op byte: the op number modulo 9 (8: an op Xen does not know).
#include "fuzz_support.h"
#include "guest_image.h"
#include "hypercall_machine.h"

HVSIG_FUZZ_TARGET(kexec_op) {
  using namespace hvsig;
  using namespace hvsig::hv;
  fuzz::GuestImage guest(data, size);
  const uint8_t config = guest.config();
  MachineConfig machine = fuzz::HypercallMachine(config);
  machine.require_initrd_signature = (config & 4) != 0;
  machine.xen417_status_quirk = (config & 8) != 0;
  machine.unknown_op = (config & 16) != 0 ? UnknownOp::EOpNotSupp : UnknownOp::Xen417Zero;
  if ((config & 32) != 0) machine.crash = {};

  Kexec kexec(machine, fuzz::Provider(), fuzz::HypercallKeyrings(fuzz::Provider()));
  fuzz::RequireBooted(kexec);
  const GuestMemory memory = guest.Memory();
  for (size_t i = 0; i < fuzz::kGuestOps; ++i) {
    const unsigned long op = guest.op(i) % 9;
    const long rc = kexec.do_kexec_op(op, guest.arg(i), memory);
    // One caller at a time never meets IN_HYPERCALL held.
    HVSIG_FUZZ_CHECK(rc != kContinuation);
    HVSIG_FUZZ_CHECK(rc > -4096 && rc <= 1);
  }
  return 0;
}
