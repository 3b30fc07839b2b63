// hvsig-hypervisor's socket: one listening Unix stream socket, one thread per connection, one
// wire request (src/xenlibs/wire.h) answered at a time per connection. The caller is the
// connection's SO_PEERCRED pid; its memory is the guest memory of its hypercalls.
#pragma once

#include <string>

#include "tools/hypervisor/hypervisor.h"

namespace hvsig::hypervisor {

// Binds `path` (creating its directory), makes it appear only once listening (bind under a
// temporary name, then rename), serves until SIGTERM or SIGINT, then removes it. Refuses a
// path on which another daemon answers. Returns the process exit code (0 after a signal).
int Serve(const std::string& path, Hypervisor& hypervisor);

}  // namespace hvsig::hypervisor
