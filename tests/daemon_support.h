// hvsig-hypervisor as a child process for end-to-end tests: a daemon on a socket in a fresh
// directory with its log, started and stopped by the test (hypervisor_test.cpp,
// xenlivepatch_test.cpp). HVSIG_HYPERVISOR is the daemon's path.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.h"
#include "xenlibs/wire.h"

namespace hvsig::test {

// A file's text; empty if it does not exist.
inline std::string ReadText(const std::string& path) {
  if (access(path.c_str(), F_OK) != 0) return {};
  const Bytes bytes = ReadFile(path);
  return std::string(bytes.begin(), bytes.end());
}

// One hvsig-hypervisor process on a socket in a fresh directory.
class Daemon {
 public:
  explicit Daemon(std::vector<std::string> args = {}) {
    char dir_template[] = "/tmp/hvsig-hv-XXXXXX";
    dir_ = mkdtemp(dir_template);
    socket_ = dir_ + "/run/hv.sock";
    log_ = dir_ + "/hv.log";
    console_ = dir_ + "/console.txt";
    args_ = std::move(args);
  }
  ~Daemon() {
    if (pid_ > 0) Stop();
    RunCommand("rm -rf " + ShellQuote(dir_));
  }

  // Starts the daemon; returns its exit status if it ended instead of serving, -1 if serving.
  int Start() {
    std::vector<std::string> argv = {HVSIG_HYPERVISOR, "--socket", socket_, "--log", log_};
    argv.insert(argv.end(), args_.begin(), args_.end());
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = open(console_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> cargv;
      for (std::string& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
    // Bounded wait for readiness: the daemon says so once it listens.
    for (int i = 0; i < 1000; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
      }
      if (Log().find("(XEN) hvsig-hypervisor: ready on " + socket_ + "\n") != std::string::npos) {
        EXPECT_EQ(access(socket_.c_str(), F_OK), 0) << "ready, but no socket";
        setenv(HVSIG_HYPERVISOR_SOCKET_ENV, socket_.c_str(), 1);
        return -1;
      }
      usleep(10000);
    }
    ADD_FAILURE() << "the daemon did not become ready: " << Console();
    return -2;
  }

  // SIGTERM; returns the exit status.
  int Stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  // Waits (bounded) for a line containing `needle` in the log.
  bool WaitForLine(const std::string& needle) {
    for (int i = 0; i < 1000; ++i) {
      if (Log().find(needle) != std::string::npos) return true;
      usleep(10000);
    }
    return false;
  }

  std::string Log() const { return ReadText(log_); }
  std::string Console() const { return ReadText(console_); }
  const std::string& socket() const { return socket_; }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }

 private:
  std::string dir_, socket_, log_, console_;
  std::vector<std::string> args_;
  pid_t pid_ = -1;
};

}  // namespace hvsig::test
