/*
 * Drives hvsig-hypervisor through Debian's real libxenctrl 4.17 (linked with -lxenctrl; run
 * with LD_LIBRARY_PATH pointing at our libxencall.so.1 and stand-ins). One line per call,
 * "name rc=N ..." with what came back, for hypervisor_test.cpp to check against the daemon's
 * log. Exit 0 if xc_interface_open succeeded, 1 otherwise.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xen/kexec.h>

int main(void)
{
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    if (xch == NULL) {
        printf("xc_interface_open failed errno=%d\n", errno);
        return 1;
    }
    printf("pid %d\n", (int)getpid());

    xen_capabilities_info_t caps;
    memset(caps, 0, sizeof caps);
    int rc = xc_version(xch, XENVER_capabilities, &caps);
    printf("capabilities rc=%d value=%s\n", rc, caps);

    rc = xc_version(xch, XENVER_version, NULL);
    printf("version rc=%d major=%d minor=%d\n", rc, rc >> 16, rc & 0xffff);

    xen_extraversion_t extra;
    memset(extra, 0, sizeof extra);
    rc = xc_version(xch, XENVER_extraversion, &extra);
    printf("extraversion rc=%d value=%s\n", rc, extra);

    uint64_t start = 0, size = 0;
    rc = xc_kexec_get_range(xch, KEXEC_RANGE_MA_CRASH, 0, &size, &start);
    printf("get_range rc=%d start=%" PRIu64 " size=%" PRIu64 "\n", rc, start, size);

    rc = xc_kexec_status(xch, KEXEC_TYPE_DEFAULT);
    printf("status rc=%d\n", rc);

    xc_physinfo_t info;
    memset(&info, 0, sizeof info);
    rc = xc_physinfo(xch, &info);
    printf("physinfo rc=%d nr_cpus=%u max_cpu_id=%u total_pages=%" PRIu64 "\n", rc, info.nr_cpus,
           info.max_cpu_id, (uint64_t)info.total_pages);

    struct e820entry map[128];
    rc = xc_get_machine_memory_map(xch, map, 128);
    printf("memory_map rc=%d\n", rc);
    for (int i = 0; i < rc; ++i)
        printf("e820 %" PRIu64 " %" PRIu64 " %u\n", map[i].addr, map[i].size, map[i].type);

    xc_interface_close(xch);
    return 0;
}
