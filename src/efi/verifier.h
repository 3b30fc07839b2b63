/*
 * The C interface of hvsig-verify.efi's verifier (verifier.cpp): the boundary a C embedder such
 * as Xen would put between its own code and the C++ core. Everything is caller-owned storage;
 * strings returned are static (Result names) or inside the caller's structures.
 */
#ifndef HVSIG_EFI_VERIFIER_H
#define HVSIG_EFI_VERIFIER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of the context hvsig_efi_setup works in (keyrings, one verification's state, the
 * signature storage): the caller allocates them, suitably aligned for any type. */
size_t hvsig_efi_context_size(void);

/* Loads the compiled-in certificates into the builtin keyring and, when dbx_size != 0, the
 * EFI_SIGNATURE_LISTs of dbx (bare ESL, efivarfs or .auth) into the blacklist; dbx must stay
 * valid as long as the context is used. Returns NULL on success, else the failing check's
 * Result name, with *offset its offset in the input at fault. */
const char* hvsig_efi_setup(void* context, const uint8_t* dbx, size_t dbx_size, uint64_t* offset);

struct hvsig_efi_verdict {
  int accepted;              /* 1: trusted or hash-authorized */
  const char* verdict;       /* "trusted", "hash-authorized", "rejected" */
  const char* reason;        /* Result name ("Success" when accepted) */
  uint64_t reason_offset;    /* file offset of the deciding check */
  char sha256[65];           /* the image's Authenticode SHA-256 in hex, "none" if not computed */
};

/* Verifies one PE image held in memory under the kexec policy (strict profile). */
void hvsig_efi_verify(void* context, const uint8_t* image, size_t size,
                      struct hvsig_efi_verdict* out);

#ifdef __cplusplus
}
#endif

#endif
