/*
 * A stand-in libxencall.so.1 for hvsig-kexec's tests of the paths no modelled hypervisor takes:
 * a hypervisor without KEXEC_CMD_kexec_file_load (Xen 4.17 answers an unknown kexec op with 0
 * and writes nothing; later Xen with -EOPNOTSUPP), and a failing xencall_open. Every hypercall
 * returns HVSIG_FAKE_XENCALL_RC (default 0) and touches no argument. HVSIG_FAKE_XENCALL_OPEN_FAIL
 * makes xencall_open fail with ENOENT after logging through the caller's logger, as Debian's
 * library does without /dev/xen/privcmd.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xentoollog.h>

struct xencall_handle {
    int unused;
};

static struct xencall_handle the_handle;

static void log_message(xentoollog_logger *logger, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    logger->vmessage(logger, XTL_ERROR, ENOENT, "xencall", format, args);
    va_end(args);
}

struct xencall_handle *xencall_open(xentoollog_logger *logger, unsigned open_flags)
{
    (void)open_flags;
    if (getenv("HVSIG_FAKE_XENCALL_OPEN_FAIL") != NULL) {
        if (logger != NULL)
            log_message(logger, "fake: no %s", "privileged command interface");
        errno = ENOENT;
        return NULL;
    }
    return &the_handle;
}

int xencall_close(struct xencall_handle *h)
{
    (void)h;
    return 0;
}

int xencall2(struct xencall_handle *h, unsigned int op, uint64_t arg1, uint64_t arg2)
{
    (void)h;
    (void)op;
    (void)arg1;
    (void)arg2;
    const char *rc_text = getenv("HVSIG_FAKE_XENCALL_RC");
    const long rc = rc_text != NULL ? strtol(rc_text, NULL, 0) : 0;
    if (rc < 0) {
        errno = (int)-rc;
        return -1;
    }
    return (int)rc;
}

void *xencall_alloc_buffer(struct xencall_handle *h, size_t size)
{
    (void)h;
    return calloc(1, size);
}

void xencall_free_buffer(struct xencall_handle *h, void *p)
{
    (void)h;
    free(p);
}
