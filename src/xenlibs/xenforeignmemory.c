/*
 * libxenforeignmemory.so.1 stand-in: the hvsig hypervisor model has no foreign mappings, but
 * libxenctrl's xc_interface_open opens this library and fails if that fails. open() hands out
 * a handle; every mapping call fails with EOPNOTSUPP. Debian's symbol versions: the .map file.
 */
#include <stdlib.h>

#include <xenforeignmemory.h>

#include "unsupported.h"

struct xenforeignmemory_handle {
    int unused;
};

xenforeignmemory_handle *xenforeignmemory_open(struct xentoollog_logger *logger,
                                               unsigned open_flags)
{
    (void)logger;
    (void)open_flags;
    return calloc(1, sizeof(xenforeignmemory_handle));
}

int xenforeignmemory_close(xenforeignmemory_handle *fmem)
{
    free(fmem);
    return 0;
}

void *xenforeignmemory_map(xenforeignmemory_handle *fmem, uint32_t dom, int prot, size_t pages,
                           const xen_pfn_t arr[], int err[])
{
    (void)fmem, (void)dom, (void)prot, (void)pages, (void)arr, (void)err;
    unsupported();
    return NULL;
}

void *xenforeignmemory_map2(xenforeignmemory_handle *fmem, uint32_t dom, void *addr, int prot,
                            int flags, size_t pages, const xen_pfn_t arr[], int err[])
{
    (void)fmem, (void)dom, (void)addr, (void)prot, (void)flags, (void)pages, (void)arr, (void)err;
    unsupported();
    return NULL;
}

int xenforeignmemory_unmap(xenforeignmemory_handle *fmem, void *addr, size_t pages)
{
    (void)fmem, (void)addr, (void)pages;
    return unsupported();
}

int xenforeignmemory_restrict(xenforeignmemory_handle *fmem, domid_t domid)
{
    (void)fmem, (void)domid;
    return unsupported();
}

xenforeignmemory_resource_handle *xenforeignmemory_map_resource(
    xenforeignmemory_handle *fmem, domid_t domid, unsigned int type, unsigned int id,
    unsigned long frame, unsigned long nr_frames, void **paddr, int prot, int flags)
{
    (void)fmem, (void)domid, (void)type, (void)id, (void)frame, (void)nr_frames, (void)paddr,
        (void)prot, (void)flags;
    unsupported();
    return NULL;
}

int xenforeignmemory_unmap_resource(xenforeignmemory_handle *fmem,
                                    xenforeignmemory_resource_handle *fres)
{
    (void)fmem, (void)fres;
    return unsupported();
}

int xenforeignmemory_resource_size(xenforeignmemory_handle *fmem, domid_t domid,
                                   unsigned int type, unsigned int id, size_t *size)
{
    (void)fmem, (void)domid, (void)type, (void)id, (void)size;
    return unsupported();
}
