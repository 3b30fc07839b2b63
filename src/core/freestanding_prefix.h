// Forced into every freestanding object (-include), as Xen's compiler.h is into every Xen
// object: hidden visibility for declarations too, so -fpic code reaches functions and data
// directly (PC-relative) instead of through a GOT that a hypervisor image does not have.
#pragma GCC visibility push(hidden)
