// Names of the errno values that cross the hypercall boundary, spelled as docs/abi.md and Xen's
// console spell them. One table for the model's console, the daemon's log and the tools'
// messages, so every place names a result the same way.
#pragma once

namespace hvsig::hv {

// A hypercall's failure or success: "0", "-EPERM", "-EKEYREJECTED", ...; "-E?" for an errno
// outside the table. A positive rc (a count, a status) is a number, not a name: "?".
const char* ErrnoName(long rc);

// The bare name of a positive errno value ("EKEYREJECTED"); "E?" outside the table.
const char* ErrnoSymbol(int error);

}  // namespace hvsig::hv
