// hvsig-kexec on Xen: every action through kexec_op (37) via libxencall.so.1.
#pragma once

#include <string>

#include "tools/kexec/options.h"

namespace hvsig::kexec_cli {

// Runs o's action; cmdline is the final command line (without NUL). Returns the exit status.
int RunOnXen(const Options& o, const std::string& cmdline);

}  // namespace hvsig::kexec_cli
