// What a dom0 program sees under hvsig-dom0, checked the way dom0 programs look.
//
//   dom0_probe                 every check; one "PASS name" or "FAIL name: why" line each;
//                              exit 0 if all pass. Outside hvsig-dom0 the Xen checks fail
//                              (tests/dom0_test.sh asserts which), so they can fail.
//   dom0_probe --ud2 [ignore]  executes ud2 with SIGILL at its default (or ignored): the
//                              process must die of SIGILL either way, as on Linux.
//   dom0_probe --without-seccomp CMD ARGS...
//                              runs CMD where installing a seccomp filter fails (seccomp(2) and
//                              PR_SET_SECCOMP give EINVAL), for hvsig-dom0's refusal test.
//
// The expected Xen identity comes from hv/xen_identity.h, like the model's.
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <net/if.h>
#include <linux/reboot.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <ucontext.h>
#include <unistd.h>

#include <string>

#include "hv/xen_identity.h"

namespace identity = hvsig::hv::xen_identity;

namespace {

int g_failures = 0;

void Report(const char* name, bool passed, const std::string& why = "") {
  if (passed) {
    printf("PASS %s\n", name);
  } else {
    printf("FAIL %s: %s\n", name, why.c_str());
    g_failures++;
  }
  fflush(stdout);
}

std::string ErrnoText(int error) { return std::string(strerrorname_np(error) ? strerrorname_np(error) : "?"); }

std::string Printable(const std::string& text) {
  std::string out = "\"";
  for (char c : text) out += c == '\n' ? std::string("\\n") : std::string(1, c);
  return out + "\"";
}

// ---- kexec-tools' probe, as in kexec/crashdump-xen.c (2.0.25) ----------------------------

jmp_buf g_xen_sigill_jmp;
volatile sig_atomic_t g_kexec_handler_calls = 0;

void XenSigillHandler(int) {
  g_kexec_handler_calls = g_kexec_handler_calls + 1;
  longjmp(g_xen_sigill_jmp, 1);
}

void XenCpuid(uint32_t idx, uint32_t* regs, int pv_context) {
  asm volatile("test %5,%5 ; jz 1f ; ud2a ; .ascii \"xen\" ; 1: cpuid\n\t"
               : "=a"(regs[0]), "=b"(regs[1]), "=c"(regs[2]), "=d"(regs[3])
               : "0"(idx), "1"(pv_context), "2"(0));
}

int CheckForXen(int pv_context) {
  uint32_t regs[4];
  char signature[13];
  uint32_t base;
  for (base = 0x40000000; base < 0x40010000; base += 0x100) {
    XenCpuid(base, regs, pv_context);
    memcpy(signature + 0, &regs[1], 4);
    memcpy(signature + 4, &regs[2], 4);
    memcpy(signature + 8, &regs[3], 4);
    signature[12] = '\0';
    if (strcmp("XenVMMXenVMM", signature) == 0 && regs[0] >= (base + 2)) goto found;
  }
  return 0;
found:
  XenCpuid(base + 1, regs, pv_context);
  return static_cast<int>(regs[0]);
}

// xen_detect_pv_guest(), returning the version check_for_xen() found (-1: SIGILL reached the
// program's handler, 0: no Xen signature).
int XenDetectPvGuest() {
  struct sigaction act, oldact;
  static volatile int version;
  version = -1;
  if (setjmp(g_xen_sigill_jmp)) return version;
  memset(&act, 0, sizeof(act));
  act.sa_handler = XenSigillHandler;
  sigemptyset(&act.sa_mask);
  if (sigaction(SIGILL, &act, &oldact)) return version;
  version = CheckForXen(1);
  sigaction(SIGILL, &oldact, NULL);
  return version;
}

// ---- the PV CPUID probe -----------------------------------------------------------------

uint32_t ExpectedVersion() { return identity::kMajor << 16 | identity::kMinor; }

void CheckKexecToolsProbe() {
  g_kexec_handler_calls = 0;
  int version = XenDetectPvGuest();
  // kexec-tools leaves SIGILL blocked when its handler longjmps out; undo that for what follows.
  sigset_t sigill;
  sigemptyset(&sigill);
  sigaddset(&sigill, SIGILL);
  sigprocmask(SIG_UNBLOCK, &sigill, nullptr);
  char why[160];
  snprintf(why, sizeof why, "version 0x%x (want 0x%x), kexec-tools' SIGILL handler called %d times",
           static_cast<unsigned>(version), ExpectedVersion(), static_cast<int>(g_kexec_handler_calls));
  Report("xen_cpuid_probe_kexec_tools", version == static_cast<int>(ExpectedVersion()) &&
                                            g_kexec_handler_calls == 0, why);
  struct sigaction now;
  sigaction(SIGILL, nullptr, &now);
  Report("xen_cpuid_probe_restores_disposition", now.sa_handler == SIG_DFL,
         "SIGILL disposition after the probe is not SIG_DFL");
  signal(SIGILL, SIG_DFL);  // natively the longjmp skipped kexec-tools' own restore
}

void* ProbeThread(void* result) {
  uint32_t regs[4];
  bool all_right = true;
  for (int i = 0; i < 2000; i++) {
    XenCpuid(identity::kCpuidBase + 1, regs, 1);
    all_right = all_right && regs[0] == ExpectedVersion();
  }
  *static_cast<bool*>(result) = all_right;
  return nullptr;
}

// One PV CPUID, guarded like kexec-tools so a native run reports instead of dying.
jmp_buf g_guard_jmp;
void GuardHandler(int) { longjmp(g_guard_jmp, 1); }

bool GuardedXenCpuid(uint32_t leaf, uint32_t* regs) {
  struct sigaction guard = {}, saved;
  guard.sa_handler = GuardHandler;
  sigemptyset(&guard.sa_mask);
  guard.sa_flags = SA_NODEFER;
  sigaction(SIGILL, &guard, &saved);
  bool emulated = false;
  if (setjmp(g_guard_jmp) == 0) {
    XenCpuid(leaf, regs, 1);
    emulated = true;
  }
  sigaction(SIGILL, &saved, nullptr);
  return emulated;
}

void CheckCpuidLeaves() {
  uint32_t regs[4] = {};
  bool emulated = GuardedXenCpuid(identity::kCpuidBase + 2, regs);
  Report("xen_cpuid_leaf_2_hypercall_page", emulated && regs[0] == identity::kHypercallPages &&
                                                regs[1] == identity::kHypercallMsr,
         emulated ? "wrong hypercall page count or MSR" : "SIGILL");
  bool zero = true;
  for (uint32_t leaf : {identity::kCpuidBase + 3, identity::kCpuidMaxLeaf, identity::kCpuidMaxLeaf + 1,
                        identity::kCpuidBase + 0x100}) {
    emulated = GuardedXenCpuid(leaf, regs) && emulated;
    zero = zero && (regs[0] | regs[1] | regs[2] | regs[3]) == 0;
  }
  Report("xen_cpuid_other_xen_leaves_zero", emulated && zero, "SIGILL or non-zero leaf");
  // Outside Xen's block the prefixed CPUID is the hardware's.
  uint32_t native[4];
  __cpuid_count(0, 0, native[0], native[1], native[2], native[3]);
  emulated = GuardedXenCpuid(0, regs);
  Report("xen_cpuid_leaf_0_is_hardware", emulated && memcmp(regs, native, sizeof native) == 0,
         emulated ? "differs from the native CPUID" : "SIGILL");

  // Unguarded from here on, as kexec-tools' callers would be after xen_present() said yes.
  if (!GuardedXenCpuid(identity::kCpuidBase + 1, regs)) {
    Report("xen_cpuid_probe_in_threads", false, "SIGILL");
    return;
  }
  bool results[4] = {};
  pthread_t threads[4];
  for (int i = 0; i < 4; i++) pthread_create(&threads[i], nullptr, ProbeThread, &results[i]);
  for (pthread_t thread : threads) pthread_join(thread, nullptr);
  Report("xen_cpuid_probe_in_threads", results[0] && results[1] && results[2] && results[3],
         "a thread saw another version");
}

// ---- other SIGILLs still reach the program ----------------------------------------------

volatile sig_atomic_t g_siginfo_calls = 0;
volatile uintptr_t g_fault_address = 0;
volatile int g_fault_code = 0;

// Steps over the 2-byte ud2, as a JIT or an emulator would.
void StepOverUd2(int, siginfo_t* info, void* context) {
  g_siginfo_calls = g_siginfo_calls + 1;
  g_fault_address = reinterpret_cast<uintptr_t>(info->si_addr);
  g_fault_code = info->si_code;
  static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RIP] += 2;
}

uintptr_t ExecuteUd2() {
  uintptr_t address;
  asm volatile("lea 1f(%%rip), %0\n1: ud2" : "=r"(address));
  return address;
}

void CheckUd2WithSiginfoHandler() {
  struct sigaction action = {}, saved, reported;
  action.sa_sigaction = StepOverUd2;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGUSR2);
  sigaction(SIGILL, &action, &saved);
  sigaction(SIGILL, nullptr, &reported);
  Report("sigaction_reports_program_handler",
         reported.sa_sigaction == StepOverUd2 && (reported.sa_flags & SA_SIGINFO) != 0 &&
             sigismember(&reported.sa_mask, SIGUSR2) == 1,
         "sigaction(SIGILL, NULL, &old) does not give back the handler just set");
  g_siginfo_calls = 0;
  uintptr_t address = ExecuteUd2();
  Report("ud2_reaches_siginfo_handler",
         g_siginfo_calls == 1 && g_fault_address == address && g_fault_code == ILL_ILLOPN,
         "handler calls " + std::to_string(g_siginfo_calls) + ", si_code " + std::to_string(g_fault_code));
  sigaction(SIGILL, &saved, nullptr);
}

volatile sig_atomic_t g_masked_during_handler = -1;
void RecordMask(int, siginfo_t*, void* context) {
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, nullptr, &now);
  g_masked_during_handler = sigismember(&now, SIGILL) == 1 && sigismember(&now, SIGUSR2) == 1;
  static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RIP] += 2;
}

void CheckHandlerMask() {
  struct sigaction action = {}, saved;
  action.sa_sigaction = RecordMask;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGUSR2);
  sigaction(SIGILL, &action, &saved);
  ExecuteUd2();
  sigset_t after;
  pthread_sigmask(SIG_BLOCK, nullptr, &after);
  Report("ud2_handler_runs_with_its_mask",
         g_masked_during_handler == 1 && sigismember(&after, SIGUSR2) == 0,
         "SIGILL and sa_mask not blocked in the handler, or still blocked after it");
  sigaction(SIGILL, &saved, nullptr);
}

sigjmp_buf g_plain_jmp;
volatile sig_atomic_t g_plain_calls = 0;
void PlainHandler(int signal_number) {
  g_plain_calls = g_plain_calls + (signal_number == SIGILL);
  siglongjmp(g_plain_jmp, 1);
}

void CheckUd2WithSignalHandler() {
  g_plain_calls = 0;
  sighandler_t previous = signal(SIGILL, PlainHandler);
  if (sigsetjmp(g_plain_jmp, 1) == 0) ExecuteUd2();
  sighandler_t mine = signal(SIGILL, previous);
  Report("ud2_reaches_signal_handler", g_plain_calls == 1 && mine == PlainHandler,
         "signal() handler calls " + std::to_string(g_plain_calls));
}

void CheckResetHand() {
  struct sigaction action = {}, saved, after;
  action.sa_sigaction = StepOverUd2;
  action.sa_flags = SA_SIGINFO | SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaction(SIGILL, &action, &saved);
  g_siginfo_calls = 0;
  ExecuteUd2();
  sigaction(SIGILL, nullptr, &after);
  Report("ud2_sa_resethand", g_siginfo_calls == 1 && after.sa_handler == SIG_DFL,
         "handler not called once, or disposition not reset to SIG_DFL");
  sigaction(SIGILL, &saved, nullptr);
}

// ---- /proc/xen and /sys/hypervisor -------------------------------------------------------

std::string ReadWithOpen(const char* path, int* error) {
  int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = errno;
    return {};
  }
  std::string text;
  char buffer[1024];
  ssize_t length;
  while ((length = read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<size_t>(length));
  *error = length < 0 ? errno : 0;
  close(fd);
  return text;
}

std::string ReadWithFopen(const char* path, int* error) {
  FILE* stream = fopen(path, "re");
  if (stream == nullptr) {
    *error = errno;
    return {};
  }
  char buffer[256] = {};
  size_t length = fread(buffer, 1, sizeof buffer, stream);
  fclose(stream);
  *error = 0;
  return std::string(buffer, length);
}

void CheckFile(const char* name, const char* path, const std::string& want) {
  int error = 0;
  std::string got = ReadWithFopen(path, &error);
  Report((std::string(name) + "_fopen").c_str(), error == 0 && got == want,
         error != 0 ? ErrnoText(error) : "read " + Printable(got) + ", want " + Printable(want));
  got = ReadWithOpen(path, &error);
  Report((std::string(name) + "_open").c_str(), error == 0 && got == want,
         error != 0 ? ErrnoText(error) : "read " + Printable(got) + ", want " + Printable(want));
}

// The outcome of a call that sets errno: "" on success, else the errno name.
std::string Outcome(int rc) { return rc == 0 ? std::string() : ErrnoText(errno); }

void CheckDirectory(const char* name, int rc, mode_t mode, const std::string& outcome) {
  Report(name, rc == 0 && S_ISDIR(mode), rc == 0 ? "not a directory" : outcome);
}

// glibc before 2.33 compiled stat() into calls of __xstat(); a binary built then binds to the
// GLIBC_2.2.5 version, as this reference does.
extern "C" int old_binary_xstat(int version, const char* path, struct stat* out);
__asm__(".symver old_binary_xstat, __xstat@GLIBC_2.2.5");

void CheckProcXen() {
  int rc = access("/proc/xen", F_OK);
  Report("access_proc_xen", rc == 0, Outcome(rc));
  rc = faccessat(AT_FDCWD, "/proc/xen/", R_OK | X_OK, 0);
  Report("faccessat_proc_xen", rc == 0, Outcome(rc));
  rc = access("/proc/xen", W_OK);
  int error = errno;
  Report("access_proc_xen_not_writable", rc != 0 && error == EACCES, "W_OK: " + Outcome(rc));
  struct stat st = {};
  rc = stat("/proc/xen", &st);
  CheckDirectory("stat_proc_xen_directory", rc, st.st_mode, Outcome(rc));
  st = {};
  rc = lstat("//proc/./xen", &st);
  CheckDirectory("lstat_proc_xen_directory", rc, st.st_mode, Outcome(rc));
  st = {};
  rc = fstatat(AT_FDCWD, "/proc/xen", &st, AT_SYMLINK_NOFOLLOW);
  CheckDirectory("fstatat_proc_xen_directory", rc, st.st_mode, Outcome(rc));
  struct statx stx = {};
  rc = statx(AT_FDCWD, "/proc/xen", 0, STATX_BASIC_STATS, &stx);
  CheckDirectory("statx_proc_xen_directory", rc, stx.stx_mode, Outcome(rc));
  st = {};
  rc = old_binary_xstat(1, "/proc/xen", &st);
  CheckDirectory("old_xstat_proc_xen_directory", rc, st.st_mode, Outcome(rc));
  char label[64];
  rc = static_cast<int>(lgetxattr("/proc/xen", "security.selinux", label, sizeof label));
  error = errno;
  Report("lgetxattr_proc_xen_no_label", rc < 0 && error == ENODATA, "want ENODATA, got " + Outcome(rc));
  rc = stat("/proc/xen/privcmd", &st);
  error = errno;
  Report("stat_proc_xen_unknown_entry", rc != 0 && error == ENOENT, "want ENOENT, got " + Outcome(rc));
  CheckFile("proc_xen_capabilities", "/proc/xen/capabilities", "control_d\n");
}

void CheckSysHypervisor() {
  CheckFile("sys_hypervisor_type", "/sys/hypervisor/type", "xen\n");
  CheckFile("sys_hypervisor_major", "/sys/hypervisor/version/major", std::to_string(identity::kMajor) + "\n");
  CheckFile("sys_hypervisor_minor", "/sys/hypervisor/version/minor", std::to_string(identity::kMinor) + "\n");
  CheckFile("sys_hypervisor_extra", "/sys/hypervisor/version/extra",
            std::string(identity::kExtraVersion) + "\n");
  struct stat st = {};
  int rc = stat("/sys/hypervisor/version", &st);
  CheckDirectory("stat_sys_hypervisor_version_directory", rc, st.st_mode, Outcome(rc));
  st = {};
  rc = stat("/sys/hypervisor/type", &st);
  Report("stat_sys_hypervisor_type_file", rc == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0444,
         rc == 0 ? "not a read-only regular file" : Outcome(rc));
  int fd = open("/sys/hypervisor/type", O_RDWR);
  int error = errno;
  Report("sys_hypervisor_type_not_writable", fd < 0 && error == EACCES,
         fd < 0 ? "O_RDWR: " + ErrnoText(error) : "O_RDWR succeeded");
  if (fd >= 0) close(fd);
  fd = open("/sys/hypervisor/type", O_RDONLY);
  bool sealed = fd >= 0 && write(fd, "kvm\n", 4) < 0;
  Report("sys_hypervisor_type_fd_rejects_writes", sealed, "open failed or write succeeded");
  if (fd >= 0) close(fd);
}

void CheckOtherPathsUntouched() {
  struct stat st;
  bool ok = stat("/proc/self", &st) == 0 && S_ISDIR(st.st_mode);
  int error = 0;
  std::string status = ReadWithOpen("/proc/self/status", &error);
  Report("other_paths_untouched", ok && status.find("Name:") != std::string::npos,
         "stat(/proc/self) or reading /proc/self/status failed");
}

// ---- the host's kexec and reboot ---------------------------------------------------------

std::string StatusField(const char* field) {
  int error = 0;
  std::string status = ReadWithOpen("/proc/self/status", &error);
  size_t at = status.find(std::string(field) + ":\t");
  if (at == std::string::npos) return {};
  at += strlen(field) + 2;
  return status.substr(at, status.find('\n', at) - at);
}

void CheckEperm(const char* name, long rc) {
  int error = errno;
  Report(name, rc == -1 && error == EPERM,
         "rc " + std::to_string(rc) + " " + (rc == -1 ? ErrnoText(error) : std::string()));
}

// Every call below is harmless even if nothing filtered it: kexec with invalid flags and too
// many segments gives EINVAL, reboot with a wrong magic gives EINVAL, before anything happens.
void CheckHostKexecBlocked() {
  Report("seccomp_filter_active", StatusField("Seccomp") == "2" && StatusField("NoNewPrivs") == "1",
         "Seccomp " + StatusField("Seccomp") + ", NoNewPrivs " + StatusField("NoNewPrivs"));
  constexpr unsigned long kInvalidFlags = 0xdead0000;
  CheckEperm("kexec_load_eperm", syscall(SYS_kexec_load, 0UL, 1000UL, nullptr, kInvalidFlags));
  CheckEperm("kexec_file_load_eperm", syscall(SYS_kexec_file_load, -1, -1, 0UL, nullptr, kInvalidFlags));
  CheckEperm("reboot_eperm", syscall(SYS_reboot, 0, 0, LINUX_REBOOT_CMD_KEXEC, nullptr));
  constexpr long kX32KexecLoad = 0x40000000 + 528;
  CheckEperm("x32_kexec_load_eperm", syscall(kX32KexecLoad, 0UL, 1000UL, nullptr, kInvalidFlags));
  // The i386 ABI (int 0x80; reboot is 88 there) from a 64-bit process ends it.
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    long rc;
    asm volatile("int $0x80" : "=a"(rc) : "a"(88), "b"(0), "c"(0), "d"(LINUX_REBOOT_CMD_KEXEC), "S"(0)
                 : "memory");
    _exit(rc == -EPERM ? 3 : 0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  Report("i386_syscall_kills", WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
         WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                             : "exited " + std::to_string(WEXITSTATUS(status)));
}

// ---- the host's network interfaces ---------------------------------------------------------

// `kexec -e` runs kexec-tools' ifdown(): SIOCSIFFLAGS without IFF_UP on every interface but lo.
// The interface named here exists nowhere, so even unfiltered the call changes nothing: as root
// it gives ENODEV (EPERM without CAP_NET_ADMIN, which is why dom0_test.sh judges the native run
// by capability).
constexpr char kNoSuchInterface[] = "hvsig-nodev0";
static_assert(sizeof kNoSuchInterface <= IFNAMSIZ);

ifreq InterfaceRequest(const char* name, size_t size) {
  ifreq request{};
  memcpy(request.ifr_name, name, size);
  return request;
}

void CheckHostIfdownBlocked() {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    Report("siocsifflags_eperm", false, "socket: " + ErrnoText(errno));
    return;
  }
  ifreq down = InterfaceRequest(kNoSuchInterface, sizeof kNoSuchInterface);
  CheckEperm("siocsifflags_eperm", ioctl(fd, SIOCSIFFLAGS, &down));
  // The kernel reads the request as unsigned int: bits above 32 must not get it past the filter.
  CheckEperm("siocsifflags_high_bits_eperm",
             syscall(SYS_ioctl, fd, 0xffffffff00000000UL | SIOCSIFFLAGS, &down));
  // Reading flags (ifdown's first step, `ip link`'s view) is not filtered.
  ifreq loopback = InterfaceRequest("lo", sizeof "lo");
  const int rc = ioctl(fd, SIOCGIFFLAGS, &loopback);
  Report("siocgifflags_allowed", rc == 0 && (loopback.ifr_flags & IFF_LOOPBACK) != 0,
         rc == 0 ? std::string("lo lacks IFF_LOOPBACK") : ErrnoText(errno));
  close(fd);
}

// ---- modes -------------------------------------------------------------------------------

int Ud2Mode(bool ignore) {
  signal(SIGILL, ignore ? SIG_IGN : SIG_DFL);
  ExecuteUd2();
  printf("survived ud2\n");
  return 0;
}

// A seccomp filter that makes installing another one fail, then CMD.
int WithoutSeccompMode(char** command) {
  constexpr unsigned kEinval = SECCOMP_RET_ERRNO | EINVAL;
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 3, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_prctl, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_SET_SECCOMP, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, kEinval),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program = {sizeof filter / sizeof filter[0], filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) != 0) {
    perror("dom0_probe: seccomp");
    return 2;
  }
  execvp(command[0], command);
  perror(command[0]);
  return 127;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "--ud2") == 0) return Ud2Mode(argc >= 3 && strcmp(argv[2], "ignore") == 0);
  if (argc >= 3 && strcmp(argv[1], "--without-seccomp") == 0) return WithoutSeccompMode(argv + 2);
  if (argc != 1) {
    fprintf(stderr, "usage: dom0_probe [--ud2 [ignore] | --without-seccomp CMD ARGS...]\n");
    return 2;
  }
  CheckProcXen();
  CheckSysHypervisor();
  CheckOtherPathsUntouched();
  CheckKexecToolsProbe();
  CheckCpuidLeaves();
  CheckUd2WithSiginfoHandler();
  CheckHandlerMask();
  CheckUd2WithSignalHandler();
  CheckResetHand();
  CheckHostKexecBlocked();
  CheckHostIfdownBlocked();
  printf("%d check(s) failed\n", g_failures);
  return g_failures == 0 ? 0 : 1;
}
