#include "hv/errno_name.h"

#include <cerrno>

namespace hvsig::hv {

namespace {

struct NamedErrno {
  int error;
  const char* negated;  // "-NAME": ErrnoName's form; ErrnoSymbol skips the sign
};

constexpr NamedErrno kNames[] = {
    {EPERM, "-EPERM"},
    {ENOENT, "-ENOENT"},
    {EAGAIN, "-EAGAIN"},
    {EIO, "-EIO"},
    {E2BIG, "-E2BIG"},
    {ENOEXEC, "-ENOEXEC"},
    {EBADF, "-EBADF"},
    {ENOMEM, "-ENOMEM"},
    {EACCES, "-EACCES"},
    {EFAULT, "-EFAULT"},
    {EBUSY, "-EBUSY"},
    {EEXIST, "-EEXIST"},
    {ENODEV, "-ENODEV"},
    {EINVAL, "-EINVAL"},
    {ERANGE, "-ERANGE"},
    {ENOSYS, "-ENOSYS"},
    {ENODATA, "-ENODATA"},
    {EBADMSG, "-EBADMSG"},
    {ELIBBAD, "-ELIBBAD"},
    {EOPNOTSUPP, "-EOPNOTSUPP"},
    {EADDRNOTAVAIL, "-EADDRNOTAVAIL"},
    {ENOKEY, "-ENOKEY"},
    {EKEYREJECTED, "-EKEYREJECTED"},
};

const char* Lookup(long error) {
  for (const NamedErrno& named : kNames) {
    if (named.error == error) return named.negated;
  }
  return nullptr;
}

}  // namespace

const char* ErrnoName(long rc) {
  if (rc == 0) return "0";
  if (rc > 0) return "?";
  const char* name = Lookup(-rc);
  return name != nullptr ? name : "-E?";
}

const char* ErrnoSymbol(int error) {
  const char* name = Lookup(error);
  return name != nullptr ? name + 1 : "E?";
}

}  // namespace hvsig::hv
