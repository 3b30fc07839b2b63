#include "tools/kexec/report.h"

#include <cstdio>
#include <cstring>

#include "hv/errno_name.h"

namespace hvsig::kexec_cli {

int Fail(int error, const std::string& reason) {
  const char* name = hv::ErrnoSymbol(error);
  // An errno the hypercall boundary never returns (a host syscall's) still gets its name.
  if (std::strcmp(name, "E?") == 0 && strerrorname_np(error) != nullptr) name = strerrorname_np(error);
  std::fflush(stdout);
  std::fprintf(stderr, "hvsig-kexec: %s: %s\n", name, reason.c_str());
  return kExitFailed;
}

}  // namespace hvsig::kexec_cli
