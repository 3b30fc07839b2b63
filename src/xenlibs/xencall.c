/*
 * libxencall.so.1 for dom0 programs on hvsig-hypervisor: the public API of Xen 4.17's
 * xencall.h, with Debian's symbol versions (xencall.map). Where privcmd's ioctl traps into Xen,
 * this library sends the hypercall as (number, args) over the daemon's Unix socket (wire.h) and
 * waits for the return value. The daemon identifies the caller by SO_PEERCRED and reads and
 * writes guest handles in our memory with process_vm_readv/writev, so hypercall buffers are
 * ordinary anonymous memory of this process.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <xencall.h>
#include <xentoollog.h>

#include "wire.h"

#define PAGE_SIZE 4096u

struct xencall_handle {
    pthread_mutex_t lock;   /* one request/reply exchange at a time on the socket */
    int fd;
    pid_t owner;            /* the process that connected fd: SO_PEERCRED names it */
    struct xentoollog_logger *logger;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* xencall_alloc_buffer's bookkeeping in front of the bytes it returns. */
struct allocation_header {
    size_t nr_pages;
    size_t _pad;            /* keeps the returned pointer 16-byte aligned */
};

static void report(struct xentoollog_logger *logger, int errnoval, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(struct xentoollog_logger *logger, int errnoval, const char *fmt, ...)
{
    char message[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    if (logger)
        xtl_log(logger, XTL_ERROR, errnoval, "hvsig libxencall", "%s", message);
    else
        fprintf(stderr, "hvsig libxencall: %s: %s\n", message, strerror(errnoval));
}

/* A connected socket, or -1 with errno. */
static int connect_daemon(const char *path)
{
    struct sockaddr_un addr;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, path, strlen(path) + 1);
    while (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        if (errno == EINTR)
            continue;
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

xencall_handle *xencall_open(struct xentoollog_logger *logger, unsigned open_flags)
{
    (void)open_flags;  /* NON_REENTRANT: every handle is serialized by its mutex anyway */
    const char *path = getenv(HVSIG_HYPERVISOR_SOCKET_ENV);
    if (path == NULL || path[0] == '\0')
        path = HVSIG_HYPERVISOR_SOCKET_DEFAULT;
    xencall_handle *xcall = calloc(1, sizeof *xcall);
    if (xcall == NULL) {
        report(logger, errno, "cannot allocate a handle");
        return NULL;
    }
    if (strlen(path) >= sizeof xcall->path) {
        report(logger, ENAMETOOLONG, "socket path too long: %s", path);
        free(xcall);
        errno = ENAMETOOLONG;
        return NULL;
    }
    memcpy(xcall->path, path, strlen(path) + 1);
    xcall->fd = connect_daemon(path);
    if (xcall->fd < 0) {
        int saved = errno;
        report(logger, saved, "cannot reach hvsig-hypervisor at %s", path);
        free(xcall);
        errno = saved;
        return NULL;
    }
    xcall->owner = getpid();
    xcall->logger = logger;
    pthread_mutex_init(&xcall->lock, NULL);
    return xcall;
}

int xencall_close(xencall_handle *xcall)
{
    if (xcall == NULL)
        return 0;
    if (xcall->fd >= 0)
        close(xcall->fd);
    pthread_mutex_destroy(&xcall->lock);
    free(xcall);
    return 0;
}

int xencall_fd(xencall_handle *xcall)
{
    return xcall->fd;
}

/*
 * After fork() the child shares the parent's connection, and the daemon would attribute the
 * child's calls (and read guest handles) to the parent. The child gets its own connection on
 * the same descriptor number, so xencall_fd stays valid.
 */
static int ensure_own_connection(xencall_handle *xcall)
{
    if (xcall->fd >= 0 && xcall->owner == getpid())
        return 0;
    int fd = connect_daemon(xcall->path);
    if (fd < 0) {
        report(xcall->logger, errno, "cannot reach hvsig-hypervisor at %s", xcall->path);
        return -1;
    }
    if (xcall->fd >= 0) {
        if (dup3(fd, xcall->fd, O_CLOEXEC) < 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        close(fd);
    } else {
        xcall->fd = fd;
    }
    xcall->owner = getpid();
    return 0;
}

static int send_all(int fd, const void *data, size_t length)
{
    const char *p = data;
    while (length > 0) {
        ssize_t n = send(fd, p, length, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        length -= (size_t)n;
    }
    return 0;
}

static int recv_all(int fd, void *data, size_t length)
{
    char *p = data;
    while (length > 0) {
        ssize_t n = recv(fd, p, length, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            errno = EIO;  /* the daemon went away before it answered */
        if (n <= 0)
            return -1;
        p += n;
        length -= (size_t)n;
    }
    return 0;
}

/* The hypercall's return value, or -errno of a transport failure. */
static long hypercall(xencall_handle *xcall, unsigned int op, uint64_t a1, uint64_t a2,
                      uint64_t a3, uint64_t a4, uint64_t a5)
{
    struct hvsig_wire_request request = {
        .magic = HVSIG_WIRE_REQUEST_MAGIC,
        .version = HVSIG_WIRE_VERSION,
        .op = op,
        .arg = {a1, a2, a3, a4, a5},
    };
    struct hvsig_wire_reply reply;
    long rc;

    pthread_mutex_lock(&xcall->lock);
    if (ensure_own_connection(xcall) != 0) {
        rc = -errno;
    } else if (send_all(xcall->fd, &request, sizeof request) != 0 ||
               recv_all(xcall->fd, &reply, sizeof reply) != 0) {
        int saved = errno == EPIPE || errno == ECONNRESET ? EIO : errno;
        report(xcall->logger, saved, "hypercall %u: lost hvsig-hypervisor at %s", op, xcall->path);
        rc = -saved;
    } else if (reply.magic != HVSIG_WIRE_REPLY_MAGIC) {
        report(xcall->logger, EIO, "hypercall %u: malformed reply from %s", op, xcall->path);
        rc = -EIO;
    } else {
        rc = (long)reply.rc;
    }
    pthread_mutex_unlock(&xcall->lock);
    return rc;
}

/* privcmd's ioctl convention: rc >= 0 as is, else -1 with errno = -rc. */
static long as_ioctl_result(long rc)
{
    if (rc >= 0)
        return rc;
    errno = (int)-rc;
    return -1;
}

int xencall0(xencall_handle *xcall, unsigned int op)
{
    return (int)as_ioctl_result(hypercall(xcall, op, 0, 0, 0, 0, 0));
}

int xencall1(xencall_handle *xcall, unsigned int op, uint64_t arg1)
{
    return (int)as_ioctl_result(hypercall(xcall, op, arg1, 0, 0, 0, 0));
}

int xencall2(xencall_handle *xcall, unsigned int op, uint64_t arg1, uint64_t arg2)
{
    return (int)as_ioctl_result(hypercall(xcall, op, arg1, arg2, 0, 0, 0));
}

long xencall2L(xencall_handle *xcall, unsigned int op, uint64_t arg1, uint64_t arg2)
{
    return as_ioctl_result(hypercall(xcall, op, arg1, arg2, 0, 0, 0));
}

int xencall3(xencall_handle *xcall, unsigned int op, uint64_t arg1, uint64_t arg2,
             uint64_t arg3)
{
    return (int)as_ioctl_result(hypercall(xcall, op, arg1, arg2, arg3, 0, 0));
}

int xencall4(xencall_handle *xcall, unsigned int op, uint64_t arg1, uint64_t arg2,
             uint64_t arg3, uint64_t arg4)
{
    return (int)as_ioctl_result(hypercall(xcall, op, arg1, arg2, arg3, arg4, 0));
}

int xencall5(xencall_handle *xcall, unsigned int op, uint64_t arg1, uint64_t arg2,
             uint64_t arg3, uint64_t arg4, uint64_t arg5)
{
    return (int)as_ioctl_result(hypercall(xcall, op, arg1, arg2, arg3, arg4, arg5));
}

void *xencall_alloc_buffer_pages(xencall_handle *xcall, size_t nr_pages)
{
    if (nr_pages == 0 || nr_pages > SIZE_MAX / PAGE_SIZE) {
        errno = EINVAL;
        return NULL;
    }
    void *p = mmap(NULL, nr_pages * PAGE_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        report(xcall->logger, errno, "cannot allocate %zu hypercall buffer pages", nr_pages);
        return NULL;
    }
    return p;
}

void xencall_free_buffer_pages(xencall_handle *xcall, void *p, size_t nr_pages)
{
    (void)xcall;
    if (p != NULL)
        munmap(p, nr_pages * PAGE_SIZE);
}

void *xencall_alloc_buffer(xencall_handle *xcall, size_t size)
{
    if (size > SIZE_MAX - sizeof(struct allocation_header) - PAGE_SIZE) {
        errno = EINVAL;
        return NULL;
    }
    size_t nr_pages = (size + sizeof(struct allocation_header) + PAGE_SIZE - 1) / PAGE_SIZE;
    struct allocation_header *header = xencall_alloc_buffer_pages(xcall, nr_pages);
    if (header == NULL)
        return NULL;
    header->nr_pages = nr_pages;
    return header + 1;
}

void xencall_free_buffer(xencall_handle *xcall, void *p)
{
    if (p == NULL)
        return;
    struct allocation_header *header = (struct allocation_header *)p - 1;
    xencall_free_buffer_pages(xcall, header, header->nr_pages);
}

/* The daemon copies with process_vm_readv/writev, which fault pages in as needed. */
int xencall_buffers_never_fault(xencall_handle *xcall)
{
    (void)xcall;
    return 1;
}
