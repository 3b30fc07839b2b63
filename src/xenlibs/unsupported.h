/*
 * The answer of the stand-in libraries (libxenforeignmemory, libxendevicemodel) to every call
 * the hvsig hypervisor model has nothing behind: failure, errno EOPNOTSUPP.
 */
#ifndef HVSIG_XENLIBS_UNSUPPORTED_H
#define HVSIG_XENLIBS_UNSUPPORTED_H

#include <errno.h>

static inline int unsupported(void)
{
    errno = EOPNOTSUPP;
    return -1;
}

#endif
