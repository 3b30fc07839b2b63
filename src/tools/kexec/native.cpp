#include "tools/kexec/native.h"

#include <fcntl.h>
#include <linux/kexec.h>
#include <linux/reboot.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "tools/kexec/report.h"

namespace hvsig::kexec_cli {

namespace {

// The errno meanings of kexec_file_load(2) (kernel/kexec_file.c, kexec_core.c).
std::string SyscallReason(int error) {
  switch (error) {
    case EPERM:
      return "the host kernel refused kexec_file_load (no CAP_SYS_BOOT, kexec_load_disabled, lockdown, or a "
             "seccomp filter)";
    case EKEYREJECTED:
      return "the host kernel rejected the image's signature";
    case ENOKEY:
      return "the image's signature does not chain to a key the host kernel trusts";
    case EBADMSG:
      return "malformed signature";
    case ENODATA:
      return "the image is not signed and the host kernel requires a signature";
    case ENOEXEC:
      return "the host kernel cannot load this image format";
    case ENOSYS:
      return "the host kernel has no kexec_file_load";
    case EBUSY:
      return "a kexec is in progress";
    default:
      return std::string("kexec_file_load: ") + std::strerror(error);
  }
}

int Load(const Options& o, const std::string& cmdline) {
  const int kernel_fd = open(o.kernel.c_str(), O_RDONLY | O_CLOEXEC);
  if (kernel_fd < 0) return Fail(errno, o.kernel + ": " + std::strerror(errno));
  int initrd_fd = -1;
  unsigned long flags = o.crash ? KEXEC_FILE_ON_CRASH : 0;
  if (o.initrd) {
    initrd_fd = open(o.initrd->c_str(), O_RDONLY | O_CLOEXEC);
    if (initrd_fd < 0) {
      const int saved = errno;
      close(kernel_fd);
      return Fail(saved, *o.initrd + ": " + std::strerror(saved));
    }
  } else {
    flags |= KEXEC_FILE_NO_INITRAMFS;
  }
  const long rc = syscall(SYS_kexec_file_load, kernel_fd, initrd_fd, cmdline.size() + 1, cmdline.c_str(), flags);
  const int saved = errno;
  close(kernel_fd);
  if (initrd_fd >= 0) close(initrd_fd);
  if (rc != 0) return Fail(saved, SyscallReason(saved));
  std::printf("hvsig-kexec: kexec_file_load(2) of %s into the %s slot: loaded (verified by the host kernel's policy)\n",
              o.kernel.c_str(), SlotName(o.crash));
  return kExitOk;
}

int Unload(const Options& o) {
  const unsigned long flags = KEXEC_FILE_UNLOAD | (o.crash ? KEXEC_FILE_ON_CRASH : 0);
  if (syscall(SYS_kexec_file_load, -1, -1, 0, nullptr, flags) != 0) return Fail(errno, SyscallReason(errno));
  std::printf("hvsig-kexec: %s image unloaded (kexec_file_load(2))\n", SlotName(o.crash));
  return kExitOk;
}

int Status(const Options& o) {
  const char* path = o.crash ? "/sys/kernel/kexec_crash_loaded" : "/sys/kernel/kexec_loaded";
  std::ifstream in(path);
  int loaded = 0;
  if (!(in >> loaded)) return Fail(ENOENT, std::string("cannot read ") + path);
  std::printf("hvsig-kexec: %s image: %s\n", SlotName(o.crash), loaded == 1 ? "loaded" : "not loaded");
  return loaded == 1 ? kExitOk : kExitFailed;
}

int Exec(const Options& o) {
  if (o.crash) return Fail(EINVAL, "the host kernel runs its crash image only on a panic");
  sync();  // kexec-tools syncs before the reboot unless told not to
  reboot(LINUX_REBOOT_CMD_KEXEC);
  const int saved = errno;
  return Fail(saved, std::string("reboot(LINUX_REBOOT_CMD_KEXEC): ") +
                         (saved == EINVAL ? "no image is loaded" : std::strerror(saved)));
}

}  // namespace

int RunNative(const Options& o, const std::string& cmdline) {
  switch (o.action) {
    case Action::Load: return Load(o, cmdline);
    case Action::Unload: return Unload(o);
    case Action::Status: return Status(o);
    case Action::Exec: return Exec(o);
  }
  return kExitUsage;
}

}  // namespace hvsig::kexec_cli
