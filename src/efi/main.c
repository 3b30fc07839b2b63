/*
 * hvsig-verify.efi: a minimal shim-like verifier, and the proof that the hvsig core runs outside
 * any OS. It reads \hvsig.cfg from the volume it was loaded from:
 *     # comment
 *     dbx=\dbx.esl            optional: EFI_SIGNATURE_LISTs revoking images or certificates
 *     image=\vmlinuz-signed   one line per PE image to verify
 * verifies each image with the core against the certificates compiled in (and the dbx), prints
 *     hvsig-verify: \vmlinuz-signed: trusted reason=Success@0 sha256=<Authenticode digest>
 * per image on the console (which OVMF mirrors to the serial port), then shuts the machine down.
 * Without \hvsig.cfg it verifies \vmlinuz. Buffers come from AllocatePool: the embedder's
 * storage; the core allocates nothing.
 */
#include <efi.h>
#include <efilib.h>

#include "efi/verifier.h"

#define MAX_PATH 128

static EFI_FILE_HANDLE root;

/* Reads a whole file into pool memory. EFI_NOT_FOUND when it does not exist. */
static EFI_STATUS read_file(const CHAR16 *path, UINT8 **data, UINTN *size) {
  EFI_FILE_HANDLE file;
  EFI_STATUS status = uefi_call_wrapper(root->Open, 5, root, &file, (CHAR16 *)path,
                                        EFI_FILE_MODE_READ, 0);
  if (EFI_ERROR(status)) return status;
  EFI_FILE_INFO *info = LibFileInfo(file);
  if (info == NULL) {
    uefi_call_wrapper(file->Close, 1, file);
    return EFI_DEVICE_ERROR;
  }
  *size = info->FileSize;
  FreePool(info);
  /* One byte more, so an empty file still gets a buffer. */
  *data = AllocatePool(*size + 1);
  if (*data == NULL) {
    uefi_call_wrapper(file->Close, 1, file);
    return EFI_OUT_OF_RESOURCES;
  }
  UINTN read = *size;
  status = uefi_call_wrapper(file->Read, 3, file, &read, *data);
  uefi_call_wrapper(file->Close, 1, file);
  if (!EFI_ERROR(status) && read != *size) status = EFI_DEVICE_ERROR;
  if (EFI_ERROR(status)) FreePool(*data);
  return status;
}

static void to_path(const CHAR8 *text, UINTN length, CHAR16 *path) {
  if (length >= MAX_PATH) length = MAX_PATH - 1;
  for (UINTN i = 0; i < length; ++i) path[i] = text[i];
  path[length] = 0;
}

static void verify_image(void *context, const CHAR16 *path) {
  UINT8 *image;
  UINTN size;
  EFI_STATUS status = read_file(path, &image, &size);
  if (EFI_ERROR(status)) {
    Print(L"hvsig-verify: %s: cannot read: %r\n", path, status);
    return;
  }
  struct hvsig_efi_verdict verdict;
  hvsig_efi_verify(context, image, size, &verdict);
  Print(L"hvsig-verify: %s: %a reason=%a@%lu sha256=%a\n", path, verdict.verdict, verdict.reason,
        verdict.reason_offset, verdict.sha256);
  FreePool(image);
}

/* Runs the configuration: the dbx line first (it applies to every image), then each image. */
static void run(void *context) {
  UINT8 *config;
  UINTN config_size;
  EFI_STATUS status = read_file(L"\\hvsig.cfg", &config, &config_size);
  if (status == EFI_NOT_FOUND) {
    static CHAR8 fallback[] = "image=\\vmlinuz\n";
    config = fallback;
    config_size = sizeof fallback - 1;
  } else if (EFI_ERROR(status)) {
    Print(L"hvsig-verify: \\hvsig.cfg: cannot read: %r\n", status);
    return;
  }

  CHAR16 path[MAX_PATH];
  UINT8 *dbx = NULL;
  UINTN dbx_size = 0;
  for (int pass = 0; pass < 2; ++pass) {
    UINTN line = 0;
    while (line < config_size) {
      UINTN end = line;
      while (end < config_size && config[end] != '\n') ++end;
      UINTN stop = end;
      while (stop > line && (config[stop - 1] == '\r' || config[stop - 1] == ' ')) --stop;
      const CHAR8 *text = config + line;
      UINTN length = stop - line;
      if (pass == 0 && length > 4 && CompareMem(text, "dbx=", 4) == 0) {
        to_path(text + 4, length - 4, path);
        status = read_file(path, &dbx, &dbx_size);
        if (EFI_ERROR(status)) {
          Print(L"hvsig-verify: %s: cannot read: %r\n", path, status);
          return;
        }
      }
      if (pass == 1 && length > 6 && CompareMem(text, "image=", 6) == 0) {
        to_path(text + 6, length - 6, path);
        verify_image(context, path);
      }
      line = end + 1;
    }
    if (pass == 0) {
      uint64_t offset = 0;
      const char *failure = hvsig_efi_setup(context, dbx, dbx_size, &offset);
      if (failure != NULL) {
        Print(L"hvsig-verify: keys: %a at offset %lu\n", failure, offset);
        return;
      }
      Print(L"hvsig-verify: keys loaded%a\n", dbx_size != 0 ? " (with dbx)" : "");
    }
  }
}

EFI_STATUS efi_main(EFI_HANDLE image_handle, EFI_SYSTEM_TABLE *system_table) {
  InitializeLib(image_handle, system_table);
  Print(L"hvsig-verify: start\n");
  EFI_LOADED_IMAGE *loaded_image;
  EFI_STATUS status = uefi_call_wrapper(BS->HandleProtocol, 3, image_handle, &LoadedImageProtocol,
                                        (void **)&loaded_image);
  if (!EFI_ERROR(status)) {
    root = LibOpenRoot(loaded_image->DeviceHandle);
    void *context = AllocatePool(hvsig_efi_context_size());
    if (root == NULL || context == NULL) {
      Print(L"hvsig-verify: no boot volume or no memory\n");
    } else {
      run(context);
    }
  } else {
    Print(L"hvsig-verify: no loaded image protocol: %r\n", status);
  }
  Print(L"hvsig-verify: done\n");
  /* Power off, so a test (or a boot chain) does not wait on the firmware. */
  uefi_call_wrapper(RT->ResetSystem, 4, EfiResetShutdown, EFI_SUCCESS, 0, NULL);
  return EFI_SUCCESS;
}
