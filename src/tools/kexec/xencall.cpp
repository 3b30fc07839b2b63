#include "tools/kexec/xencall.h"

#include <dlfcn.h>
#include <xentoollog.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <utility>

namespace hvsig::kexec_cli {

namespace {

constexpr const char kSoname[] = "libxencall.so.1";

// Keeps the library's last message (xencall_open explains its failure through the logger)
// instead of letting the default logger print it, so the tool's one error line can carry it.
struct CapturingLogger {
  xentoollog_logger vtable;
  char last[256];
};

void CaptureMessage(xentoollog_logger* logger, xentoollog_level, int errnoval, const char* context,
                    const char* format, va_list args) {
  auto* self = reinterpret_cast<CapturingLogger*>(logger);
  int used = std::snprintf(self->last, sizeof self->last, "%s%s", context ? context : "", context ? ": " : "");
  if (used < 0 || static_cast<size_t>(used) >= sizeof self->last) return;
  const int more = std::vsnprintf(self->last + used, sizeof self->last - used, format, args);
  if (more < 0) return;
  used += more;
  if (errnoval > 0 && static_cast<size_t>(used) < sizeof self->last) {
    std::snprintf(self->last + used, sizeof self->last - used, ": %s", std::strerror(errnoval));
  }
}
void IgnoreProgress(xentoollog_logger*, const char*, const char*, int, unsigned long, unsigned long) {}
void IgnoreDestroy(xentoollog_logger*) {}

template <typename Fn>
bool Resolve(void* library, const char* name, Fn& out, std::string& error) {
  out = reinterpret_cast<Fn>(dlsym(library, name));
  if (out == nullptr) error = std::string(kSoname) + " has no " + name;
  return out != nullptr;
}

}  // namespace

HypercallBuffer::HypercallBuffer(HypercallBuffer&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

HypercallBuffer& HypercallBuffer::operator=(HypercallBuffer&& other) noexcept {
  if (this != &other) {
    if (owner_ != nullptr) owner_->Free(data_);
    owner_ = std::exchange(other.owner_, nullptr);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

HypercallBuffer::~HypercallBuffer() {
  if (owner_ != nullptr) owner_->Free(data_);
}

XenCall::~XenCall() {
  if (handle_ != nullptr) close_(handle_);
  if (library_ != nullptr) dlclose(library_);
}

bool XenCall::Open(std::string& error) {
  library_ = dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
  if (library_ == nullptr) {
    error = dlerror();
    return false;
  }
  if (!Resolve(library_, "xencall_open", open_, error) || !Resolve(library_, "xencall_close", close_, error) ||
      !Resolve(library_, "xencall2", call2_, error) ||
      !Resolve(library_, "xencall_alloc_buffer", alloc_, error) ||
      !Resolve(library_, "xencall_free_buffer", free_, error)) {
    return false;
  }
  CapturingLogger logger{{CaptureMessage, IgnoreProgress, IgnoreDestroy}, {}};
  errno = 0;
  handle_ = open_(&logger.vtable, 0);
  if (handle_ == nullptr) {
    const int saved = errno;
    error = logger.last[0] != 0 ? logger.last
                                : std::string("xencall_open failed") + (saved != 0 ? ": " : "") +
                                      (saved != 0 ? std::strerror(saved) : "");
    return false;
  }
  return true;
}

bool XenCall::Allocate(size_t size, HypercallBuffer& out, std::string& error) const {
  const size_t bytes = size == 0 ? 1 : size;
  void* p = alloc_(handle_, bytes);
  if (p == nullptr) {
    error = std::string("xencall_alloc_buffer(") + std::to_string(bytes) + "): " + std::strerror(errno);
    return false;
  }
  std::memset(p, 0, bytes);
  out = HypercallBuffer();
  out.owner_ = this;
  out.data_ = static_cast<uint8_t*>(p);
  out.size_ = size;
  return true;
}

long XenCall::Call2(unsigned op, uint64_t arg1, uint64_t arg2) const {
  errno = 0;
  const int rc = call2_(handle_, op, arg1, arg2);
  if (rc >= 0) return rc;
  return errno != 0 ? -static_cast<long>(errno) : -EIO;
}

void XenCall::Free(void* p) const { free_(handle_, p); }

}  // namespace hvsig::kexec_cli
