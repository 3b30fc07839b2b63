/*
 * libxendevicemodel.so.1 stand-in: the hvsig hypervisor model has no HVM guests or device
 * models, but libxenctrl's xc_interface_open opens this library and fails if that fails.
 * open() hands out a handle; every device-model call fails with EOPNOTSUPP. Debian's symbol
 * versions: the .map file.
 */
#include <stdlib.h>

#include <xendevicemodel.h>

#include "unsupported.h"

struct xendevicemodel_handle {
    int unused;
};

xendevicemodel_handle *xendevicemodel_open(struct xentoollog_logger *logger,
                                           unsigned int open_flags)
{
    (void)logger;
    (void)open_flags;
    return calloc(1, sizeof(xendevicemodel_handle));
}

int xendevicemodel_close(xendevicemodel_handle *dmod)
{
    free(dmod);
    return 0;
}

int xendevicemodel_create_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
                                       int handle_bufioreq, ioservid_t *id)
{
    (void)dmod, (void)domid, (void)handle_bufioreq, (void)id;
    return unsupported();
}

int xendevicemodel_get_ioreq_server_info(xendevicemodel_handle *dmod, domid_t domid,
                                         ioservid_t id, xen_pfn_t *ioreq_gfn,
                                         xen_pfn_t *bufioreq_gfn, evtchn_port_t *bufioreq_port)
{
    (void)dmod, (void)domid, (void)id, (void)ioreq_gfn, (void)bufioreq_gfn, (void)bufioreq_port;
    return unsupported();
}

int xendevicemodel_map_io_range_to_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
                                                ioservid_t id, int is_mmio, uint64_t start,
                                                uint64_t end)
{
    (void)dmod, (void)domid, (void)id, (void)is_mmio, (void)start, (void)end;
    return unsupported();
}

int xendevicemodel_unmap_io_range_from_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
                                                    ioservid_t id, int is_mmio, uint64_t start,
                                                    uint64_t end)
{
    (void)dmod, (void)domid, (void)id, (void)is_mmio, (void)start, (void)end;
    return unsupported();
}

int xendevicemodel_map_mem_type_to_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
                                                ioservid_t id, uint16_t type, uint32_t flags)
{
    (void)dmod, (void)domid, (void)id, (void)type, (void)flags;
    return unsupported();
}

int xendevicemodel_map_pcidev_to_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
                                              ioservid_t id, uint16_t segment, uint8_t bus,
                                              uint8_t device, uint8_t function)
{
    (void)dmod, (void)domid, (void)id, (void)segment, (void)bus, (void)device, (void)function;
    return unsupported();
}

int xendevicemodel_unmap_pcidev_from_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
                                                  ioservid_t id, uint16_t segment, uint8_t bus,
                                                  uint8_t device, uint8_t function)
{
    (void)dmod, (void)domid, (void)id, (void)segment, (void)bus, (void)device, (void)function;
    return unsupported();
}

int xendevicemodel_destroy_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
                                        ioservid_t id)
{
    (void)dmod, (void)domid, (void)id;
    return unsupported();
}

int xendevicemodel_set_ioreq_server_state(xendevicemodel_handle *dmod, domid_t domid,
                                          ioservid_t id, int enabled)
{
    (void)dmod, (void)domid, (void)id, (void)enabled;
    return unsupported();
}

int xendevicemodel_set_pci_intx_level(xendevicemodel_handle *dmod, domid_t domid,
                                      uint16_t segment, uint8_t bus, uint8_t device,
                                      uint8_t intx, unsigned int level)
{
    (void)dmod, (void)domid, (void)segment, (void)bus, (void)device, (void)intx, (void)level;
    return unsupported();
}

int xendevicemodel_set_isa_irq_level(xendevicemodel_handle *dmod, domid_t domid, uint8_t irq,
                                     unsigned int level)
{
    (void)dmod, (void)domid, (void)irq, (void)level;
    return unsupported();
}

int xendevicemodel_set_irq_level(xendevicemodel_handle *dmod, domid_t domid, unsigned int irq,
                                 unsigned int level)
{
    (void)dmod, (void)domid, (void)irq, (void)level;
    return unsupported();
}

int xendevicemodel_set_pci_link_route(xendevicemodel_handle *dmod, domid_t domid, uint8_t link,
                                      uint8_t irq)
{
    (void)dmod, (void)domid, (void)link, (void)irq;
    return unsupported();
}

int xendevicemodel_inject_msi(xendevicemodel_handle *dmod, domid_t domid, uint64_t msi_addr,
                              uint32_t msi_data)
{
    (void)dmod, (void)domid, (void)msi_addr, (void)msi_data;
    return unsupported();
}

int xendevicemodel_track_dirty_vram(xendevicemodel_handle *dmod, domid_t domid,
                                    uint64_t first_pfn, uint32_t nr,
                                    unsigned long *dirty_bitmap)
{
    (void)dmod, (void)domid, (void)first_pfn, (void)nr, (void)dirty_bitmap;
    return unsupported();
}

int xendevicemodel_modified_memory(xendevicemodel_handle *dmod, domid_t domid,
                                   uint64_t first_pfn, uint32_t nr)
{
    (void)dmod, (void)domid, (void)first_pfn, (void)nr;
    return unsupported();
}

int xendevicemodel_modified_memory_bulk(xendevicemodel_handle *dmod, domid_t domid,
                                        struct xen_dm_op_modified_memory_extent extents[],
                                        uint32_t nr)
{
    (void)dmod, (void)domid, (void)extents, (void)nr;
    return unsupported();
}

int xendevicemodel_set_mem_type(xendevicemodel_handle *dmod, domid_t domid,
                                hvmmem_type_t mem_type, uint64_t first_pfn, uint32_t nr)
{
    (void)dmod, (void)domid, (void)mem_type, (void)first_pfn, (void)nr;
    return unsupported();
}

int xendevicemodel_inject_event(xendevicemodel_handle *dmod, domid_t domid, int vcpu,
                                uint8_t vector, uint8_t type, uint32_t error_code,
                                uint8_t insn_len, uint64_t extra)
{
    (void)dmod, (void)domid, (void)vcpu, (void)vector, (void)type, (void)error_code,
        (void)insn_len, (void)extra;
    return unsupported();
}

int xendevicemodel_shutdown(xendevicemodel_handle *dmod, domid_t domid, unsigned int reason)
{
    (void)dmod, (void)domid, (void)reason;
    return unsupported();
}

int xendevicemodel_relocate_memory(xendevicemodel_handle *dmod, domid_t domid, uint32_t size,
                                   uint64_t src_gfn, uint64_t dst_gfn)
{
    (void)dmod, (void)domid, (void)size, (void)src_gfn, (void)dst_gfn;
    return unsupported();
}

int xendevicemodel_pin_memory_cacheattr(xendevicemodel_handle *dmod, domid_t domid,
                                        uint64_t start, uint64_t end, uint32_t type)
{
    (void)dmod, (void)domid, (void)start, (void)end, (void)type;
    return unsupported();
}

int xendevicemodel_nr_vcpus(xendevicemodel_handle *dmod, domid_t domid, unsigned int *vcpus)
{
    (void)dmod, (void)domid, (void)vcpus;
    return unsupported();
}

int xendevicemodel_restrict(xendevicemodel_handle *dmod, domid_t domid)
{
    (void)dmod, (void)domid;
    return unsupported();
}
