// The machine both hypercall targets (kexec_op, livepatch_op) boot: the standard simulated
// machine with the fuzz trust in its builtin keyring (the certificates for kexec images and
// module signatures, the signer's raw key for livepatch notes), and the policy from the guest
// image's config bits 0-1: enforce, log, off, enforce with Secure Boot.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>

#include "fuzz_keys.h"
#include "hv/kexec.h"
#include "hv/sim_guest.h"
#include "hv/verify_kernel.h"

namespace hvsig::fuzz {

inline hv::MachineConfig HypercallMachine(uint8_t config) {
  static const hv::MachineConfig base = [] {
    hv::MachineConfig m = hv::sim::StandardMachine();
    m.keyrings.builtin_certs.emplace_back(std::begin(kFuzzCaDer), std::end(kFuzzCaDer));
    m.keyrings.builtin_certs.emplace_back(std::begin(kFuzzSignerDer), std::end(kFuzzSignerDer));
    m.keyrings.builtin_raw_keys.emplace_back(std::begin(kFuzzSignerSpkiDer),
                                             std::end(kFuzzSignerSpkiDer));
    return m;
  }();
  static constexpr policy::Mode kModes[] = {policy::Mode::Enforce, policy::Mode::Log,
                                            policy::Mode::Off, policy::Mode::Enforce};
  hv::MachineConfig machine = base;
  machine.mode = kModes[config & 3];
  machine.secure_boot = (config & 3) == 3;
  return machine;
}

// The machine's keyrings, loaded once per process (the config bits change only the policy):
// a fresh Kexec or Livepatch per input then costs no keyring parsing and no 270 KB of rings,
// which was two thirds of every execution. Neither model writes to them.
inline std::shared_ptr<const hv::BootKeyrings> HypercallKeyrings(const CryptoProvider& provider) {
  static const std::shared_ptr<const hv::BootKeyrings> keyrings =
      hv::LoadBootKeyrings(provider, HypercallMachine(0).keyrings);
  return keyrings;
}

// The fixed machine must boot; anything else is a bug in the target, not a finding.
template <typename Model>
void RequireBooted(const Model& model) {
  if (model.Booted()) return;
  fprintf(stderr, "boot error: %s\n", model.BootError().c_str());
  abort();
}

}  // namespace hvsig::fuzz
