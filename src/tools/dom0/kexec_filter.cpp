#include "tools/dom0/kexec_filter.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace hvsig::dom0 {
namespace {

// x32 system calls are the x86_64 numbers with this bit set (asm/unistd.h's __X32_SYSCALL_BIT).
constexpr unsigned kX32SyscallBit = 0x40000000;

constexpr unsigned kDeny = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);

// The kernel takes an ioctl's request as unsigned int (fs/ioctl.c), so only the low 32 bits of
// the 64-bit argument decide which request runs: the filter compares exactly those, and a
// caller cannot slip SIOCSIFFLAGS past it by setting high bits. On little-endian x86_64 they
// are the first word of args[1].
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__);
constexpr unsigned kIoctlRequestLow32 = offsetof(seccomp_data, args[1]);

// Classic BPF over struct seccomp_data. Jump offsets count instructions after the jump.
constexpr sock_filter kFilter[] = {
    // Another ABI (int 0x80 gives AUDIT_ARCH_I386) has other numbers: no 64-bit program has a
    // reason to use it, so it ends the process rather than being checked against the wrong table.
    /*  0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
    /*  1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    /*  2 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    /*  3 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
    // x32 has its own kexec_load number; refuse that whole ABI.
    /*  4 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, kX32SyscallBit, 8, 0),
    /*  5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_kexec_load, 7, 0),
    /*  6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_kexec_file_load, 6, 0),
    /*  7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_reboot, 5, 0),
    /*  8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 1, 0),
    /*  9 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    /* 10 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIoctlRequestLow32),
    /* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SIOCSIFFLAGS, 1, 0),
    /* 12 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    /* 13 */ BPF_STMT(BPF_RET | BPF_K, kDeny),
};

}  // namespace

bool InstallKexecFilter(std::string* error) {
  // Required for an unprivileged filter; for root it also keeps setuid programs from gaining
  // what the filter does not cover.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    *error = std::string("PR_SET_NO_NEW_PRIVS: ") + strerror(errno);
    return false;
  }
  sock_fprog program = {static_cast<unsigned short>(sizeof kFilter / sizeof kFilter[0]),
                        const_cast<sock_filter*>(kFilter)};
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program);
  if (rc != 0 && errno == ENOSYS) rc = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0);
  if (rc != 0) {
    *error = std::string("seccomp filter: ") + strerror(errno);
    return false;
  }
  return true;
}

}  // namespace hvsig::dom0
