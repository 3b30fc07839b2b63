// The bzImage loader and segment builder (hv::LoadBzImage) on the model's standard machine.
// Input: a flags byte (crash image, EFI, above 4 GiB allowed, Secure Boot), the command line's
// and the initrd's lengths (2 and 3 bytes), the command line, the initrd, then the kernel.
// Every load that succeeds must obey Xen's segment rules, as bzimage_loader.h promises.
#include <cstring>

#include "fuzz_support.h"
#include "hv/boot_environment.h"
#include "hv/bzimage_loader.h"
#include "hv/sim_guest.h"

HVSIG_FUZZ_TARGET(bzimage) {
  using namespace hvsig;
  using namespace hvsig::hv;
  static const MachineConfig machine = sim::StandardMachine();

  fuzz::ParameterReader parameters(data, size);
  const uint64_t flags = parameters.Take(1);
  uint64_t cmdline_size = parameters.Take(2);
  uint64_t initrd_size = parameters.Take(3);
  const uint8_t* rest = parameters.rest();
  size_t rest_size = parameters.rest_size();
  if (cmdline_size > rest_size) cmdline_size = rest_size;
  if (initrd_size > rest_size - cmdline_size) initrd_size = rest_size - cmdline_size;

  BootEnvironment env;
  const bool crash = (flags & 1) != 0;
  if ((flags & 2) != 0) env.efi = machine.efi;
  env.allow_above_4g = (flags & 4) != 0;
  env.secure_boot = (flags & 8) != 0;
  env.acpi_rsdp_addr = machine.acpi_rsdp;
  if (crash) {
    for (uint64_t cpu = 0; cpu < machine.cpus; ++cpu) {
      env.crash_env.cpu_notes.push_back({machine.notes_base + cpu * 0x400, 0x200});
    }
    env.crash_env.vmcoreinfo = {machine.notes_base + 0x1000, 0x1000};
  }
  PlaceInMachine(machine.e820, machine.crash, crash, env);

  LoaderInput input;
  input.cmdline = std::span<const uint8_t>(rest, cmdline_size);
  input.initrd = std::span<const uint8_t>(rest + cmdline_size, initrd_size);
  input.kernel = std::span<const uint8_t>(rest + cmdline_size + initrd_size,
                                          rest_size - cmdline_size - initrd_size);
  const LoaderResult result = LoadBzImage(input, env);
  if (result.error != 0) {
    HVSIG_FUZZ_CHECK(!result.reason.empty());
    return 0;
  }
  const LoadedBzImage& image = result.image;
  HVSIG_FUZZ_CHECK(!image.segments.empty() && image.segments.size() <= kLoaderMaxSegments);
  uint64_t previous_end = 0;
  bool has_kernel = false;
  for (const Segment& s : image.segments) {
    HVSIG_FUZZ_CHECK(s.dest_maddr % kLoaderPageSize == 0 && s.dest_size % kLoaderPageSize == 0);
    HVSIG_FUZZ_CHECK(s.dest_size != 0 && s.buf.size() <= s.dest_size);
    HVSIG_FUZZ_CHECK(s.dest_maddr + s.dest_size > s.dest_maddr);
    HVSIG_FUZZ_CHECK(s.dest_maddr >= previous_end);
    previous_end = s.dest_maddr + s.dest_size;
    HVSIG_FUZZ_CHECK(s.dest_maddr >= env.window.start &&
                     previous_end <= env.window.start + env.window.size);
    if (!env.allow_above_4g) HVSIG_FUZZ_CHECK(previous_end <= (1ull << 32));
    if (s.kind == SegmentKind::Kernel) {
      has_kernel = true;
      HVSIG_FUZZ_CHECK(s.dest_maddr == image.kernel_maddr);
    }
    if (s.kind == SegmentKind::Cmdline) {
      HVSIG_FUZZ_CHECK(!s.buf.empty() && s.buf.back() == 0);
      HVSIG_FUZZ_CHECK(std::strlen(reinterpret_cast<const char*>(s.buf.data())) == image.cmdline.size());
    }
  }
  HVSIG_FUZZ_CHECK(has_kernel && image.entry_maddr == image.kernel_maddr + 0x200);
  return 0;
}
