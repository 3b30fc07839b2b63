// hvsig-kexec: the RFC's kexec-tools change as a front end. On Xen the hypervisor verifies the
// kernel (KEXEC_CMD_kexec_file_load); this program reads the files, asks, and reports what the
// hypervisor decided. Usage and the exit statuses: options.h, report.h.
#include <cerrno>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "tools/kexec/native.h"
#include "tools/kexec/options.h"
#include "tools/kexec/report.h"
#include "tools/kexec/xen_kexec.h"

namespace {

using hvsig::kexec_cli::Options;

// The command line the image gets: --reuse-cmdline's /proc/cmdline, then --append.
bool FinalCommandLine(const Options& o, std::string& out) {
  std::optional<std::string> base;
  if (o.reuse_cmdline) {
    std::ifstream in("/proc/cmdline");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) return false;
    if (text.empty()) return false;
    base = hvsig::kexec_cli::ReusedCommandLine(text, o.crash);
  }
  out = hvsig::kexec_cli::ConcatCommandLine(base, o.append);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const hvsig::kexec_cli::ParseOutcome parsed = hvsig::kexec_cli::ParseCommandLine(argc, argv);
  if (!parsed.options) return parsed.exit_status;
  const Options& o = *parsed.options;
  std::string cmdline;
  if (o.action == hvsig::kexec_cli::Action::Load && !FinalCommandLine(o, cmdline)) {
    return hvsig::kexec_cli::Fail(EIO, "--reuse-cmdline: cannot read /proc/cmdline");
  }
  return o.native ? hvsig::kexec_cli::RunNative(o, cmdline) : hvsig::kexec_cli::RunOnXen(o, cmdline);
}
