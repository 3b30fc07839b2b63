/*
 * The hypercall boundary between dom0 programs and hvsig-hypervisor. Our libxencall.so.1
 * forwards each hypercall as (number, args) over a Unix stream socket; the daemon identifies
 * the caller by SO_PEERCRED and reaches its memory, for guest handles, with
 * process_vm_readv/writev (Xen's copy_from/to_guest). One request, one reply, in order.
 * C and C++.
 */
#ifndef HVSIG_XENLIBS_WIRE_H
#define HVSIG_XENLIBS_WIRE_H

#include <stdint.h>

/* The socket: HVSIG_HYPERVISOR_SOCKET in the environment (hvsig-dom0 sets it), else the default. */
#define HVSIG_HYPERVISOR_SOCKET_ENV "HVSIG_HYPERVISOR_SOCKET"
#define HVSIG_HYPERVISOR_SOCKET_DEFAULT "/run/hvsig/hypervisor.sock"

#define HVSIG_WIRE_REQUEST_MAGIC 0x43485648u /* "HVHC" */
#define HVSIG_WIRE_REPLY_MAGIC   0x52485648u /* "HVHR" */
#define HVSIG_WIRE_VERSION 1u

struct hvsig_wire_request {
    uint32_t magic;    /* HVSIG_WIRE_REQUEST_MAGIC */
    uint32_t version;  /* HVSIG_WIRE_VERSION */
    uint64_t op;       /* __HYPERVISOR_* */
    uint64_t arg[5];   /* as the guest passed them in registers */
};

struct hvsig_wire_reply {
    uint32_t magic;    /* HVSIG_WIRE_REPLY_MAGIC */
    uint32_t _pad;
    int64_t rc;        /* the hypercall's return value: >= 0, or -errno */
};

#endif /* HVSIG_XENLIBS_WIRE_H */
