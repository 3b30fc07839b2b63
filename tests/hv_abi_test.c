/* The kexec ABI headers compiled as C11 (their static asserts run here too), and the values
 * a C caller sees. */
#include <stdio.h>
#include <string.h>

#include "hvsig/xen/kexec_file.h"

int main(void) {
    xen_kexec_file_load_t arg;
    memset(&arg, 0, sizeof arg);
    arg.type = KEXEC_TYPE_CRASH;
    arg.flags = KEXEC_FILE_NO_INITRAMFS;
    if (KEXEC_CMD_kexec_file_load != 7 || sizeof arg != 176 || offsetof(xen_kexec_file_load_t, magic) != 72) {
        fprintf(stderr, "ABI mismatch\n");
        return 1;
    }
    if (memcmp(&(unsigned long long){XEN_KEXEC_FILE_MAGIC}, "hvsigKF1", 8) != 0) {
        fprintf(stderr, "magic is not \"hvsigKF1\" in memory\n");
        return 1;
    }
    if ((KEXEC_FILE_FLAGS_MASK & 0x2u) != 0) return 1;
    return 0;
}
