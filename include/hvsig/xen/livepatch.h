/*
 * XEN_SYSCTL_livepatch_op as Xen 4.17 defines it (xen/include/public/sysctl.h), in the layout a
 * 64-bit x86 guest uses: what the hypervisor model (src/hv/livepatch.h) reads from and writes to
 * guest memory. Guest handles are 64-bit guest addresses. The constants keep Xen's names and
 * values (an identical redefinition when Xen's header is also included); the structures live in
 * namespace hvsig::xen in C++, so a file may include Xen's own sysctl.h next to this one.
 * Builds as C11 and C++.
 */
#ifndef HVSIG_XEN_LIVEPATCH_H
#define HVSIG_XEN_LIVEPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "hvsig/xen/kexec.h" /* HVSIG_XEN_STATIC_ASSERT */

#define __HYPERVISOR_sysctl 35
#define XEN_SYSCTL_livepatch_op 27

#define XEN_SYSCTL_LIVEPATCH_UPLOAD 0
#define XEN_SYSCTL_LIVEPATCH_GET 1
#define XEN_SYSCTL_LIVEPATCH_LIST 2
#define XEN_SYSCTL_LIVEPATCH_ACTION 3

#define XEN_LIVEPATCH_NAME_SIZE 128

#define LIVEPATCH_STATE_CHECKED 1
#define LIVEPATCH_STATE_APPLIED 2

#define LIVEPATCH_ACTION_UNLOAD 1
#define LIVEPATCH_ACTION_REVERT 2
#define LIVEPATCH_ACTION_APPLY 3
#define LIVEPATCH_ACTION_REPLACE 4

#define LIVEPATCH_ACTION_APPLY_NODEPS (1 << 0)

#ifdef __cplusplus
namespace hvsig::xen {
#endif

typedef struct xen_livepatch_name {
    uint64_t name;    /* IN: XEN_GUEST_HANDLE_64(char) */
    uint16_t size;    /* IN: bytes at name, NUL included, 1..XEN_LIVEPATCH_NAME_SIZE */
    uint16_t pad[3];  /* IN: must be zero */
} xen_livepatch_name_t;

typedef struct xen_sysctl_livepatch_upload {
    xen_livepatch_name_t name;
    uint64_t size;     /* IN: bytes of the ELF file */
    uint64_t payload;  /* IN: XEN_GUEST_HANDLE_64(uint8) */
} xen_sysctl_livepatch_upload_t;

typedef struct xen_livepatch_status {
    uint32_t state;  /* OUT: LIVEPATCH_STATE_* */
    int32_t rc;      /* OUT: 0 or -errno of the last action */
} xen_livepatch_status_t;

typedef struct xen_sysctl_livepatch_get {
    xen_livepatch_name_t name;
    xen_livepatch_status_t status;  /* OUT */
} xen_sysctl_livepatch_get_t;

typedef struct xen_sysctl_livepatch_list {
    uint32_t version;              /* OUT: changes whenever a payload is added or removed */
    uint32_t idx;                  /* IN: first payload to report */
    uint32_t nr;                   /* IN: room for this many; OUT: payloads left after these */
    uint32_t pad;                  /* IN: must be zero */
    uint32_t name_total_size;      /* OUT */
    uint32_t metadata_total_size;  /* OUT */
    uint64_t status;               /* OUT: XEN_GUEST_HANDLE_64(xen_livepatch_status_t), nr of them */
    uint64_t name;                 /* OUT: XEN_GUEST_HANDLE_64(char), the names back to back */
    uint64_t len;                  /* OUT: XEN_GUEST_HANDLE_64(uint32), nr name lengths */
    uint64_t metadata;             /* OUT: XEN_GUEST_HANDLE_64(char), the metadata back to back */
    uint64_t metadata_len;         /* OUT: XEN_GUEST_HANDLE_64(uint32), nr metadata lengths */
} xen_sysctl_livepatch_list_t;

typedef struct xen_sysctl_livepatch_action {
    xen_livepatch_name_t name;
    uint32_t cmd;      /* IN: LIVEPATCH_ACTION_* */
    uint32_t timeout;  /* IN: ns, 0 for the hypervisor's default */
    uint32_t flags;    /* IN: LIVEPATCH_ACTION_APPLY_NODEPS */
    uint32_t pad;      /* IN: must be zero */
} xen_sysctl_livepatch_action_t;

typedef struct xen_sysctl_livepatch_op {
    uint32_t cmd;  /* IN: XEN_SYSCTL_LIVEPATCH_* */
    uint32_t pad;  /* IN: must be zero */
    union {
        xen_sysctl_livepatch_upload_t upload;
        xen_sysctl_livepatch_list_t list;
        xen_sysctl_livepatch_get_t get;
        xen_sysctl_livepatch_action_t action;
    } u;
} xen_sysctl_livepatch_op_t;

HVSIG_XEN_STATIC_ASSERT(sizeof(xen_livepatch_name_t) == 16, "xen_livepatch_name");
HVSIG_XEN_STATIC_ASSERT(sizeof(xen_sysctl_livepatch_upload_t) == 32, "upload");
HVSIG_XEN_STATIC_ASSERT(sizeof(xen_sysctl_livepatch_get_t) == 24, "get");
HVSIG_XEN_STATIC_ASSERT(sizeof(xen_sysctl_livepatch_list_t) == 64, "list");
HVSIG_XEN_STATIC_ASSERT(sizeof(xen_sysctl_livepatch_action_t) == 32, "action");
HVSIG_XEN_STATIC_ASSERT(sizeof(xen_sysctl_livepatch_op_t) == 72, "xen_sysctl_livepatch_op");
HVSIG_XEN_STATIC_ASSERT(offsetof(xen_sysctl_livepatch_op_t, u) == 8, "op union");

#ifdef __cplusplus
}  /* namespace hvsig::xen */
#endif

#endif /* HVSIG_XEN_LIVEPATCH_H */
