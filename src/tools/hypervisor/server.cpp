#include "tools/hypervisor/server.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "tools/hypervisor/process_memory.h"
#include "xenlibs/wire.h"

namespace hvsig::hypervisor {
namespace {

bool MakeAddress(const std::string& path, sockaddr_un& addr) {
  if (path.size() >= sizeof addr.sun_path) return false;
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return true;
}

// True if a daemon accepts connections on path.
bool SomeoneListens(const std::string& path) {
  sockaddr_un addr;
  if (!MakeAddress(path, addr)) return false;
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool live = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return live;
}

// 1: all bytes, 0: clean end of stream before the first byte, -1: error or end mid-way.
int ReadExactly(int fd, void* data, size_t length) {
  auto* p = static_cast<uint8_t*>(data);
  size_t done = 0;
  while (done < length) {
    const ssize_t n = recv(fd, p + done, length - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 && done == 0) return 0;
    if (n <= 0) return -1;
    done += static_cast<size_t>(n);
  }
  return 1;
}

bool WriteExactly(int fd, const void* data, size_t length) {
  const auto* p = static_cast<const uint8_t*>(data);
  size_t done = 0;
  while (done < length) {
    const ssize_t n = send(fd, p + done, length - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// One connection: requests in, replies out, until the caller closes or misbehaves. A caller
// that dies mid-call only makes the final reply fail.
void ServeConnection(int fd, Hypervisor& hypervisor) {
  ucred peer{};
  socklen_t peer_length = sizeof peer;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &peer_length) != 0) {
    hypervisor.Note(std::string("connection without SO_PEERCRED: ") + std::strerror(errno));
    close(fd);
    return;
  }
  ProcessMemory memory(peer.pid);
  const hv::GuestMemory guest = memory.Memory();
  for (;;) {
    hvsig_wire_request request;
    const int got = ReadExactly(fd, &request, sizeof request);
    if (got == 0) break;
    const char* malformed = got < 0                                  ? "truncated request"
                            : request.magic != HVSIG_WIRE_REQUEST_MAGIC ? "bad magic"
                            : request.version != HVSIG_WIRE_VERSION      ? "unsupported version"
                                                                         : nullptr;
    if (malformed != nullptr) {
      hypervisor.Note("malformed request from pid " + std::to_string(peer.pid) + " (" + malformed +
                      "): connection closed");
      break;
    }
    hvsig_wire_reply reply{};
    reply.magic = HVSIG_WIRE_REPLY_MAGIC;
    reply.rc = hypervisor.Hypercall(peer.pid, request.op, request.arg, guest);
    if (!WriteExactly(fd, &reply, sizeof reply)) {
      hypervisor.Note("pid " + std::to_string(peer.pid) + " went away before its reply");
      break;
    }
  }
  close(fd);
}

}  // namespace

int Serve(const std::string& path, Hypervisor& hypervisor) {
  sockaddr_un addr;
  const std::string temporary = path + "." + std::to_string(getpid()) + ".new";
  if (!MakeAddress(temporary, addr)) {
    hypervisor.Note("socket path too long: " + path);
    return 1;
  }
  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) {
    hypervisor.Note("cannot create " + parent.string() + ": " + ec.message());
    return 1;
  }
  struct stat existing;
  if (lstat(path.c_str(), &existing) == 0) {
    if (!S_ISSOCK(existing.st_mode)) {
      hypervisor.Note(path + " exists and is not a socket: refusing to replace it");
      return 1;
    }
    if (SomeoneListens(path)) {
      hypervisor.Note("another hypervisor is already serving " + path);
      return 1;
    }
    hypervisor.Note("replacing the stale socket " + path);
  }

  // SIGTERM/SIGINT end the loop below; no thread is interrupted by them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  const int signal_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC);

  const int listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  unlink(temporary.c_str());
  if (signal_fd < 0 || listen_fd < 0 ||
      bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd, 64) != 0 || rename(temporary.c_str(), path.c_str()) != 0) {
    hypervisor.Note("cannot listen on " + path + ": " + std::strerror(errno));
    unlink(temporary.c_str());
    return 1;
  }
  struct stat bound;
  const bool have_bound = stat(path.c_str(), &bound) == 0;
  hypervisor.Note("ready on " + path);

  for (;;) {
    pollfd fds[2] = {{listen_fd, POLLIN, 0}, {signal_fd, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      hypervisor.Note(std::string("poll: ") + std::strerror(errno));
      break;
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo info;
      const ssize_t n = read(signal_fd, &info, sizeof info);
      hypervisor.Note(std::string("stopping on ") +
                      (n == sizeof info ? sigabbrev_np(static_cast<int>(info.ssi_signo)) : "a signal"));
      break;
    }
    if (fds[0].revents & POLLIN) {
      const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::thread(ServeConnection, fd, std::ref(hypervisor)).detach();
    }
  }
  // Remove the name only if it is still ours (a successor may have replaced a stale one).
  struct stat now;
  if (have_bound && stat(path.c_str(), &now) == 0 && now.st_ino == bound.st_ino &&
      now.st_dev == bound.st_dev) {
    unlink(path.c_str());
  }
  close(listen_fd);
  return 0;
}

}  // namespace hvsig::hypervisor
