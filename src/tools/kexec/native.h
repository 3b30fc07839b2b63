// hvsig-kexec --native: the same actions on a Linux host without Xen, through the host kernel's
// kexec_file_load(2), reboot(2) and /sys/kernel/kexec_{,crash_}loaded. Never the default.
#pragma once

#include <string>

#include "tools/kexec/options.h"

namespace hvsig::kexec_cli {

int RunNative(const Options& o, const std::string& cmdline);

}  // namespace hvsig::kexec_cli
