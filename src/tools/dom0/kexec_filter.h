// The seccomp filter under every hvsig-dom0 command: the host kernel's kexec and reboot
// syscalls fail with EPERM. A dom0 program under the model must reach the hypervisor through
// libxencall; if our interposition fails and it falls back to the native path, it gets EPERM
// instead of loading (or booting) a kernel on the machine running the tests.
//
// ioctl(fd, SIOCSIFFLAGS, ...) fails with EPERM too. kexec-tools' `kexec -e` (and `kexec`
// without -l) calls ifdown() before the exec hypercall: it sets every interface but lo down with
// SIOCGIFFLAGS/SIOCSIFFLAGS. On a real dom0 that is part of rebooting; under hvsig-dom0 the
// "dom0" is the host, so it would take the host's network down (--no-ifdown is easy to forget).
// Reading flags (SIOCGIFFLAGS) and every other ioctl stay allowed. Netlink (`ip link set down`)
// is not covered: kexec-tools does not use it.
#pragma once

#include <string>

namespace hvsig::dom0 {

// Sets no_new_privs and installs the filter for this process and everything it execs. On
// failure returns false with the reason in *error; the caller must not run the command.
bool InstallKexecFilter(std::string* error);

}  // namespace hvsig::dom0
