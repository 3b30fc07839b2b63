#include "hv/boot_environment.h"

namespace hvsig::hv {

void PlaceInMachine(const std::vector<E820Entry>& e820, MemoryRange crash_reservation, bool crash_image,
                    BootEnvironment& env) {
  env.e820 = e820;
  env.crash = crash_image;
  const uint64_t crash_end = crash_reservation.start + crash_reservation.size;
  if (crash_image) {
    env.window = crash_reservation;
    for (const E820Entry& e : e820) {
      if (e.type != static_cast<uint32_t>(E820Type::Ram)) continue;
      const uint64_t end = e.start + e.size;
      if (end <= crash_reservation.start || e.start >= crash_end) {
        env.crash_env.ram_outside_crash.push_back({e.start, e.size});
        continue;
      }
      if (e.start < crash_reservation.start) {
        env.crash_env.ram_outside_crash.push_back({e.start, crash_reservation.start - e.start});
      }
      if (end > crash_end) env.crash_env.ram_outside_crash.push_back({crash_end, end - crash_end});
    }
    return;
  }
  // Model: default images go below or above the crash reservation, whichever is larger.
  uint64_t top = 0;
  for (const E820Entry& e : e820) {
    if (e.type == static_cast<uint32_t>(E820Type::Ram) && e.start + e.size > top) top = e.start + e.size;
  }
  const uint64_t low = 0x100000;
  if (crash_reservation.size == 0) {
    env.window = {low, top - low};
  } else if (crash_reservation.start - low >= top - crash_end) {
    env.window = {low, crash_reservation.start - low};
  } else {
    env.window = {crash_end, top - crash_end};
  }
}

}  // namespace hvsig::hv
