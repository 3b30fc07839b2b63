// Where the bzImage loader may place an image, from the machine's memory map and crash
// reservation: shared by the file-load op (the hypervisor's own view of the machine) and by
// userspace that builds a legacy load from what the hypervisor reports (hvsig-kexec -c, as
// kexec-tools does from XENMEM_machine_memory_map and KEXEC_CMD_kexec_get_range).
#pragma once

#include <vector>

#include "hv/bzimage_loader.h"

namespace hvsig::hv {

// Fills env.e820, env.crash, env.window and, for a crash image, env.crash_env.ram_outside_crash
// (System RAM minus the reservation). Crash images go in the reservation (the caller checks it
// exists); default images below or above it, whichever part of RAM is larger. The per-CPU
// notes, vmcoreinfo, EFI and Secure Boot state are the caller's.
void PlaceInMachine(const std::vector<E820Entry>& e820, MemoryRange crash_reservation, bool crash_image,
                    BootEnvironment& env);

}  // namespace hvsig::hv
