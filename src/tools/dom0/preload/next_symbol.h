// The libc definition behind one of our interposed functions. Looked up on first use rather
// than in the constructor, because other libraries' constructors may call open() or stat()
// before ours runs; the lookup is race-free (every thread stores the same pointer).
#pragma once

#include <dlfcn.h>
#include <unistd.h>

#include <atomic>

namespace hvsig::dom0 {

// A process that cannot reach libc's own stat() cannot be served correctly: say so and stop.
[[noreturn]] inline void MissingSymbol(const char* name) {
  static constexpr char kPrefix[] = "hvsig-dom0 preload: libc has no ";
  (void)!write(STDERR_FILENO, kPrefix, sizeof kPrefix - 1);
  size_t length = 0;
  while (name[length] != '\0') length++;
  (void)!write(STDERR_FILENO, name, length);
  (void)!write(STDERR_FILENO, "\n", 1);
  _exit(127);
}

template <typename Function>
Function NextSymbol(std::atomic<void*>& slot, const char* name, const char* version) {
  void* symbol = slot.load(std::memory_order_acquire);
  if (symbol == nullptr) {
    symbol = version == nullptr ? dlsym(RTLD_NEXT, name) : dlvsym(RTLD_NEXT, name, version);
    if (symbol == nullptr) MissingSymbol(name);
    slot.store(symbol, std::memory_order_release);
  }
  return reinterpret_cast<Function>(symbol);
}

}  // namespace hvsig::dom0

// HVSIG_NEXT(open)(path, flags): libc's open, not ours.
#define HVSIG_NEXT(function)                                                             \
  ([] {                                                                                  \
    static constinit std::atomic<void*> slot{nullptr};                                   \
    return ::hvsig::dom0::NextSymbol<decltype(&::function)>(slot, #function, nullptr);   \
  }())

// Symbols glibc keeps only for binaries linked against older versions (e.g. __xstat), which
// its headers no longer declare: the caller names the type.
#define HVSIG_NEXT_VERSIONED(Type, function, version)                                    \
  ([] {                                                                                  \
    static constinit std::atomic<void*> slot{nullptr};                                   \
    return ::hvsig::dom0::NextSymbol<Type*>(slot, #function, version);                   \
  }())
