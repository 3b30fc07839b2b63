// The PV CPUID probe. A PV guest's CPUID shows the hardware; to see the hypervisor, a PV
// kernel or program uses Xen's forced-emulation prefix, `ud2a; .ascii "xen"; cpuid`, which
// traps to Xen, and Xen answers with its own leaves and steps over all seven bytes. On
// Linux the prefix raises SIGILL instead, and kexec-tools' xen_present() takes that as "not a
// PV guest" from its own SIGILL handler.
//
// Here our SIGILL handler plays Xen's part: on the prefix it answers the CPUID from
// hv/xen_identity.h and steps over it. Every other SIGILL belongs to the program. The
// program still believes it owns SIGILL: sigaction()/signal() for SIGILL record its
// disposition (and report it back as the old one) while ours stays installed, and our
// handler forwards to the recorded disposition as the kernel would have delivered it.
#include <cpuid.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "hv/xen_identity.h"
#include "tools/dom0/preload/next_symbol.h"

namespace {

namespace identity = hvsig::hv::xen_identity;

// ud2a; .ascii "xen"; cpuid
constexpr unsigned char kForcedEmulationPrefix[] = {0x0f, 0x0b, 0x78, 0x65, 0x6e, 0x0f, 0xa2};
constexpr size_t kPrefixLength = sizeof kForcedEmulationPrefix;
// Xen owns this whole block of leaves (guest_cpuid()): its own below kCpuidMaxLeaf, zeros above.
constexpr uint32_t kXenLeafBlockEnd = 0x400fffff;

struct CpuidResult {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

uint32_t SignatureWord(size_t index) {
  uint32_t word;
  memcpy(&word, identity::kCpuidSignature + 4 * index, sizeof word);
  return word;
}

CpuidResult EmulatedCpuid(uint32_t leaf, uint32_t subleaf) {
  CpuidResult result;
  if (leaf < identity::kCpuidBase || leaf > kXenLeafBlockEnd) {
    __cpuid_count(leaf, subleaf, result.eax, result.ebx, result.ecx, result.edx);
    return result;
  }
  switch (leaf - identity::kCpuidBase) {
    case 0:
      result = {identity::kCpuidMaxLeaf, SignatureWord(0), SignatureWord(1), SignatureWord(2)};
      break;
    case 1:
      result.eax = identity::kMajor << 16 | identity::kMinor;
      break;
    case 2:
      result.eax = identity::kHypercallPages;
      result.ebx = identity::kHypercallMsr;
      break;
    default:
      // Time, HVM and PV feature leaves: nothing a dom0 under the model can use.
      break;
  }
  return result;
}

// The instruction bytes at the fault. The ud2 itself was fetched, so it is mapped; the rest of
// the prefix may cross into an unmapped page, which process_vm_readv reports instead of faulting.
bool AtForcedEmulationPrefix(uintptr_t rip) {
  unsigned char bytes[kPrefixLength];
  if ((rip & 4095) <= 4096 - kPrefixLength) {
    memcpy(bytes, reinterpret_cast<const void*>(rip), kPrefixLength);
  } else {
    iovec local = {bytes, kPrefixLength};
    iovec remote = {reinterpret_cast<void*>(rip), kPrefixLength};
    if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != static_cast<ssize_t>(kPrefixLength)) {
      return false;
    }
  }
  return memcmp(bytes, kForcedEmulationPrefix, kPrefixLength) == 0;
}

// The program's SIGILL disposition, read by the handler on any thread while sigaction() may
// change it on another: a sequence lock (odd while a writer is inside). Writers serialise on
// a spin flag with every signal blocked, so a handler never interrupts a writer on its own
// thread and no reader waits forever.
constinit struct sigaction g_program_action = {};
constinit std::atomic<unsigned> g_program_sequence{0};
constinit std::atomic_flag g_program_writer = ATOMIC_FLAG_INIT;
constinit std::atomic<bool> g_installed{false};
constinit std::atomic<int> g_our_flags{0};

struct sigaction ReadProgramAction() {
  struct sigaction action;
  for (;;) {
    unsigned before = g_program_sequence.load(std::memory_order_acquire);
    if ((before & 1) != 0) continue;
    memcpy(&action, &g_program_action, sizeof action);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (g_program_sequence.load(std::memory_order_relaxed) == before) return action;
  }
}

// Stores `action` (if given) and returns the disposition it replaces, as one step.
struct sigaction ExchangeProgramAction(const struct sigaction* action) {
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  while (g_program_writer.test_and_set(std::memory_order_acquire)) {
  }
  struct sigaction previous;
  memcpy(&previous, &g_program_action, sizeof previous);
  if (action != nullptr) {
    g_program_sequence.fetch_add(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    memcpy(&g_program_action, action, sizeof g_program_action);
    g_program_sequence.fetch_add(1, std::memory_order_release);
  }
  g_program_writer.clear(std::memory_order_release);
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  return previous;
}

void OnSigill(int signal_number, siginfo_t* info, void* context);

// Ours runs with SA_NODEFER and an empty mask, so the mask at the program's handler can be made
// what the kernel would have set; SA_ONSTACK follows the program's wish.
int InstallOurs(int program_flags) {
  struct sigaction ours = {};
  ours.sa_sigaction = OnSigill;
  ours.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESTART | (program_flags & SA_ONSTACK);
  sigemptyset(&ours.sa_mask);
  g_our_flags.store(ours.sa_flags, std::memory_order_relaxed);
  return HVSIG_NEXT(sigaction)(SIGILL, &ours, nullptr);
}

void SetDefaultAction() {
  struct sigaction default_action = {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  HVSIG_NEXT(sigaction)(SIGILL, &default_action, nullptr);
}

// What the kernel does with a SIGILL under the program's disposition.
void DeliverToProgram(int signal_number, siginfo_t* info, void* context) {
  struct sigaction program = ReadProgramAction();
  bool sent_by_a_process = info->si_code <= 0;
  if (program.sa_handler == SIG_IGN && sent_by_a_process) return;
  if (program.sa_handler == SIG_DFL || program.sa_handler == SIG_IGN) {
    // Default action. An ignored SIGILL from a fault is fatal too: the kernel resets it to the
    // default. Returning re-executes the faulting instruction under SIG_DFL; a sent signal
    // is sent again.
    SetDefaultAction();
    if (sent_by_a_process) raise(SIGILL);
    return;
  }
  if ((program.sa_flags & SA_RESETHAND) != 0) {
    struct sigaction reset = {};
    reset.sa_handler = SIG_DFL;
    sigemptyset(&reset.sa_mask);
    ExchangeProgramAction(&reset);
  }
  sigset_t blocked = program.sa_mask;
  if ((program.sa_flags & SA_NODEFER) == 0) sigaddset(&blocked, SIGILL);
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
  // The kernel restores the interrupted mask from the context when we return.
  if ((program.sa_flags & SA_SIGINFO) != 0) {
    program.sa_sigaction(signal_number, info, context);
  } else {
    program.sa_handler(signal_number);
  }
}

void OnSigill(int signal_number, siginfo_t* info, void* context) {
  int saved_errno = errno;
  auto* registers = static_cast<ucontext_t*>(context)->uc_mcontext.gregs;
  auto rip = static_cast<uintptr_t>(registers[REG_RIP]);
  if (info->si_code > 0 && AtForcedEmulationPrefix(rip)) {
    CpuidResult result = EmulatedCpuid(static_cast<uint32_t>(registers[REG_RAX]),
                                       static_cast<uint32_t>(registers[REG_RCX]));
    registers[REG_RAX] = result.eax;
    registers[REG_RBX] = result.ebx;
    registers[REG_RCX] = result.ecx;
    registers[REG_RDX] = result.edx;
    registers[REG_RIP] = static_cast<greg_t>(rip + kPrefixLength);
    errno = saved_errno;
    return;
  }
  errno = saved_errno;
  DeliverToProgram(signal_number, info, context);
}

// The program's sigaction() for SIGILL, once ours is installed.
int ProgramSigaction(const struct sigaction* action, struct sigaction* old_action) {
  struct sigaction previous = ExchangeProgramAction(action);
  if (action != nullptr && ((action->sa_flags ^ g_our_flags.load()) & SA_ONSTACK) != 0 &&
      InstallOurs(action->sa_flags) != 0) {
    return -1;
  }
  if (old_action != nullptr) *old_action = previous;
  return 0;
}

bool Ours(int signal_number) {
  return signal_number == SIGILL && g_installed.load(std::memory_order_acquire);
}

// signal() and friends as glibc builds them from sigaction().
sighandler_t ProgramSignal(sighandler_t handler, int flags, bool mask_itself) {
  if (handler == SIG_ERR) {
    errno = EINVAL;
    return SIG_ERR;
  }
  struct sigaction action = {};
  action.sa_handler = handler;
  action.sa_flags = flags;
  sigemptyset(&action.sa_mask);
  if (mask_itself) sigaddset(&action.sa_mask, SIGILL);
  struct sigaction previous;
  if (ProgramSigaction(&action, &previous) != 0) return SIG_ERR;
  return previous.sa_handler;
}

}  // namespace

#define HVSIG_EXPORT extern "C" __attribute__((visibility("default")))

HVSIG_EXPORT int sigaction(int signal_number, const struct sigaction* action,
                           struct sigaction* old_action) noexcept {
  if (!Ours(signal_number)) return HVSIG_NEXT(sigaction)(signal_number, action, old_action);
  return ProgramSigaction(action, old_action);
}

HVSIG_EXPORT int __sigaction(int signal_number, const struct sigaction* action,
                             struct sigaction* old_action) noexcept {
  return sigaction(signal_number, action, old_action);
}

// BSD semantics (glibc's signal, bsd_signal, ssignal): restart, the signal masked in its handler.
HVSIG_EXPORT sighandler_t signal(int signal_number, sighandler_t handler) noexcept {
  if (!Ours(signal_number)) return HVSIG_NEXT(signal)(signal_number, handler);
  return ProgramSignal(handler, SA_RESTART, true);
}
HVSIG_EXPORT sighandler_t bsd_signal(int signal_number, sighandler_t handler) noexcept {
  return signal(signal_number, handler);
}
HVSIG_EXPORT sighandler_t ssignal(int signal_number, sighandler_t handler) noexcept {
  return signal(signal_number, handler);
}

// System V semantics: one-shot, not masked in its handler.
HVSIG_EXPORT sighandler_t sysv_signal(int signal_number, sighandler_t handler) noexcept {
  if (!Ours(signal_number)) return HVSIG_NEXT(sysv_signal)(signal_number, handler);
  return ProgramSignal(handler, SA_RESETHAND | SA_NODEFER, false);
}
HVSIG_EXPORT sighandler_t __sysv_signal(int signal_number, sighandler_t handler) noexcept {
  return sysv_signal(signal_number, handler);
}

// The library's one constructor: take SIGILL over, keeping whatever disposition the program
// inherited (or set from an earlier constructor) as the program's.
__attribute__((constructor)) static void InstallPvCpuidEmulation() {
  struct sigaction inherited;
  if (HVSIG_NEXT(sigaction)(SIGILL, nullptr, &inherited) == 0) {
    ExchangeProgramAction(&inherited);
    if (InstallOurs(inherited.sa_flags) == 0) {
      g_installed.store(true, std::memory_order_release);
      return;
    }
  }
  static constexpr char kMessage[] =
      "hvsig-dom0 preload: cannot install the SIGILL handler; the Xen CPUID probe will fail\n";
  (void)!write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
}
