/*
 * KEXEC_CMD_kexec_file_load: the hypervisor copies the kernel, the initrd and the command line
 * out of the caller once, verifies the kernel's Authenticode signature under its keyring policy,
 * builds the kexec segments itself and loads them. In the style of Xen's public headers:
 * fixed-width types, guest handles as 64-bit values, explicit padding (which must be zero).
 * The rules, the errno order and the OUT fields are documented in docs/abi.md.
 * Builds as C11 and C++.
 */
#ifndef HVSIG_XEN_KEXEC_FILE_H
#define HVSIG_XEN_KEXEC_FILE_H

#include "hvsig/xen/kexec.h"

#define KEXEC_CMD_kexec_file_load 7

/* flags (Linux's KEXEC_FILE_* values; 0x2, ON_CRASH, is `type` here and reserved). */
#define KEXEC_FILE_UNLOAD       0x1u
#define KEXEC_FILE_NO_INITRAMFS 0x4u
#define KEXEC_FILE_FLAGS_MASK   (KEXEC_FILE_UNLOAD | KEXEC_FILE_NO_INITRAMFS)

/*
 * Written to `magic` only by a hypervisor that implements this op, on every return after it
 * read the argument. Xen 4.17 answers an unknown kexec op with 0, so a caller zeroes `magic`
 * first and treats rc 0 without the magic as "op not supported". "hvsigKF1" read as a
 * little-endian uint64_t.
 */
#define XEN_KEXEC_FILE_MAGIC 0x31464b6769737668ULL

/* verdict (OUT) */
#define XEN_KEXEC_FILE_VERDICT_NONE            0 /* not verified (mode off, unload, early error) */
#define XEN_KEXEC_FILE_VERDICT_TRUSTED         1 /* a signature chains to a permitted key */
#define XEN_KEXEC_FILE_VERDICT_HASH_AUTHORIZED 2 /* the image digest is authorized (db/MokList) */
#define XEN_KEXEC_FILE_VERDICT_REJECTED        3 /* refused, or loaded anyway in mode log */

/* mode (OUT): the enforcement the hypervisor applied. */
#define XEN_KEXEC_FILE_MODE_ENFORCE 0
#define XEN_KEXEC_FILE_MODE_LOG     1
#define XEN_KEXEC_FILE_MODE_OFF     2

/* keyring (OUT): the keyring that vouched or whose hash authorized. */
#define XEN_KEXEC_FILE_KEYRING_BUILTIN   0
#define XEN_KEXEC_FILE_KEYRING_SECONDARY 1
#define XEN_KEXEC_FILE_KEYRING_PLATFORM  2
#define XEN_KEXEC_FILE_KEYRING_MACHINE   3
#define XEN_KEXEC_FILE_KEYRING_NONE      0xff

#define XEN_KEXEC_FILE_SERIAL_MAX 20

typedef struct xen_kexec_file_buffer {
    uint64_t h;     /* XEN_GUEST_HANDLE_64(const_uint8): guest address */
    uint64_t size;  /* bytes; 0 = absent */
} xen_kexec_file_buffer_t;

typedef struct xen_kexec_file_load {
    /* IN */
    uint8_t type;                       /* KEXEC_TYPE_DEFAULT or KEXEC_TYPE_CRASH */
    uint8_t _pad0[3];
    uint32_t flags;                     /* KEXEC_FILE_* */
    xen_kexec_file_buffer_t kernel;     /* PE/bzImage, Authenticode-signed */
    xen_kexec_file_buffer_t initrd;     /* size 0 iff KEXEC_FILE_NO_INITRAMFS */
    xen_kexec_file_buffer_t cmdline;    /* NUL-terminated (last byte NUL), or size 0 */
    xen_kexec_file_buffer_t initrd_sig; /* optional detached PKCS#7 over the initrd */
    /* OUT */
    uint64_t magic;                     /* XEN_KEXEC_FILE_MAGIC; caller zeroes it */
    uint16_t verdict;                   /* XEN_KEXEC_FILE_VERDICT_* */
    uint16_t reason;                    /* hvsig Result of the deciding check, 0 if none */
    uint8_t mode;                       /* XEN_KEXEC_FILE_MODE_* */
    uint8_t keyring;                    /* XEN_KEXEC_FILE_KEYRING_* */
    uint8_t signer_serial_len;
    uint8_t _pad1;
    uint8_t kernel_sha256[32];          /* the kernel's Authenticode SHA-256 (0 if not parsed) */
    uint8_t signer_subject_sha256[32];  /* SHA-256 of the signer's subject Name DER */
    uint8_t signer_serial[XEN_KEXEC_FILE_SERIAL_MAX]; /* signer's serial magnitude */
    uint8_t _pad2[4];
} xen_kexec_file_load_t;

HVSIG_XEN_STATIC_ASSERT(sizeof(xen_kexec_file_buffer_t) == 16, "xen_kexec_file_buffer_t");
HVSIG_XEN_STATIC_ASSERT(offsetof(xen_kexec_file_load_t, flags) == 4, "file_load.flags");
HVSIG_XEN_STATIC_ASSERT(offsetof(xen_kexec_file_load_t, kernel) == 8, "file_load.kernel");
HVSIG_XEN_STATIC_ASSERT(offsetof(xen_kexec_file_load_t, initrd) == 24, "file_load.initrd");
HVSIG_XEN_STATIC_ASSERT(offsetof(xen_kexec_file_load_t, cmdline) == 40, "file_load.cmdline");
HVSIG_XEN_STATIC_ASSERT(offsetof(xen_kexec_file_load_t, initrd_sig) == 56, "file_load.initrd_sig");
HVSIG_XEN_STATIC_ASSERT(offsetof(xen_kexec_file_load_t, magic) == 72, "file_load.magic");
HVSIG_XEN_STATIC_ASSERT(offsetof(xen_kexec_file_load_t, verdict) == 80, "file_load.verdict");
HVSIG_XEN_STATIC_ASSERT(offsetof(xen_kexec_file_load_t, reason) == 82, "file_load.reason");
HVSIG_XEN_STATIC_ASSERT(offsetof(xen_kexec_file_load_t, mode) == 84, "file_load.mode");
HVSIG_XEN_STATIC_ASSERT(offsetof(xen_kexec_file_load_t, keyring) == 85, "file_load.keyring");
HVSIG_XEN_STATIC_ASSERT(offsetof(xen_kexec_file_load_t, kernel_sha256) == 88, "file_load.kernel_sha256");
HVSIG_XEN_STATIC_ASSERT(offsetof(xen_kexec_file_load_t, signer_subject_sha256) == 120,
                        "file_load.signer_subject_sha256");
HVSIG_XEN_STATIC_ASSERT(offsetof(xen_kexec_file_load_t, signer_serial) == 152, "file_load.signer_serial");
HVSIG_XEN_STATIC_ASSERT(sizeof(xen_kexec_file_load_t) == 176, "xen_kexec_file_load_t");

#endif /* HVSIG_XEN_KEXEC_FILE_H */
