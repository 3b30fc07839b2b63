// hvsig-kexec's command line: kexec-tools' options (kexec/kexec.c, kexec-bzImage64.c) as far as
// the RFC's front end needs them, parsed with CLI11 so kexec-style short options work.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace hvsig::kexec_cli {

enum class Action { Load, Unload, Exec, Status };

// How the load is built: the hypervisor builds and verifies it (file load, -s), or userspace
// builds the segments and the legacy op loads them unverified (-c).
enum class LoadPath { File, Legacy };

struct Options {
  Action action = Action::Load;
  bool crash = false;                       // -p: the crash image (KEXEC_TYPE_CRASH)
  LoadPath path = LoadPath::File;
  bool native = false;                      // --native: the host kernel's syscalls, not Xen
  std::string kernel;
  std::optional<std::string> initrd;
  std::optional<std::string> initrd_sig;
  std::optional<std::string> append;
  bool reuse_cmdline = false;
};

// What parsing produced: options to run, or an exit status (0 for --help/--version, 2 for a
// usage error) after CLI11 printed what it had to say.
struct ParseOutcome {
  std::optional<Options> options;
  int exit_status = 0;
};

ParseOutcome ParseCommandLine(int argc, const char* const* argv);

// kexec-tools' get_command_line() on the text of /proc/cmdline: the first line, without the
// first BOOT_IMAGE= parameter and, for a crash image, without the first crashkernel= parameter
// (remove_parameter() removes only a parameter found at a word start, and only the first hit).
std::string ReusedCommandLine(const std::string& proc_cmdline, bool crash);

// concat_cmdline(): base and append joined by one space; either may be absent.
std::string ConcatCommandLine(const std::optional<std::string>& base,
                              const std::optional<std::string>& append);

}  // namespace hvsig::kexec_cli
