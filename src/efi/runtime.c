/*
 * What the core imports and gnu-efi does not provide: memcmp and memmove (gnu-efi's libefi
 * defines memcpy and memset, in init.o with InitializeLib). Xen has all four in its own
 * library. Byte loops: the core calls these on short buffers (names, digests, DER headers).
 */
#include <stddef.h>

int memcmp(const void *a, const void *b, size_t length) {
  const unsigned char *x = a;
  const unsigned char *y = b;
  for (size_t i = 0; i < length; ++i) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

void *memmove(void *destination, const void *source, size_t length) {
  unsigned char *to = destination;
  const unsigned char *from = source;
  if (to < from) {
    for (size_t i = 0; i < length; ++i) to[i] = from[i];
  } else {
    while (length-- > 0) to[length] = from[length];
  }
  return destination;
}
