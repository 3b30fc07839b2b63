/*
 * Xen's kexec ABI as Xen 4.17 defines it (xen/include/public/kexec.h), in the layout a 64-bit
 * x86 guest uses: what the hypervisor model (src/hv) reads from and writes to guest memory.
 * `unsigned long` and guest handles of the original are 64-bit here; the 32-bit compat layout
 * is not modelled. The new file-load op is in kexec_file.h. Builds as C11 and C++.
 */
#ifndef HVSIG_XEN_KEXEC_H
#define HVSIG_XEN_KEXEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define HVSIG_XEN_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define HVSIG_XEN_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#define __HYPERVISOR_kexec_op 37

#define KEXEC_TYPE_DEFAULT 0
#define KEXEC_TYPE_CRASH   1

#define KEXEC_CMD_kexec            0
#define KEXEC_CMD_kexec_load_v1    1 /* obsolete since 4.4, still implemented in 4.17 */
#define KEXEC_CMD_kexec_unload_v1  2 /* obsolete since 4.4, still implemented in 4.17 */
#define KEXEC_CMD_kexec_get_range  3
#define KEXEC_CMD_kexec_load       4
#define KEXEC_CMD_kexec_unload     5
#define KEXEC_CMD_kexec_status     6

#define KEXEC_RANGE_MA_CRASH       0
#define KEXEC_RANGE_MA_XEN         1
#define KEXEC_RANGE_MA_CPU         2
#define KEXEC_RANGE_MA_XENHEAP     3 /* obsolete */
#define KEXEC_RANGE_MA_BOOT_PARAM  4 /* obsolete */
#define KEXEC_RANGE_MA_EFI_MEMMAP  5
#define KEXEC_RANGE_MA_VMCOREINFO  6

#define KEXEC_SEGMENT_MAX 16 /* nr_segments must be below this */
#define KEXEC_XEN_NO_PAGES 17

/* Indirection-page entry flags of load_v1 (Linux's IND_*). */
#define KEXEC_IND_DESTINATION 0x1
#define KEXEC_IND_INDIRECTION 0x2
#define KEXEC_IND_DONE        0x4
#define KEXEC_IND_SOURCE      0x8

#define KEXEC_EM_386    3
#define KEXEC_EM_X86_64 62

typedef struct xen_kexec_exec {
    int32_t type;
} xen_kexec_exec_t;

typedef struct xen_kexec_image_v1 {
    uint64_t page_list[KEXEC_XEN_NO_PAGES];
    uint64_t indirection_page; /* machine address of the first indirection page */
    uint64_t start_address;
} xen_kexec_image_v1_t;

typedef struct xen_kexec_load_v1 {
    int32_t type;
    uint32_t _pad; /* implicit in Xen's header */
    xen_kexec_image_v1_t image;
} xen_kexec_load_v1_t;

typedef struct xen_kexec_segment {
    uint64_t buf;  /* XEN_GUEST_HANDLE(const_void) in a 64-bit union */
    uint64_t buf_size;
    uint64_t dest_maddr;
    uint64_t dest_size;
} xen_kexec_segment_t;

typedef struct xen_kexec_load {
    uint8_t type;
    uint8_t _pad;
    uint16_t arch;      /* EM_* */
    uint32_t nr_segments;
    uint64_t segments;  /* XEN_GUEST_HANDLE(xen_kexec_segment_t) in a 64-bit union */
    uint64_t entry_maddr;
} xen_kexec_load_t;

typedef struct xen_kexec_unload {
    uint8_t type;
} xen_kexec_unload_t;

typedef struct xen_kexec_status {
    uint8_t type;
} xen_kexec_status_t;

typedef struct xen_kexec_range {
    int32_t range;
    int32_t nr;
    uint64_t size;
    uint64_t start;
} xen_kexec_range_t;

HVSIG_XEN_STATIC_ASSERT(sizeof(xen_kexec_exec_t) == 4, "xen_kexec_exec_t");
HVSIG_XEN_STATIC_ASSERT(sizeof(xen_kexec_load_v1_t) == 160, "xen_kexec_load_v1_t");
HVSIG_XEN_STATIC_ASSERT(offsetof(xen_kexec_load_v1_t, image) == 8, "load_v1.image");
HVSIG_XEN_STATIC_ASSERT(sizeof(xen_kexec_segment_t) == 32, "xen_kexec_segment_t");
HVSIG_XEN_STATIC_ASSERT(sizeof(xen_kexec_load_t) == 24, "xen_kexec_load_t");
HVSIG_XEN_STATIC_ASSERT(offsetof(xen_kexec_load_t, segments) == 8, "load.segments");
HVSIG_XEN_STATIC_ASSERT(offsetof(xen_kexec_load_t, entry_maddr) == 16, "load.entry_maddr");
HVSIG_XEN_STATIC_ASSERT(sizeof(xen_kexec_unload_t) == 1, "xen_kexec_unload_t");
HVSIG_XEN_STATIC_ASSERT(sizeof(xen_kexec_status_t) == 1, "xen_kexec_status_t");
HVSIG_XEN_STATIC_ASSERT(sizeof(xen_kexec_range_t) == 24, "xen_kexec_range_t");
HVSIG_XEN_STATIC_ASSERT(offsetof(xen_kexec_range_t, start) == 16, "range.start");

#endif /* HVSIG_XEN_KEXEC_H */
