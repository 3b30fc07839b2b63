// hvsig-dom0 [--socket PATH] -- CMD ARGS...
//
// Runs CMD as if inside a PV dom0 on the modelled hypervisor (hvsig-hypervisor):
//   - LD_LIBRARY_PATH puts our libxencall & co (<lib>/xen) first, so libxenctrl's hypercalls
//     go to the daemon at PATH (HVSIG_HYPERVISOR_SOCKET);
//   - LD_PRELOAD=<lib>/libhvsig-dom0.so shows /proc/xen and /sys/hypervisor and answers the
//     PV CPUID probe;
//   - a seccomp filter makes the host's kexec_load, kexec_file_load and reboot fail with EPERM,
//     and ioctl(SIOCSIFFLAGS) too, so `kexec -e`'s ifdown() cannot take the host's network
//     down (kexec_filter.h).
// <lib> is <directory of this executable>/../lib, in the build tree and in an install tree.
//
// Exit status: CMD's, or 128+N if a signal N ended it; 127 if CMD cannot be executed; 1 if the
// dom0 environment cannot be set up (CMD is not run); 2 on usage errors.
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <string_view>

#include "tools/dom0/kexec_filter.h"
#include "xenlibs/wire.h"

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitCannotExecute = 127;

constexpr char kUsage[] =
    "usage: hvsig-dom0 [--socket PATH] -- CMD [ARGS...]\n"
    "Runs CMD as a PV dom0 program on hvsig-hypervisor: Xen's userspace libraries reach the\n"
    "daemon at PATH (default " HVSIG_HYPERVISOR_SOCKET_DEFAULT "), /proc/xen and\n"
    "/sys/hypervisor show the modelled Xen, and the host's kexec and reboot syscalls, and\n"
    "ioctl(SIOCSIFFLAGS) (kexec -e's ifdown), fail with EPERM.\n";

int UsageError(const std::string& message) {
  fprintf(stderr, "hvsig-dom0: %s\n%s", message.c_str(), kUsage);
  return kExitUsage;
}

// <dir of /proc/self/exe>/../lib, canonical; empty on failure (reason printed).
std::string LibraryDirectory() {
  char exe[PATH_MAX];
  ssize_t length = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (length <= 0) {
    fprintf(stderr, "hvsig-dom0: /proc/self/exe: %s\n", strerror(errno));
    return {};
  }
  std::string path(exe, static_cast<size_t>(length));
  path.resize(path.rfind('/') + 1);
  path += "../lib";
  char canonical[PATH_MAX];
  if (realpath(path.c_str(), canonical) == nullptr) {
    fprintf(stderr, "hvsig-dom0: library directory %s: %s\n", path.c_str(), strerror(errno));
    return {};
  }
  return canonical;
}

void PrependToList(const char* variable, const std::string& entry) {
  const char* old = getenv(variable);
  std::string value = entry;
  if (old != nullptr && old[0] != '\0') value += std::string(":") + old;
  setenv(variable, value.c_str(), 1);
}

volatile sig_atomic_t g_child = 0;

// A supervisor that stops hvsig-dom0 means the command.
constexpr int kForwardedSignals[] = {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
void ForwardToChild(int signal_number) {
  if (g_child > 0) kill(g_child, signal_number);
}

int WaitForChild(pid_t child) {
  int status;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) {
      fprintf(stderr, "hvsig-dom0: waitpid: %s\n", strerror(errno));
      return kExitFailed;
    }
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket = HVSIG_HYPERVISOR_SOCKET_DEFAULT;
  int first = 1;
  for (; first < argc; first++) {
    std::string_view arg = argv[first];
    if (arg == "--") {
      first++;
      break;
    }
    if (arg == "-h" || arg == "--help") {
      fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--socket") {
      if (first + 1 == argc) return UsageError("--socket needs a PATH");
      socket = argv[++first];
    } else if (arg.starts_with("--socket=")) {
      socket = arg.substr(sizeof "--socket=" - 1);
    } else if (arg.starts_with("-")) {
      return UsageError("unknown option " + std::string(arg));
    } else {
      break;
    }
    if (socket.empty()) return UsageError("--socket needs a non-empty PATH");
  }
  if (first == argc) return UsageError("no command given");

  std::string lib = LibraryDirectory();
  if (lib.empty()) return kExitFailed;
  // ld.so splits LD_PRELOAD at spaces and colons, LD_LIBRARY_PATH at colons.
  if (lib.find_first_of(": ") != std::string::npos) {
    fprintf(stderr, "hvsig-dom0: library directory %s contains ':' or ' ', which ld.so cannot take\n",
            lib.c_str());
    return kExitFailed;
  }
  std::string preload = lib + "/libhvsig-dom0.so";
  if (access(preload.c_str(), R_OK) != 0) {
    fprintf(stderr, "hvsig-dom0: preload library %s: %s (build the hvsig-dom0 targets)\n",
            preload.c_str(), strerror(errno));
    return kExitFailed;
  }
  std::string xen_libraries = lib + "/xen";
  if (access((xen_libraries + "/libxencall.so.1").c_str(), R_OK) != 0) {
    fprintf(stderr, "hvsig-dom0: warning: no %s/libxencall.so.1; Xen calls reach the system's "
            "libxencall, not hvsig-hypervisor\n", xen_libraries.c_str());
  }
  PrependToList("LD_LIBRARY_PATH", xen_libraries);
  PrependToList("LD_PRELOAD", preload);
  setenv(HVSIG_HYPERVISOR_SOCKET_ENV, socket.c_str(), 1);

  std::string error;
  if (!hvsig::dom0::InstallKexecFilter(&error)) {
    fprintf(stderr, "hvsig-dom0: %s; refusing to run %s with the host's kexec reachable\n",
            error.c_str(), argv[first]);
    return kExitFailed;
  }

  // Signals for the command that arrive while it starts wait until it can receive them.
  sigset_t forwarded, saved_mask;
  sigemptyset(&forwarded);
  for (int signal_number : kForwardedSignals) sigaddset(&forwarded, signal_number);
  sigprocmask(SIG_BLOCK, &forwarded, &saved_mask);
  fflush(nullptr);
  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "hvsig-dom0: fork: %s\n", strerror(errno));
    return kExitFailed;
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &saved_mask, nullptr);
    execvp(argv[first], argv + first);
    fprintf(stderr, "hvsig-dom0: %s: %s\n", argv[first], strerror(errno));
    _exit(kExitCannotExecute);
  }
  g_child = child;
  struct sigaction forward = {};
  forward.sa_handler = ForwardToChild;
  sigemptyset(&forward.sa_mask);
  forward.sa_flags = SA_RESTART;
  for (int signal_number : kForwardedSignals) sigaction(signal_number, &forward, nullptr);
  // Like system(3): the terminal sends these to the whole process group, the command included.
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  sigprocmask(SIG_SETMASK, &saved_mask, nullptr);
  return WaitForChild(child);
}
