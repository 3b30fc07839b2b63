// hvsig-hypervisor and the drop-in Xen libraries, end to end: each test starts the daemon on a
// temporary socket and talks to it through our libxencall.so.1, in process (this binary links
// it) or from child processes (Debian's libxenctrl in hypervisor_xenctrl_probe, forked
// clients that are killed). Every hypercall's result is also checked in the daemon's log.
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern "C" {
#include <xencall.h>
}

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include <xen/xen.h>
#include <xen/memory.h>
#include <xen/sysctl.h>
}

#include "daemon_support.h"
#include "hv_test_support.h"
#include "hv/xen_identity.h"
#include "hvsig/xen/kexec_file.h"
#include "test_support.h"
#include "tools/hypervisor/machine.h"
#include "xenlibs/wire.h"

namespace {

using hvsig::test::Bytes;
using hvsig::test::Daemon;
using hvsig::test::ReadText;
using hvsig::test::RunCommand;
using hvsig::test::ShellQuote;

constexpr unsigned kKexecOp = 37;
constexpr unsigned kXenVersion = 17;
constexpr unsigned kMemoryOp = 12;
constexpr unsigned kSysctl = 35;
constexpr uint64_t kXenverVersion = 0;
constexpr uint64_t kXenverCapabilities = 3;
constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t kMiB = 1ull << 20;

std::string DebianKernel() { return std::string(HVSIG_TEST_CACHE) + "/authenticode/vmlinuz"; }
std::string DebianCa() { return std::string(HVSIG_TEST_CACHE) + "/authenticode/debian-uefi-ca.der"; }

size_t CountLines(const std::string& text, const std::string& needle) {
  size_t count = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) != std::string::npos) ++count;
  }
  return count;
}

// The summary line the daemon prints for a call (docs/hypercall-boundary.md).
std::string Summary(const std::string& call, pid_t pid, const std::string& result) {
  return "(XEN) hypercall " + call + " from pid " + std::to_string(pid) + ": " + result;
}

// A libxencall handle with hypercall buffers.
class Client {
 public:
  Client() : handle_(xencall_open(nullptr, 0)) {}
  ~Client() {
    for (void* p : buffers_) xencall_free_buffer(handle_, p);
    xencall_close(handle_);
  }
  xencall_handle* handle() const { return handle_; }

  template <typename T>
  T* Put(const T& value) {
    void* p = xencall_alloc_buffer(handle_, sizeof value);
    buffers_.push_back(p);
    std::memcpy(p, &value, sizeof value);
    return static_cast<T*>(p);
  }
  uint64_t PutBytes(const Bytes& bytes) {
    if (bytes.empty()) return 0;
    void* p = xencall_alloc_buffer(handle_, bytes.size());
    buffers_.push_back(p);
    std::memcpy(p, bytes.data(), bytes.size());
    return reinterpret_cast<uint64_t>(p);
  }

  // The hypercall as libxenctrl issues it: rc, or -errno.
  long Call(unsigned op, uint64_t a1 = 0, uint64_t a2 = 0) {
    errno = 0;
    const int rc = xencall2(handle_, op, a1, a2);
    return rc < 0 ? -errno : rc;
  }

  long Status(uint8_t type = KEXEC_TYPE_DEFAULT) {
    xen_kexec_status_t* s = Put(xen_kexec_status_t{type});
    return Call(kKexecOp, KEXEC_CMD_kexec_status, reinterpret_cast<uint64_t>(s));
  }

  long FileLoad(const Bytes& kernel, xen_kexec_file_load_t* out = nullptr, uint64_t kernel_handle = 0) {
    xen_kexec_file_load_t arg{};
    arg.type = KEXEC_TYPE_DEFAULT;
    arg.flags = KEXEC_FILE_NO_INITRAMFS;
    arg.kernel = {kernel_handle != 0 ? kernel_handle : PutBytes(kernel), kernel.size()};
    const Bytes cmdline = hvsig::hv::sim::Cmdline("console=ttyS0");
    arg.cmdline = {PutBytes(cmdline), cmdline.size()};
    xen_kexec_file_load_t* p = Put(arg);
    const long rc = Call(kKexecOp, KEXEC_CMD_kexec_file_load, reinterpret_cast<uint64_t>(p));
    if (out != nullptr) *out = *p;
    return rc;
  }

 private:
  xencall_handle* handle_;
  std::vector<void*> buffers_;
};

// A page of this process no access reaches: reserved PROT_NONE (not unmapped, so no later
// allocation can land there), kept for the life of the test.
uint64_t InaccessiblePage() {
  return reinterpret_cast<uint64_t>(
      mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
}

// ---- the daemon through Debian's libxenctrl ----------------------------------------------

TEST(HypervisorDaemon, XenctrlCallsAnswerAndLog) {
  Daemon daemon({"--memory", "6G", "--cpus", "3", "--crash-region", "512M:256M"});
  ASSERT_EQ(daemon.Start(), -1);
  const auto probe = RunCommand("env LD_LIBRARY_PATH=" HVSIG_XEN_LIB_DIR " " HVSIG_XENCTRL_PROBE);
  ASSERT_EQ(probe.exit_code, 0) << probe.out << daemon.Console();
  std::map<std::string, std::string> lines;
  std::vector<std::string> e820;
  std::istringstream in(probe.out);
  for (std::string line; std::getline(in, line);) {
    const std::string key = line.substr(0, line.find(' '));
    if (key == "e820") {
      e820.push_back(line.substr(5));
    } else {
      lines[key] = line.substr(line.find(' ') + 1);
    }
  }
  const pid_t pid = std::stoi(lines["pid"]);
  EXPECT_EQ(lines["capabilities"], std::string("rc=0 value=") + hvsig::hv::xen_identity::kCapabilities);
  EXPECT_EQ(lines["version"], "rc=262161 major=4 minor=17");
  EXPECT_EQ(lines["extraversion"], std::string("rc=0 value=") + hvsig::hv::xen_identity::kExtraVersion);
  EXPECT_EQ(lines["get_range"], "rc=0 start=" + std::to_string(512 * kMiB) + " size=" +
                                    std::to_string(256 * kMiB));
  EXPECT_EQ(lines["status"], "rc=0");
  // RAM: 0x9fc00 bytes below the EBDA, 1 MiB..3 GiB, and 3 GiB from 4 GiB up.
  const uint64_t ram = 0x9fc00 + (3 * kGiB - kMiB) + 3 * kGiB;
  EXPECT_EQ(lines["physinfo"], "rc=0 nr_cpus=3 max_cpu_id=2 total_pages=" + std::to_string(ram / 4096));
  EXPECT_EQ(lines["memory_map"], "rc=6");
  const std::vector<std::string> expected_e820 = {
      "0 654336 1",
      "654336 1024 2",
      "983040 65536 2",
      std::to_string(kMiB) + " " + std::to_string(3 * kGiB - kMiB) + " 1",
      std::to_string(0xffc00000ull) + " " + std::to_string(4 * kMiB) + " 2",
      std::to_string(4 * kGiB) + " " + std::to_string(3 * kGiB) + " 1",
  };
  EXPECT_EQ(e820, expected_e820);

  const std::string log = daemon.Log();
  EXPECT_EQ(CountLines(log, Summary("xen_version(XENVER_capabilities)", pid, "0")), 1u) << log;
  EXPECT_EQ(CountLines(log, Summary("xen_version(XENVER_version)", pid, "262161")), 1u) << log;
  EXPECT_EQ(CountLines(log, Summary("xen_version(XENVER_extraversion)", pid, "0")), 1u) << log;
  EXPECT_EQ(CountLines(log, Summary("kexec_op(KEXEC_CMD_kexec_get_range)", pid, "0")), 1u) << log;
  EXPECT_EQ(CountLines(log, Summary("kexec_op(KEXEC_CMD_kexec_status)", pid, "0")), 1u) << log;
  EXPECT_EQ(CountLines(log, Summary("sysctl(XEN_SYSCTL_physinfo)", pid, "0")), 1u) << log;
  // libxenctrl issues memory_op as a one-entry multicall: both are logged.
  EXPECT_EQ(CountLines(log, Summary("memory_op(XENMEM_machine_memory_map)", pid, "0")), 1u) << log;
  EXPECT_EQ(CountLines(log, Summary("multicall(1)", pid, "0")), 1u) << log;
  EXPECT_EQ(CountLines(log, "(XEN) hypercall "), 8u) << log;
  EXPECT_EQ(daemon.Stop(), 0);
  EXPECT_NE(access(daemon.socket().c_str(), F_OK), 0) << "the socket outlived the daemon";
}

TEST(HypervisorDaemon, ExportedSymbolVersionsMatchTheXenLibraries) {
  for (const char* lib : {"libxencall.so.1", "libxenforeignmemory.so.1", "libxendevicemodel.so.1"}) {
    // Defined dynamic symbols with their version: "VERS_1.x name".
    const std::string list = " | awk '$2 == \"g\" {print $(NF-1), $NF}' | sort";
    const auto debian = RunCommand(std::string("objdump -T /lib/x86_64-linux-gnu/") + lib + list);
    const auto ours = RunCommand(std::string("objdump -T " HVSIG_XEN_LIB_DIR "/") + lib + list);
    ASSERT_EQ(debian.exit_code, 0);
    ASSERT_EQ(ours.exit_code, 0);
    EXPECT_NE(debian.out.find("VERS_1."), std::string::npos) << lib;
    EXPECT_EQ(ours.out, debian.out) << lib;
    const auto soname = RunCommand(std::string("objdump -p " HVSIG_XEN_LIB_DIR "/") + lib +
                                   " | awk '$1 == \"SONAME\" {print $2}'");
    EXPECT_EQ(hvsig::test::Trim(soname.out), lib);
  }
}

// ---- file-load through libxencall --------------------------------------------------------

TEST(HypervisorDaemon, DebianKernelFileLoadAcceptedTamperedRejected) {
  Daemon daemon({"--secure-boot", "on", "--db", DebianCa()});
  ASSERT_EQ(daemon.Start(), -1);
  const Bytes kernel = hvsig::test::ReadFile(DebianKernel());
  Client client;
  ASSERT_NE(client.handle(), nullptr);
  const pid_t pid = getpid();

  xen_kexec_file_load_t out{};
  EXPECT_EQ(client.FileLoad(kernel, &out), 0);
  EXPECT_EQ(out.magic, XEN_KEXEC_FILE_MAGIC);
  EXPECT_EQ(out.verdict, XEN_KEXEC_FILE_VERDICT_TRUSTED);
  EXPECT_EQ(CountLines(daemon.Log(), Summary("kexec_op(KEXEC_CMD_kexec_file_load)", pid, "0")), 1u)
      << daemon.Log();

  Bytes tampered = kernel;
  tampered[tampered.size() / 2] ^= 0xff;
  EXPECT_EQ(client.FileLoad(tampered, &out), -EKEYREJECTED);
  EXPECT_EQ(out.verdict, XEN_KEXEC_FILE_VERDICT_REJECTED);
  const std::string log = daemon.Log();
  EXPECT_EQ(CountLines(log, Summary("kexec_op(KEXEC_CMD_kexec_file_load)", pid, "-EKEYREJECTED")), 1u)
      << log;
  EXPECT_EQ(CountLines(log, "(XEN) kexec: file_load: default image refused"), 1u) << log;
  // The model's line for the refusal comes before the call's summary.
  EXPECT_LT(log.find("(XEN) kexec: file_load: default image refused"),
            log.find(Summary("kexec_op(KEXEC_CMD_kexec_file_load)", pid, "-EKEYREJECTED")));
}

TEST(HypervisorDaemon, DebianKernelVouchedForByTheMachineKeyring) {
  Daemon daemon({"--mok", DebianCa()});
  ASSERT_EQ(daemon.Start(), -1);
  Client client;
  xen_kexec_file_load_t out{};
  EXPECT_EQ(client.FileLoad(hvsig::test::ReadFile(DebianKernel()), &out), 0) << daemon.Log();
  EXPECT_EQ(out.verdict, XEN_KEXEC_FILE_VERDICT_TRUSTED);
  EXPECT_EQ(out.keyring, XEN_KEXEC_FILE_KEYRING_MACHINE);
  EXPECT_NE(daemon.Log().find("machine 1,"), std::string::npos) << daemon.Log();
}

TEST(HypervisorDaemon, DebianKernelStatusAfterTwoLoadsSaysLoaded) {
  Daemon daemon({"--db", DebianCa()});
  ASSERT_EQ(daemon.Start(), -1);
  const Bytes kernel = hvsig::test::ReadFile(DebianKernel());
  Client client;
  ASSERT_EQ(client.FileLoad(kernel), 0);
  ASSERT_EQ(client.FileLoad(kernel), 0);
  EXPECT_EQ(client.Status(), 1);
  const std::string log = daemon.Log();
  EXPECT_EQ(CountLines(log, Summary("kexec_op(KEXEC_CMD_kexec_file_load)", getpid(), "0")), 2u) << log;
  EXPECT_EQ(CountLines(log, Summary("kexec_op(KEXEC_CMD_kexec_status)", getpid(), "1")), 1u) << log;
}

// ---- the guest-memory boundary -----------------------------------------------------------

TEST(HypervisorDaemon, BadGuestPointersAreEfaultAndTheDaemonGoesOn) {
  Daemon daemon({"--secure-boot", "off", "--mode", "off"});
  ASSERT_EQ(daemon.Start(), -1);
  Client client;
  ASSERT_NE(client.handle(), nullptr);
  const uint64_t kernel_half = 0xffff888000000000ull;
  const uint64_t non_canonical = 0x0000900000000000ull;
  const uint64_t inaccessible = InaccessiblePage();
  for (uint64_t bad : {uint64_t{0x10}, kernel_half, non_canonical, inaccessible}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(client.Call(kKexecOp, KEXEC_CMD_kexec_status, bad), -EFAULT);
    EXPECT_EQ(client.Call(kXenVersion, kXenverCapabilities, bad), -EFAULT);
    EXPECT_EQ(client.Call(kSysctl, bad), -EFAULT);
    EXPECT_EQ(client.Call(kMemoryOp, XENMEM_machine_memory_map, bad), -EFAULT);
  }
  // A structure that runs off the end of its page into an inaccessible one.
  uint8_t* two = static_cast<uint8_t*>(
      mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  mprotect(two + 4096, 4096, PROT_NONE);
  EXPECT_EQ(client.Call(kKexecOp, KEXEC_CMD_kexec_get_range, reinterpret_cast<uint64_t>(two + 4090)),
            -EFAULT);
  // A file-load whose argument is fine but whose kernel handle is not.
  const Bytes kernel = hvsig::hv::test::MinimalBzImage();
  EXPECT_EQ(client.FileLoad(kernel, nullptr, 0x10), -EFAULT);
  EXPECT_EQ(client.FileLoad(kernel, nullptr, inaccessible), -EFAULT);
  // A machine memory map whose buffer is bad.
  struct {
    uint32_t nr_entries;
    uint32_t pad;
    uint64_t buffer;
  } map{64, 0, kernel_half};
  EXPECT_EQ(client.Call(kMemoryOp, XENMEM_machine_memory_map, reinterpret_cast<uint64_t>(client.Put(map))),
            -EFAULT);

  EXPECT_EQ(client.Call(kXenVersion, kXenverVersion), 0x40011);
  EXPECT_EQ(client.FileLoad(kernel), 0) << daemon.Log();
  const std::string log = daemon.Log();
  EXPECT_EQ(CountLines(log, Summary("kexec_op(KEXEC_CMD_kexec_file_load)", getpid(), "-EFAULT")), 2u) << log;
  EXPECT_EQ(CountLines(log, Summary("kexec_op(KEXEC_CMD_kexec_status)", getpid(), "-EFAULT")), 4u) << log;
  EXPECT_EQ(CountLines(log, Summary("memory_op(XENMEM_machine_memory_map)", getpid(), "-EFAULT")), 5u)
      << log;
  EXPECT_EQ(CountLines(log, Summary("sysctl(?)", getpid(), "-EFAULT")), 4u) << log;
  EXPECT_EQ(CountLines(log, Summary("kexec_op(KEXEC_CMD_kexec_file_load)", getpid(), "0")), 1u) << log;
}

// ---- clients that die --------------------------------------------------------------------

TEST(HypervisorDaemon, SurvivesAClientKilledWhileConnected) {
  Daemon daemon;
  ASSERT_EQ(daemon.Start(), -1);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  if (child == 0) {
    xencall_handle* h = xencall_open(nullptr, 0);
    const char c = h != nullptr ? 'y' : 'n';
    (void)!write(ready[1], &c, 1);
    pause();
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  EXPECT_EQ(c, 'y');
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  Client client;
  EXPECT_EQ(client.Call(kXenVersion, kXenverVersion), 0x40011);
  EXPECT_EQ(CountLines(daemon.Log(), Summary("xen_version(XENVER_version)", getpid(), "0x40011")), 0u);
  EXPECT_EQ(CountLines(daemon.Log(), Summary("xen_version(XENVER_version)", getpid(), "262161")), 1u);
}

TEST(HypervisorDaemon, SurvivesAClientKilledInTheMiddleOfAFileLoad) {
  Daemon daemon({"--secure-boot", "off", "--mode", "off"});
  ASSERT_EQ(daemon.Start(), -1);
  int sent[2];
  ASSERT_EQ(pipe(sent), 0);
  const pid_t child = fork();
  if (child == 0) {
    // 128 MiB of kernel for the daemon to copy out of us while we die. The request goes out on
    // the wire directly, so the parent knows it was sent before it kills us.
    const size_t size = 128u << 20;
    auto* kernel = static_cast<uint8_t*>(
        mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    std::memset(kernel, 0x90, size);
    static xen_kexec_file_load_t arg{};
    arg.type = KEXEC_TYPE_DEFAULT;
    arg.flags = KEXEC_FILE_NO_INITRAMFS;
    arg.kernel = {reinterpret_cast<uint64_t>(kernel), size};
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, daemon.socket().c_str());
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) _exit(1);
    hvsig_wire_request request{HVSIG_WIRE_REQUEST_MAGIC, HVSIG_WIRE_VERSION, kKexecOp,
                               {KEXEC_CMD_kexec_file_load, reinterpret_cast<uint64_t>(&arg), 0, 0, 0}};
    if (write(fd, &request, sizeof request) != sizeof request) _exit(1);
    (void)!write(sent[1], "s", 1);
    pause();
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(read(sent[0], &c, 1), 1);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  // The op runs to its end (with whatever the dead caller's memory gave) and is logged.
  EXPECT_TRUE(daemon.WaitForLine(Summary("kexec_op(KEXEC_CMD_kexec_file_load)", child, "")))
      << daemon.Log();
  Client client;
  EXPECT_EQ(client.Status(), 0);
  EXPECT_EQ(client.FileLoad(hvsig::hv::test::MinimalBzImage()), 0);
  EXPECT_EQ(client.Status(), 1);
  EXPECT_EQ(CountLines(daemon.Log(), Summary("kexec_op(KEXEC_CMD_kexec_status)", getpid(), "1")), 1u);
}

TEST(HypervisorDaemon, CallsAfterTheDaemonDiedFailWithEio) {
  Daemon daemon;
  ASSERT_EQ(daemon.Start(), -1);
  Client client;
  ASSERT_NE(client.handle(), nullptr);
  ASSERT_EQ(client.Call(kXenVersion, kXenverVersion), 0x40011);
  ASSERT_EQ(daemon.Stop(), 0);
  EXPECT_EQ(client.Call(kXenVersion, kXenverVersion), -EIO);
  // A new handle cannot reach it either.
  errno = 0;
  EXPECT_EQ(xencall_open(nullptr, 0), nullptr);
  EXPECT_TRUE(errno == ENOENT || errno == ECONNREFUSED) << errno;
}

// ---- the wire and unknown hypercalls -----------------------------------------------------

TEST(HypervisorDaemon, UnknownHypercallsAreEnosys) {
  Daemon daemon;
  ASSERT_EQ(daemon.Start(), -1);
  Client client;
  EXPECT_EQ(client.Call(99, 7), -ENOSYS);
  EXPECT_EQ(client.Call(kMemoryOp, 0 /* XENMEM_increase_reservation */, 0), -ENOSYS);
  EXPECT_EQ(client.Call(kXenVersion, 42, 0), -ENOSYS);
  xen_sysctl_t sysctl{};
  sysctl.cmd = 1;  // XEN_SYSCTL_readconsole
  sysctl.interface_version = XEN_SYSCTL_INTERFACE_VERSION;
  EXPECT_EQ(client.Call(kSysctl, reinterpret_cast<uint64_t>(client.Put(sysctl))), -ENOSYS);
  sysctl.cmd = XEN_SYSCTL_physinfo;
  sysctl.interface_version = XEN_SYSCTL_INTERFACE_VERSION - 1;
  EXPECT_EQ(client.Call(kSysctl, reinterpret_cast<uint64_t>(client.Put(sysctl))), -EACCES);
  const std::string log = daemon.Log();
  EXPECT_EQ(CountLines(log, Summary("hypercall_99(7)", getpid(), "-ENOSYS")), 1u) << log;
  EXPECT_EQ(CountLines(log, Summary("memory_op(0)", getpid(), "-ENOSYS")), 1u) << log;
  EXPECT_EQ(CountLines(log, Summary("xen_version(42)", getpid(), "-ENOSYS")), 1u) << log;
  EXPECT_EQ(CountLines(log, Summary("sysctl(1)", getpid(), "-ENOSYS")), 1u) << log;
  EXPECT_EQ(CountLines(log, Summary("sysctl(XEN_SYSCTL_physinfo)", getpid(), "-EACCES")), 1u) << log;
}

TEST(HypervisorDaemon, MalformedRequestsCloseTheConnectionOnly) {
  Daemon daemon;
  ASSERT_EQ(daemon.Start(), -1);
  const auto send_raw = [&](const void* data, size_t length) {
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, daemon.socket().c_str());
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(write(fd, data, length), static_cast<ssize_t>(length));
    shutdown(fd, SHUT_WR);
    char reply[64];
    const ssize_t n = read(fd, reply, sizeof reply);  // the daemon closes without a reply
    close(fd);
    return n;
  };
  hvsig_wire_request request{HVSIG_WIRE_REQUEST_MAGIC, HVSIG_WIRE_VERSION, kXenVersion, {0, 0, 0, 0, 0}};
  request.magic ^= 1;
  EXPECT_EQ(send_raw(&request, sizeof request), 0);
  request.magic ^= 1;
  request.version = 2;
  EXPECT_EQ(send_raw(&request, sizeof request), 0);
  request.version = HVSIG_WIRE_VERSION;
  EXPECT_EQ(send_raw(&request, sizeof request / 2), 0);
  const std::string pid = std::to_string(getpid());
  std::string log = daemon.Log();
  EXPECT_EQ(CountLines(log, "malformed request from pid " + pid + " (bad magic): connection closed"), 1u) << log;
  EXPECT_EQ(CountLines(log, "malformed request from pid " + pid + " (unsupported version)"), 1u) << log;
  EXPECT_EQ(CountLines(log, "malformed request from pid " + pid + " (truncated request)"), 1u) << log;
  EXPECT_EQ(CountLines(log, "(XEN) hypercall "), 0u) << log;
  // A well-formed request on a raw connection gets its reply.
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, daemon.socket().c_str());
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(write(fd, &request, sizeof request), static_cast<ssize_t>(sizeof request));
  hvsig_wire_reply reply{};
  ASSERT_EQ(read(fd, &reply, sizeof reply), static_cast<ssize_t>(sizeof reply));
  close(fd);
  EXPECT_EQ(reply.magic, HVSIG_WIRE_REPLY_MAGIC);
  EXPECT_EQ(reply.rc, 0x40011);
}

// ---- many clients ------------------------------------------------------------------------

TEST(HypervisorDaemon, ConcurrentClientsAreAllServedAndLoggedOnce) {
  Daemon daemon({"--secure-boot", "off", "--mode", "enforce"});
  ASSERT_EQ(daemon.Start(), -1);
  constexpr int kThreads = 6;
  constexpr int kRounds = 10;
  const Bytes not_a_kernel(64 << 10, 0x90);  // refused by the verifier: one model line each
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      Client client;
      for (int i = 0; i < kRounds; ++i) {
        if (client.Call(kXenVersion, kXenverVersion) != 0x40011) ++wrong;
        if (client.Status() != 0) ++wrong;
        if (client.FileLoad(not_a_kernel) >= 0) ++wrong;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  const std::string log = daemon.Log();
  const size_t calls = kThreads * kRounds;
  EXPECT_EQ(CountLines(log, Summary("xen_version(XENVER_version)", getpid(), "262161")), calls);
  EXPECT_EQ(CountLines(log, Summary("kexec_op(KEXEC_CMD_kexec_status)", getpid(), "0")), calls);
  EXPECT_EQ(CountLines(log, Summary("kexec_op(KEXEC_CMD_kexec_file_load)", getpid(), "-E")), calls);
  EXPECT_EQ(CountLines(log, "(XEN) kexec: file_load: default image refused"), calls) << log;
  EXPECT_EQ(CountLines(log, "(XEN) hypercall "), 3 * calls);
}

// ---- fork and the handoff ----------------------------------------------------------------

TEST(HypervisorDaemon, AForkedChildIsItsOwnCaller) {
  Daemon daemon;
  ASSERT_EQ(daemon.Start(), -1);
  Client client;
  ASSERT_EQ(client.Call(kXenVersion, kXenverVersion), 0x40011);
  xen_kexec_status_t* status = client.Put(xen_kexec_status_t{KEXEC_TYPE_DEFAULT});
  const pid_t child = fork();
  if (child == 0) {
    // The child's memory: the daemon must read the buffer from the child, not the parent.
    const int rc = xencall2(client.handle(), kKexecOp, KEXEC_CMD_kexec_status,
                            reinterpret_cast<uint64_t>(status));
    _exit(rc == 0 ? 0 : 1);
  }
  int wait_status = 0;
  waitpid(child, &wait_status, 0);
  EXPECT_TRUE(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0);
  EXPECT_EQ(client.Call(kXenVersion, kXenverVersion), 0x40011);
  const std::string log = daemon.Log();
  EXPECT_EQ(CountLines(log, Summary("kexec_op(KEXEC_CMD_kexec_status)", child, "0")), 1u) << log;
  EXPECT_EQ(CountLines(log, Summary("xen_version(XENVER_version)", getpid(), "262161")), 2u) << log;
}

TEST(HypervisorDaemon, KexecHandsOffAndTheMachineReboots) {
  Daemon daemon({"--secure-boot", "off", "--mode", "off"});
  ASSERT_EQ(daemon.Start(), -1);
  Client client;
  ASSERT_EQ(client.FileLoad(hvsig::hv::test::MinimalBzImage()), 0);
  ASSERT_EQ(client.Status(), 1);
  xen_kexec_exec_t* exec = client.Put(xen_kexec_exec_t{KEXEC_TYPE_DEFAULT});
  EXPECT_EQ(client.Call(kKexecOp, KEXEC_CMD_kexec, reinterpret_cast<uint64_t>(exec)), 0);
  EXPECT_EQ(client.Status(), 0);  // a fresh machine: nothing loaded
  const std::string log = daemon.Log();
  EXPECT_EQ(CountLines(log, Summary("kexec_op(KEXEC_CMD_kexec)", getpid(), "0")), 1u) << log;
  EXPECT_EQ(CountLines(log, "(XEN) hvsig-hypervisor: kexec handoff: default image load #1, kernel sha256 "),
            1u) << log;
  EXPECT_EQ(CountLines(log, "the machine now runs image #1"), 1u) << log;
  EXPECT_EQ(CountLines(log, "(XEN) hvsig-hypervisor: boot #2:"), 1u) << log;
  // Order: the exec's summary, the handoff, the new boot, then the next op.
  EXPECT_LT(log.find(Summary("kexec_op(KEXEC_CMD_kexec)", getpid(), "0")), log.find("kexec handoff"));
  EXPECT_LT(log.find("kexec handoff"), log.find("boot #2:"));
  EXPECT_LT(log.find("boot #2:"), log.find(Summary("kexec_op(KEXEC_CMD_kexec_status)", getpid(), "0")));
}

// ---- the command line --------------------------------------------------------------------

TEST(HypervisorDaemon, CommandLineErrors) {
  {
    Daemon daemon({"--mode", "bogus"});
    EXPECT_EQ(daemon.Start(), 2);
  }
  {
    Daemon daemon({"--memory", "lots"});
    EXPECT_EQ(daemon.Start(), 2);
  }
  {
    Daemon daemon({"--memory", "1G", "--crash-region", "2G:256M"});
    EXPECT_EQ(daemon.Start(), 1);
    EXPECT_NE(daemon.Console().find("Kexec boot error: crashkernel region is not inside one RAM range"),
              std::string::npos) << daemon.Console();
  }
  {
    Daemon daemon({"--db", "/nonexistent/db.der"});
    EXPECT_EQ(daemon.Start(), 2);
  }
}

TEST(HypervisorDaemon, RefusesALiveSocketAndReplacesAStaleOne) {
  Daemon first;
  ASSERT_EQ(first.Start(), -1);
  {
    // A second daemon on the same socket.
    const auto second = RunCommand(std::string(HVSIG_HYPERVISOR) + " --socket " + first.socket());
    EXPECT_EQ(second.exit_code, 1);
    EXPECT_NE(second.out.find("another hypervisor is already serving"), std::string::npos) << second.out;
  }
  Client client;
  EXPECT_EQ(client.Call(kXenVersion, kXenverVersion), 0x40011);

  // A socket file nobody listens on (its daemon crashed).
  Daemon stale;
  const std::string dir = stale.socket().substr(0, stale.socket().rfind('/'));
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, stale.socket().c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  close(fd);
  ASSERT_EQ(stale.Start(), -1);
  Client second_client;
  EXPECT_EQ(second_client.Call(kXenVersion, kXenverVersion), 0x40011);
  EXPECT_NE(stale.Log().find("replacing the stale socket"), std::string::npos);
}

TEST(HypervisorDaemon, RsaKeysAreParsedAtStart) {
  Daemon daemon;
  const std::string dir = daemon.dir();
  ASSERT_EQ(RunCommand("cd " + dir + " && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
                       "-out key.pem 2>/dev/null && openssl pkey -in key.pem -pubout -out spki.pem && "
                       "openssl rsa -in key.pem -RSAPublicKey_out -out pkcs1.pem 2>/dev/null && "
                       "openssl pkey -in key.pem -pubout -outform DER -out spki.der")
                .exit_code,
            0);
  Daemon with_keys({"--rsa-key", dir + "/spki.pem", "--rsa-key", dir + "/pkcs1.pem", "--rsa-key",
                    dir + "/spki.der"});
  ASSERT_EQ(with_keys.Start(), -1);
  EXPECT_NE(with_keys.Log().find("3 raw RSA key(s) for livepatch"), std::string::npos) << with_keys.Log();

  hvsig::test::WriteFile(dir + "/garbage.pem", hvsig::test::BytesOf("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"));
  Daemon bad({"--rsa-key", dir + "/garbage.pem"});
  EXPECT_EQ(bad.Start(), 1);
  EXPECT_NE(bad.Console().find("garbage.pem"), std::string::npos) << bad.Console();
}

// ---- machine description -----------------------------------------------------------------

TEST(HypervisorMachine, SizesAndRegions) {
  uint64_t v = 0;
  EXPECT_TRUE(hvsig::hypervisor::ParseSize("4G", v));
  EXPECT_EQ(v, 4 * kGiB);
  EXPECT_TRUE(hvsig::hypervisor::ParseSize("512M", v));
  EXPECT_EQ(v, 512 * kMiB);
  EXPECT_TRUE(hvsig::hypervisor::ParseSize("64K", v));
  EXPECT_EQ(v, 64u << 10);
  EXPECT_TRUE(hvsig::hypervisor::ParseSize("0x1000000", v));
  EXPECT_EQ(v, 0x1000000u);
  EXPECT_TRUE(hvsig::hypervisor::ParseSize("123", v));
  EXPECT_EQ(v, 123u);
  for (const char* bad : {"", "G", "-1", "4X", "1.5G", "99999999999999G", "4 G"}) {
    EXPECT_FALSE(hvsig::hypervisor::ParseSize(bad, v)) << bad;
  }
  hvsig::hv::MemoryRange r;
  EXPECT_TRUE(hvsig::hypervisor::ParseRegion("0x20000000:256M", r));
  EXPECT_EQ(r.start, 0x20000000u);
  EXPECT_EQ(r.size, 256 * kMiB);
  EXPECT_FALSE(hvsig::hypervisor::ParseRegion("512M", r));
  EXPECT_FALSE(hvsig::hypervisor::ParseRegion("512M:0", r));
  EXPECT_FALSE(hvsig::hypervisor::ParseRegion("0xffffffffffff0000:1M", r));
}

TEST(HypervisorMachine, SmallMachinesHaveNoHighRam) {
  const auto map = hvsig::hypervisor::PcMemoryMap(1 * kGiB);
  ASSERT_EQ(map.size(), 5u);
  EXPECT_EQ(map[3].start, kMiB);
  EXPECT_EQ(map[3].start + map[3].size, 1 * kGiB);
  EXPECT_EQ(hvsig::hypervisor::RamBytes(map), 0x9fc00 + 1 * kGiB - kMiB);
}

}  // namespace
