// What a PV dom0's filesystem shows of Xen, and what dom0 tools look at before they make a
// hypercall: /proc/xen exists (kexec-tools' xen_present() is access("/proc/xen", F_OK)) and
// /sys/hypervisor describes the hypervisor. We answer the libc calls that name these paths;
// every other path goes to libc untouched. They answer access(), the stat family (with the
// mount's device and times), open()/fopen() and the xattr calls `ls -l` makes.
//
// Files read as a sealed memfd with the sysfs contents. Directories answer stat() and access()
// but cannot be opened or listed: no dom0 tool we serve reads them as directories, and a fake
// directory fd would need a real directory behind it.
//
// Only absolute paths are recognised (and openat()/fstatat() with an absolute path); libc's
// internal calls (realpath, opendir, ftw) and raw syscalls bypass this file.
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "hv/xen_identity.h"
#include "tools/dom0/preload/next_symbol.h"

namespace {

namespace identity = hvsig::hv::xen_identity;

// A file's bytes, built at compile time so the library has no static constructors.
struct Text {
  char bytes[96] = {};
  size_t size = 0;

  constexpr Text& Append(const char* text) {
    for (size_t i = 0; text[i] != '\0'; i++) bytes[size++] = text[i];
    return *this;
  }
  constexpr Text& AppendDecimal(uint32_t value) {
    char digits[10] = {};
    size_t count = 0;
    do {
      digits[count++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    while (count != 0) bytes[size++] = digits[--count];
    return *this;
  }
};

consteval Text Line(const char* text) { return Text{}.Append(text).Append("\n"); }
consteval Text DecimalLine(uint32_t value) { return Text{}.AppendDecimal(value).Append("\n"); }

constexpr Text kType = Line("xen");
constexpr Text kMajor = DecimalLine(identity::kMajor);
constexpr Text kMinor = DecimalLine(identity::kMinor);
constexpr Text kExtra = Line(identity::kExtraVersion);
constexpr Text kCapabilities = Line(identity::kCapabilities);
// /proc/xen/capabilities says which domain this is; "control_d" is dom0 (xenstored's and the
// toolstack's own test for running in dom0).
constexpr Text kProcCapabilities = Line("control_d");
constexpr Text kDirectory = {};

enum class Mount { kProc, kSys };

struct Node {
  const char* path;
  bool directory;
  Mount mount;
  const Text* content;
};

constexpr Node kNodes[] = {
    {"/proc/xen", true, Mount::kProc, &kDirectory},
    {"/proc/xen/capabilities", false, Mount::kProc, &kProcCapabilities},
    {"/sys/hypervisor", true, Mount::kSys, &kDirectory},
    {"/sys/hypervisor/type", false, Mount::kSys, &kType},
    {"/sys/hypervisor/version", true, Mount::kSys, &kDirectory},
    {"/sys/hypervisor/version/major", false, Mount::kSys, &kMajor},
    {"/sys/hypervisor/version/minor", false, Mount::kSys, &kMinor},
    {"/sys/hypervisor/version/extra", false, Mount::kSys, &kExtra},
    {"/sys/hypervisor/properties", true, Mount::kSys, &kDirectory},
    {"/sys/hypervisor/properties/capabilities", false, Mount::kSys, &kCapabilities},
};

// Everything below these two directories is ours: a name we do not model does not exist,
// as on a dom0 without that driver.
constexpr const char* kOwnedTrees[] = {"/proc/xen", "/sys/hypervisor"};

// Inode numbers that no real /proc or /sys entry is likely to have.
constexpr ino_t kFirstInode = 0x68767367000;  // "hvsg"

struct Lookup {
  enum Kind { kNotOurs, kFound, kError } kind = kNotOurs;
  const Node* node = nullptr;
  int error = 0;
};

bool StartsWith(const char* text, const char* prefix) {
  for (; *prefix != '\0'; prefix++, text++) {
    if (*text != *prefix) return false;
  }
  return true;
}

// The path with repeated slashes and "." components dropped; false if it does not fit (then it
// is longer than any of ours). A trailing slash is reported, not kept.
bool Normalize(const char* path, char (&out)[64], bool* trailing_slash) {
  size_t length = 0;
  *trailing_slash = false;
  for (const char* p = path; *p != '\0';) {
    if (*p == '/') {
      while (*p == '/') p++;
      if (p[0] == '.' && (p[1] == '/' || p[1] == '\0')) {
        p++;
        continue;
      }
      if (*p == '\0') {
        *trailing_slash = length != 0;
        break;
      }
      if (length + 1 >= sizeof out) return false;
      out[length++] = '/';
      continue;
    }
    if (length + 1 >= sizeof out) return false;
    out[length++] = *p++;
  }
  out[length] = '\0';
  return true;
}

Lookup Find(const char* path) {
  if (path == nullptr || path[0] != '/') return {};
  if (!StartsWith(path, "/proc") && !StartsWith(path, "/sys") && !StartsWith(path, "//")) return {};
  char normal[64];
  bool trailing_slash;
  if (!Normalize(path, normal, &trailing_slash)) {
    for (const char* tree : kOwnedTrees) {
      if (StartsWith(path, tree) && path[strlen(tree)] == '/') return {Lookup::kError, nullptr, ENOENT};
    }
    return {};
  }
  for (const Node& node : kNodes) {
    if (strcmp(normal, node.path) != 0) continue;
    if (trailing_slash && !node.directory) return {Lookup::kError, nullptr, ENOTDIR};
    return {Lookup::kFound, &node, 0};
  }
  for (const char* tree : kOwnedTrees) {
    if (StartsWith(normal, tree) && normal[strlen(tree)] == '/') return {Lookup::kError, nullptr, ENOENT};
  }
  return {};
}

int Fail(int error) {
  errno = error;
  return -1;
}

mode_t ModeOf(const Node& node) { return node.directory ? (S_IFDIR | 0555) : (S_IFREG | 0444); }

void FillStat(const Node& node, struct stat* out) {
  // The mount's device and times, so `stat -c %d /proc/xen /proc` agree as on a dom0.
  const char* mount = node.mount == Mount::kProc ? "/proc" : "/sys";
  if (HVSIG_NEXT(stat)(mount, out) != 0) memset(out, 0, sizeof *out);
  out->st_ino = kFirstInode + static_cast<ino_t>(&node - kNodes);
  out->st_mode = ModeOf(node);
  out->st_nlink = node.directory ? 2 : 1;
  // sysfs reports a page for every attribute; procfs reports 0 for everything.
  out->st_size = node.directory ? 0 : (node.mount == Mount::kSys ? 4096 : 0);
  out->st_blocks = 0;
  out->st_uid = 0;
  out->st_gid = 0;
  out->st_rdev = 0;
  out->st_blksize = 4096;
}

int StatNode(const Lookup& found, struct stat* out) {
  if (found.kind == Lookup::kError) return Fail(found.error);
  FillStat(*found.node, out);
  return 0;
}

int AccessNode(const Lookup& found, int mode) {
  if (found.kind == Lookup::kError) return Fail(found.error);
  if ((mode & W_OK) != 0) return Fail(EACCES);
  if ((mode & X_OK) != 0 && !found.node->directory) return Fail(EACCES);
  return 0;
}

// A read-only, sealed memory file holding the node's content.
int OpenNode(const Lookup& found, int flags) {
  if (found.kind == Lookup::kError) return Fail(found.error);
  const Node& node = *found.node;
  if ((flags & O_CREAT) != 0 && (flags & O_EXCL) != 0) return Fail(EEXIST);
  if (node.directory) {
    if ((flags & O_ACCMODE) != O_RDONLY) return Fail(EISDIR);
    return Fail(EACCES);  // see the file comment: directories are not openable here
  }
  if ((flags & O_ACCMODE) != O_RDONLY) return Fail(EACCES);
  if ((flags & O_DIRECTORY) != 0) return Fail(ENOTDIR);
  unsigned memfd_flags = MFD_ALLOW_SEALING | ((flags & O_CLOEXEC) != 0 ? MFD_CLOEXEC : 0u);
  int fd = memfd_create(node.path, memfd_flags);
  if (fd < 0) return -1;
  const Text& text = *node.content;
  if (write(fd, text.bytes, text.size) != static_cast<ssize_t>(text.size) ||
      lseek(fd, 0, SEEK_SET) != 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
    int error = errno;
    close(fd);
    return Fail(error);
  }
  return fd;
}

FILE* FopenNode(const Lookup& found, const char* mode) {
  bool read_only = mode[0] == 'r' && strchr(mode, '+') == nullptr;
  if (found.kind == Lookup::kFound && !read_only) {
    errno = found.node->directory ? EISDIR : EACCES;
    return nullptr;
  }
  int fd = OpenNode(found, O_RDONLY | (strchr(mode, 'e') != nullptr ? O_CLOEXEC : 0));
  if (fd < 0) return nullptr;
  FILE* stream = fdopen(fd, "r");
  if (stream == nullptr) {
    int error = errno;
    close(fd);
    errno = error;
  }
  return stream;
}

mode_t ModeArgument(int flags, va_list args) {
  return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(args, mode_t) : 0;
}

}  // namespace

#define HVSIG_EXPORT extern "C" __attribute__((visibility("default")))

HVSIG_EXPORT int access(const char* path, int mode) noexcept {
  Lookup found = Find(path);
  return found.kind == Lookup::kNotOurs ? HVSIG_NEXT(access)(path, mode) : AccessNode(found, mode);
}

HVSIG_EXPORT int euidaccess(const char* path, int mode) noexcept {
  Lookup found = Find(path);
  return found.kind == Lookup::kNotOurs ? HVSIG_NEXT(euidaccess)(path, mode) : AccessNode(found, mode);
}

HVSIG_EXPORT int eaccess(const char* path, int mode) noexcept { return euidaccess(path, mode); }

HVSIG_EXPORT int faccessat(int dirfd, const char* path, int mode, int flags) noexcept {
  Lookup found = Find(path);
  if (found.kind == Lookup::kNotOurs) return HVSIG_NEXT(faccessat)(dirfd, path, mode, flags);
  return AccessNode(found, mode);
}

HVSIG_EXPORT int stat(const char* path, struct stat* out) noexcept {
  Lookup found = Find(path);
  return found.kind == Lookup::kNotOurs ? HVSIG_NEXT(stat)(path, out) : StatNode(found, out);
}

HVSIG_EXPORT int lstat(const char* path, struct stat* out) noexcept {
  Lookup found = Find(path);
  return found.kind == Lookup::kNotOurs ? HVSIG_NEXT(lstat)(path, out) : StatNode(found, out);
}

HVSIG_EXPORT int fstatat(int dirfd, const char* path, struct stat* out, int flags) noexcept {
  Lookup found = Find(path);
  if (found.kind == Lookup::kNotOurs) return HVSIG_NEXT(fstatat)(dirfd, path, out, flags);
  return StatNode(found, out);
}

// On x86_64 struct stat64 is struct stat; glibc exports both names.
HVSIG_EXPORT int stat64(const char* path, struct stat64* out) noexcept {
  return stat(path, reinterpret_cast<struct stat*>(out));
}
HVSIG_EXPORT int lstat64(const char* path, struct stat64* out) noexcept {
  return lstat(path, reinterpret_cast<struct stat*>(out));
}
HVSIG_EXPORT int fstatat64(int dirfd, const char* path, struct stat64* out, int flags) noexcept {
  return fstatat(dirfd, path, reinterpret_cast<struct stat*>(out), flags);
}

HVSIG_EXPORT int statx(int dirfd, const char* path, int flags, unsigned mask,
                       struct statx* out) noexcept {
  Lookup found = Find(path);
  if (found.kind == Lookup::kNotOurs) return HVSIG_NEXT(statx)(dirfd, path, flags, mask, out);
  struct stat st;
  if (StatNode(found, &st) != 0) return -1;
  memset(out, 0, sizeof *out);
  out->stx_mask = STATX_BASIC_STATS;
  out->stx_blksize = static_cast<uint32_t>(st.st_blksize);
  out->stx_nlink = static_cast<uint32_t>(st.st_nlink);
  out->stx_mode = static_cast<uint16_t>(st.st_mode);
  out->stx_ino = st.st_ino;
  out->stx_size = static_cast<uint64_t>(st.st_size);
  out->stx_dev_major = major(st.st_dev);
  out->stx_dev_minor = minor(st.st_dev);
  out->stx_atime = {st.st_atim.tv_sec, static_cast<uint32_t>(st.st_atim.tv_nsec), 0};
  out->stx_mtime = {st.st_mtim.tv_sec, static_cast<uint32_t>(st.st_mtim.tv_nsec), 0};
  out->stx_ctime = {st.st_ctim.tv_sec, static_cast<uint32_t>(st.st_ctim.tv_nsec), 0};
  return 0;
}

// ls -l asks for SELinux labels and ACLs: our nodes have no extended attributes.
HVSIG_EXPORT ssize_t getxattr(const char* path, const char* name, void* value, size_t size) noexcept {
  Lookup found = Find(path);
  if (found.kind == Lookup::kNotOurs) return HVSIG_NEXT(getxattr)(path, name, value, size);
  return Fail(found.kind == Lookup::kError ? found.error : ENODATA);
}
HVSIG_EXPORT ssize_t lgetxattr(const char* path, const char* name, void* value, size_t size) noexcept {
  Lookup found = Find(path);
  if (found.kind == Lookup::kNotOurs) return HVSIG_NEXT(lgetxattr)(path, name, value, size);
  return Fail(found.kind == Lookup::kError ? found.error : ENODATA);
}
HVSIG_EXPORT ssize_t listxattr(const char* path, char* list, size_t size) noexcept {
  Lookup found = Find(path);
  if (found.kind == Lookup::kNotOurs) return HVSIG_NEXT(listxattr)(path, list, size);
  return found.kind == Lookup::kError ? Fail(found.error) : 0;
}
HVSIG_EXPORT ssize_t llistxattr(const char* path, char* list, size_t size) noexcept {
  Lookup found = Find(path);
  if (found.kind == Lookup::kNotOurs) return HVSIG_NEXT(llistxattr)(path, list, size);
  return found.kind == Lookup::kError ? Fail(found.error) : 0;
}

// glibc before 2.33 compiled stat() into calls of these; binaries built then still use them.
using XstatFunction = int(int, const char*, struct stat*);
using FxstatatFunction = int(int, int, const char*, struct stat*, int);

HVSIG_EXPORT int __xstat(int version, const char* path, struct stat* out) noexcept {
  Lookup found = Find(path);
  if (found.kind == Lookup::kNotOurs) {
    return HVSIG_NEXT_VERSIONED(XstatFunction, __xstat, "GLIBC_2.2.5")(version, path, out);
  }
  return StatNode(found, out);
}
HVSIG_EXPORT int __lxstat(int version, const char* path, struct stat* out) noexcept {
  Lookup found = Find(path);
  if (found.kind == Lookup::kNotOurs) {
    return HVSIG_NEXT_VERSIONED(XstatFunction, __lxstat, "GLIBC_2.2.5")(version, path, out);
  }
  return StatNode(found, out);
}
HVSIG_EXPORT int __fxstatat(int version, int dirfd, const char* path, struct stat* out,
                            int flags) noexcept {
  Lookup found = Find(path);
  if (found.kind == Lookup::kNotOurs) {
    return HVSIG_NEXT_VERSIONED(FxstatatFunction, __fxstatat, "GLIBC_2.4")(version, dirfd, path,
                                                                           out, flags);
  }
  return StatNode(found, out);
}
HVSIG_EXPORT int __xstat64(int version, const char* path, struct stat* out) noexcept {
  return __xstat(version, path, out);
}
HVSIG_EXPORT int __lxstat64(int version, const char* path, struct stat* out) noexcept {
  return __lxstat(version, path, out);
}
HVSIG_EXPORT int __fxstatat64(int version, int dirfd, const char* path, struct stat* out,
                              int flags) noexcept {
  return __fxstatat(version, dirfd, path, out, flags);
}

HVSIG_EXPORT int open(const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  mode_t mode = ModeArgument(flags, args);
  va_end(args);
  Lookup found = Find(path);
  return found.kind == Lookup::kNotOurs ? HVSIG_NEXT(open)(path, flags, mode) : OpenNode(found, flags);
}

HVSIG_EXPORT int open64(const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  mode_t mode = ModeArgument(flags, args);
  va_end(args);
  return open(path, flags, mode);
}

HVSIG_EXPORT int openat(int dirfd, const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  mode_t mode = ModeArgument(flags, args);
  va_end(args);
  Lookup found = Find(path);
  if (found.kind == Lookup::kNotOurs) return HVSIG_NEXT(openat)(dirfd, path, flags, mode);
  return OpenNode(found, flags);
}

HVSIG_EXPORT int openat64(int dirfd, const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  mode_t mode = ModeArgument(flags, args);
  va_end(args);
  return openat(dirfd, path, flags, mode);
}

// _FORTIFY_SOURCE builds call these for open() without a mode argument.
HVSIG_EXPORT int __open_2(const char* path, int flags) { return open(path, flags); }
HVSIG_EXPORT int __open64_2(const char* path, int flags) { return open(path, flags); }
HVSIG_EXPORT int __openat_2(int dirfd, const char* path, int flags) { return openat(dirfd, path, flags); }
HVSIG_EXPORT int __openat64_2(int dirfd, const char* path, int flags) {
  return openat(dirfd, path, flags);
}

// glibc's fopen() opens with its internal open, which the functions above do not see.
HVSIG_EXPORT FILE* fopen(const char* path, const char* mode) {
  Lookup found = Find(path);
  return found.kind == Lookup::kNotOurs ? HVSIG_NEXT(fopen)(path, mode) : FopenNode(found, mode);
}

HVSIG_EXPORT FILE* fopen64(const char* path, const char* mode) { return fopen(path, mode); }
