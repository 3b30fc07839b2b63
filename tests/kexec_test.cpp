// hvsig-kexec: its kexec-tools command line (parsed in process), the command-line reuse rules,
// the paths no modelled hypervisor takes (a stand-in libxencall.so.1), and end to end against
// hvsig-hypervisor through our libxencall.so.1. Every end-to-end assertion also finds the
// daemon's summary line for the call, from the pid of the hvsig-kexec process that made it,
// so a result that never reached the model cannot pass. The oracles for what the tool prints
// are `hvsig digest` (the kernel's Authenticode digest) and OpenSSL's PKCS#7 parser (the signer).
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "authenticode_support.h"
#include "test_support.h"
#include "tools/kexec/options.h"

extern char** environ;

namespace hvsig::test {
namespace {

namespace fs = std::filesystem;
using kexec_cli::Action;
using kexec_cli::LoadPath;

const std::string kTool = HVSIG_KEXEC_TOOL;
const std::string kHvsig = HVSIG_TOOL;
const std::string kHypervisor = HVSIG_HYPERVISOR;  // "" when the target is not in this tree
const std::string kDom0 = HVSIG_DOM0;              // "" likewise
const std::string kXenLibDir = HVSIG_XEN_LIB_DIR;
const std::string kFakeXenLibDir = HVSIG_FAKE_XEN_LIB_DIR;

std::string Kernel() { return std::string(HVSIG_TEST_CACHE) + "/authenticode/vmlinuz"; }
std::string DebianCa() { return std::string(HVSIG_TEST_CACHE) + "/authenticode/debian-uefi-ca.der"; }

// A private directory per test process, removed at exit.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "hvsig-kexec-test.XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// ---- Command line, in process -------------------------------------------------------------

kexec_cli::ParseOutcome Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "hvsig-kexec");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return kexec_cli::ParseCommandLine(static_cast<int>(argv.size()), argv.data());
}

class KexecOptions : public ::testing::Test {
 protected:
  void SetUp() override {
    kernel_ = dir_ / "vmlinuz";
    initrd_ = dir_ / "initrd";
    sig_ = dir_ / "initrd.p7s";
    for (const std::string& f : {kernel_, initrd_, sig_}) WriteFile(f, BytesOf("x"));
  }
  TempDir dir_;
  std::string kernel_, initrd_, sig_;
};

TEST_F(KexecOptions, KexecToolsLoadSpellings) {
  // -l FILE, and the kernel as kexec-tools' positional argument after other options.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"-l", kernel_, "--initrd=" + initrd_, "--append", "console=ttyS0 quiet"},
        std::vector<std::string>{"-s", "-l", "--ramdisk", initrd_, "--command-line=console=ttyS0 quiet", kernel_},
        std::vector<std::string>{"--load", kernel_, "--initrd", initrd_, "--append=console=ttyS0 quiet"}}) {
    const kexec_cli::ParseOutcome parsed = Parse(args);
    ASSERT_TRUE(parsed.options.has_value()) << args[0];
    const kexec_cli::Options& o = *parsed.options;
    EXPECT_EQ(o.action, Action::Load);
    EXPECT_FALSE(o.crash);
    EXPECT_EQ(o.path, LoadPath::File);
    EXPECT_FALSE(o.native);
    EXPECT_EQ(o.kernel, kernel_);
    EXPECT_EQ(o.initrd.value_or(""), initrd_);
    EXPECT_EQ(o.append.value_or(""), "console=ttyS0 quiet");
    EXPECT_FALSE(o.initrd_sig.has_value());
  }
}

TEST_F(KexecOptions, PanicLegacySignatureAndNative) {
  kexec_cli::ParseOutcome p = Parse({"-p", kernel_, "-c", "--reuse-cmdline"});
  ASSERT_TRUE(p.options.has_value());
  EXPECT_EQ(p.options->action, Action::Load);
  EXPECT_TRUE(p.options->crash);
  EXPECT_EQ(p.options->path, LoadPath::Legacy);
  EXPECT_TRUE(p.options->reuse_cmdline);

  p = Parse({"-l", kernel_, "--initrd", initrd_, "--initrd-sig", sig_});
  ASSERT_TRUE(p.options.has_value());
  EXPECT_EQ(p.options->initrd_sig.value_or(""), sig_);

  p = Parse({"--native", "-l", kernel_});
  ASSERT_TRUE(p.options.has_value());
  EXPECT_TRUE(p.options->native);
}

TEST_F(KexecOptions, UnloadExecStatusTakeTheSlotFromP) {
  const struct {
    std::vector<std::string> args;
    Action action;
    bool crash;
    LoadPath path;
  } cases[] = {
      {{"-u"}, Action::Unload, false, LoadPath::File},
      {{"-p", "-u"}, Action::Unload, true, LoadPath::File},
      {{"-c", "-u"}, Action::Unload, false, LoadPath::Legacy},
      {{"-S"}, Action::Status, false, LoadPath::File},
      {{"--status", "-p"}, Action::Status, true, LoadPath::File},
      {{"-e"}, Action::Exec, false, LoadPath::File},
      {{"-pS"}, Action::Status, true, LoadPath::File},
  };
  for (const auto& c : cases) {
    const kexec_cli::ParseOutcome p = Parse(c.args);
    ASSERT_TRUE(p.options.has_value()) << c.args[0];
    EXPECT_EQ(p.options->action, c.action) << c.args[0];
    EXPECT_EQ(p.options->crash, c.crash) << c.args[0];
    EXPECT_EQ(p.options->path, c.path) << c.args[0];
  }
}

TEST_F(KexecOptions, UsageErrorsExitTwo) {
  const std::vector<std::vector<std::string>> cases = {
      {},                                          // nothing to do
      {"-l"},                                      // no kernel
      {kernel_},                                   // a kernel without -l/-p
      {"-l", kernel_, "-p"},                       // two slots
      {"-l", kernel_, "-u"},                       // load and unload
      {"-u", "-S"},                                // two actions
      {"-u", kernel_},                             // a kernel for unload
      {"-s", "-c", "-l", kernel_},                 // both paths
      {"-l", kernel_, "--initrd-sig", sig_},       // signature without initrd
      {"-c", "-l", kernel_, "--initrd", initrd_, "--initrd-sig", sig_},
      {"--native", "-c", "-l", kernel_},
      {"--native", "-l", kernel_, "--initrd", initrd_, "--initrd-sig", sig_},
      {"-l", dir_ / "missing"},                    // no such kernel
      {"-l", kernel_, "--initrd", dir_ / "missing"},
      {"--frobnicate"},
      {"-l", kernel_, "--append"},                 // option without its value
  };
  for (const std::vector<std::string>& args : cases) {
    const kexec_cli::ParseOutcome p = Parse(args);
    EXPECT_FALSE(p.options.has_value()) << (args.empty() ? "(none)" : args.back());
    EXPECT_EQ(p.exit_status, 2) << (args.empty() ? "(none)" : args.back());
  }
}

TEST(KexecCmdline, ReuseDropsBootImageAndForCrashCrashkernel) {
  const std::string proc = "BOOT_IMAGE=/boot/vmlinuz-6.1 root=/dev/vda1 ro crashkernel=256M quiet\n";
  EXPECT_EQ(kexec_cli::ReusedCommandLine(proc, false), "root=/dev/vda1 ro crashkernel=256M quiet");
  EXPECT_EQ(kexec_cli::ReusedCommandLine(proc, true), "root=/dev/vda1 ro quiet");
  // remove_parameter() looks at the first occurrence only, and only at a word start; a
  // parameter at the end leaves the space before it.
  EXPECT_EQ(kexec_cli::ReusedCommandLine("root=x XBOOT_IMAGE=1 BOOT_IMAGE=2\n", false),
            "root=x XBOOT_IMAGE=1 BOOT_IMAGE=2");
  EXPECT_EQ(kexec_cli::ReusedCommandLine("root=x crashkernel=1G\n", true), "root=x ");
  EXPECT_EQ(kexec_cli::ReusedCommandLine("a=1\nsecond line\n", false), "a=1");
}

TEST(KexecCmdline, AppendFollowsTheReusedLine) {
  EXPECT_EQ(kexec_cli::ConcatCommandLine(std::string("root=x"), std::string("quiet")), "root=x quiet");
  EXPECT_EQ(kexec_cli::ConcatCommandLine(std::string("root=x"), std::nullopt), "root=x");
  EXPECT_EQ(kexec_cli::ConcatCommandLine(std::nullopt, std::string("quiet")), "quiet");
  EXPECT_EQ(kexec_cli::ConcatCommandLine(std::nullopt, std::nullopt), "");
}

// ---- The tool as a process ----------------------------------------------------------------

struct ToolRun {
  int exit_code = -1;
  pid_t pid = 0;
  std::string out;
  std::string err;
};

// Runs argv[0] with the environment plus `env` ("NAME=value"), stdout and stderr to files.
ToolRun Spawn(const std::vector<std::string>& args, const std::vector<std::string>& env, const TempDir& dir) {
  static int counter = 0;
  const std::string out_path = dir / ("out." + std::to_string(counter));
  const std::string err_path = dir / ("err." + std::to_string(counter++));
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) environment.push_back(*e);
  for (const std::string& e : env) environment.push_back(e);
  std::vector<char*> envp, argv;
  for (std::string& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args_copy = args;
  for (std::string& a : args_copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ToolRun run;
  const int spawned = posix_spawn(&run.pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(spawned, 0) << args[0];
  if (spawned != 0) return run;
  int status = 0;
  waitpid(run.pid, &status, 0);
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  const Bytes out = ReadFile(out_path);
  const Bytes err = ReadFile(err_path);
  run.out.assign(out.begin(), out.end());
  run.err.assign(err.begin(), err.end());
  return run;
}

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(KexecCli, HelpAndVersionExitZero) {
  TempDir dir;
  const ToolRun help = Spawn({kTool, "--help"}, {}, dir);
  EXPECT_EQ(help.exit_code, 0);
  for (const char* option : {"-l", "-p", "-u", "-e", "-S", "-s", "-c", "--initrd", "--append", "--reuse-cmdline",
                             "--initrd-sig", "--native"}) {
    EXPECT_TRUE(Contains(help.out, option)) << option;
  }
  const ToolRun version = Spawn({kTool, "-v"}, {}, dir);
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_TRUE(Contains(version.out, "hvsig-kexec")) << version.out;
}

TEST(KexecCli, UsageExitsTwo) {
  TempDir dir;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{kTool}, {kTool, "-u", "-e"}, {kTool, "--bogus"}, {kTool, "-l"}}) {
    const ToolRun run = Spawn(args, {}, dir);
    EXPECT_EQ(run.exit_code, 2) << args.back() << "\n" << run.err;
  }
}

// Without a usable libxencall (xencall_open fails, as Debian's does without privcmd): ENODEV
// with the library's own message, and no attempt to reach anything else.
TEST(KexecCli, NotADom0IsEnodev) {
  TempDir dir;
  const ToolRun run = Spawn({kTool, "-S"}, {"LD_LIBRARY_PATH=" + kFakeXenLibDir, "HVSIG_FAKE_XENCALL_OPEN_FAIL=1"}, dir);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(Contains(run.err, "hvsig-kexec: ENODEV: not a Xen dom0 (xencall: fake: no privileged command "
                                "interface: No such file or directory); use --native on a non-Xen host"))
      << run.err;
}

// --native -S reads the host kernel's own answer (and loads nothing).
TEST(KexecCli, NativeStatusReadsSysfs) {
  TempDir dir;
  for (const bool crash : {false, true}) {
    const std::string path = crash ? "/sys/kernel/kexec_crash_loaded" : "/sys/kernel/kexec_loaded";
    const ToolRun run = Spawn(crash ? std::vector<std::string>{kTool, "--native", "-p", "-S"}
                                    : std::vector<std::string>{kTool, "--native", "-S"},
                              {}, dir);
    if (!FileExists(path)) {
      EXPECT_EQ(run.exit_code, 1);
      EXPECT_TRUE(Contains(run.err, "hvsig-kexec: ENOENT: cannot read " + path)) << run.err;
      continue;
    }
    const bool loaded = Trim(Shell("cat " + path)) == "1";
    EXPECT_EQ(run.exit_code, loaded ? 0 : 1) << run.out << run.err;
    EXPECT_TRUE(Contains(run.out, loaded ? "image: loaded" : "image: not loaded")) << run.out;
  }
}

// Xen 4.17 answers the unknown op 7 with 0 and writes nothing; later Xen with -EOPNOTSUPP.
// Either way: "lacks the op", exit 1, and never the legacy op instead.
TEST(KexecCli, HypervisorWithoutFileLoad) {
  TempDir dir;
  const std::string kernel = dir / "vmlinuz";
  WriteFile(kernel, BytesOf("not really a kernel"));
  for (const char* rc : {"0", "-95"}) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{kTool, "-l", kernel}, std::vector<std::string>{kTool, "-u"}}) {
      const ToolRun run = Spawn(args, {"LD_LIBRARY_PATH=" + kFakeXenLibDir, std::string("HVSIG_FAKE_XENCALL_RC=") + rc}, dir);
      EXPECT_EQ(run.exit_code, 1) << rc;
      EXPECT_TRUE(Contains(run.err, "hvsig-kexec: EOPNOTSUPP: this hypervisor lacks KEXEC_CMD_kexec_file_load"))
          << rc << "\n" << run.err;
      EXPECT_FALSE(Contains(run.out, "loaded")) << run.out;
    }
  }
}

// ---- End to end: hvsig-hypervisor and our libxencall.so.1 --------------------------------

// The certificates of the kernel's signature as OpenSSL reads them, and which one signed.
struct OpenSslSigner {
  std::string subject;  // RFC 2253, as `openssl x509 -nameopt RFC2253` prints it
  std::string subject_sha256;
  std::string serial;   // lower-case hex magnitude
};

OpenSslSigner SignerByOpenSsl(const std::string& image_path) {
  const Bytes image = ReadFile(image_path);
  const PeFields f = LocateFields(image);
  const uint64_t der_at = uint64_t{f.cert_table_offset} + 8;  // after the WIN_CERTIFICATE header
  const uint8_t* p = image.data() + der_at;
  PKCS7* p7 = d2i_PKCS7(nullptr, &p, static_cast<long>(DerElementLength(image, der_at)));
  OpenSslSigner out;
  EXPECT_NE(p7, nullptr);
  if (p7 == nullptr) return out;
  STACK_OF(X509)* signers = PKCS7_get0_signers(p7, nullptr, 0);
  EXPECT_EQ(sk_X509_num(signers), 1);
  X509* cert = sk_X509_value(signers, 0);
  out.subject = OpenSslSubject(cert);
  unsigned char* name_der = nullptr;
  const int name_length = i2d_X509_NAME(X509_get_subject_name(cert), &name_der);
  uint8_t digest[32];
  unsigned int digest_length = 0;
  EVP_Digest(name_der, static_cast<size_t>(name_length), digest, &digest_length, EVP_sha256(), nullptr);
  OPENSSL_free(name_der);
  out.subject_sha256 = Hex(Input(digest, 32));
  BnPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  out.serial = Hex(In(BnToBytes(serial.get())));
  sk_X509_free(signers);
  PKCS7_free(p7);
  return out;
}

class KexecEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kHypervisor.empty() || !FileExists(kHypervisor) || !FileExists(kXenLibDir + "/libxencall.so.1")) {
      GTEST_SKIP() << "hvsig-hypervisor or build/lib/xen/libxencall.so.1 is not built in this tree";
    }
    ASSERT_TRUE(FileExists(Kernel())) << "the authenticode_binaries fixture did not run";
    socket_ = dir_ / "hypervisor.sock";
    log_ = dir_ / "hypervisor.log";
    initrd_ = dir_ / "initrd.cpio";
    WriteFile(initrd_, BytesOf("070701 a tiny stand-in initramfs"));
  }

  void TearDown() override {
    if (daemon_ > 0) {
      kill(daemon_, SIGTERM);
      int status = 0;
      waitpid(daemon_, &status, 0);
    }
  }

  void StartDaemon(const std::vector<std::string>& policy) {
    std::vector<std::string> args = {kHypervisor, "--socket", socket_, "--log", log_, "--memory", "4G",
                                     "--crash-region", "0x20000000:256M", "--cpus", "2"};
    args.insert(args.end(), policy.begin(), policy.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string console = dir_ / "console";
    posix_spawn_file_actions_addopen(&actions, 1, console.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    ASSERT_EQ(posix_spawn(&daemon_, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    // The socket appears only once the daemon serves.
    for (int i = 0; i < 500 && !FileExists(socket_); ++i) {
      int status = 0;
      ASSERT_EQ(waitpid(daemon_, &status, WNOHANG), 0) << "hvsig-hypervisor exited:\n" << Text(console);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(FileExists(socket_)) << Text(console);
  }

  void StartSecureBoot() { StartDaemon({"--secure-boot", "on", "--db", DebianCa()}); }

  static std::string Text(const std::string& path) {
    const Bytes b = FileExists(path) ? ReadFile(path) : Bytes();
    return std::string(b.begin(), b.end());
  }

  // Runs hvsig-kexec against the daemon; log_lines gets the daemon's log lines it caused.
  ToolRun Kexec(const std::vector<std::string>& args) {
    const size_t before = Text(log_).size();
    std::vector<std::string> argv = {kTool};
    argv.insert(argv.end(), args.begin(), args.end());
    ToolRun run = Spawn(argv, {"LD_LIBRARY_PATH=" + kXenLibDir, "HVSIG_HYPERVISOR_SOCKET=" + socket_}, dir_);
    log_lines_ = Text(log_).substr(before);
    return run;
  }

  // The daemon's one summary line for the call `name` made by `run`, with its result.
  void ExpectHypercall(const ToolRun& run, const std::string& name, const std::string& result) {
    const std::string line = "(XEN) hypercall kexec_op(" + name + ") from pid " + std::to_string(run.pid) + ": " + result + "\n";
    EXPECT_TRUE(Contains(log_lines_, line)) << "missing: " << line << "log:\n" << log_lines_;
  }

  std::string Copy(const std::string& name) {
    const std::string path = dir_ / name;
    fs::copy_file(Kernel(), path, fs::copy_options::overwrite_existing);
    return path;
  }

  TempDir dir_;
  std::string socket_, log_, initrd_;
  std::string log_lines_;
  pid_t daemon_ = 0;
};

TEST_F(KexecEndToEnd, DebianSignedKernelLoadsAndNamesItsSigner) {
  StartSecureBoot();
  const ToolRun run = Kexec({"-l", Kernel(), "--initrd=" + initrd_, "--append", "console=ttyS0 quiet"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  ExpectHypercall(run, "KEXEC_CMD_kexec_file_load", "0");
  EXPECT_TRUE(Contains(run.out, "into the default slot: loaded")) << run.out;
  EXPECT_TRUE(Contains(run.out, "verdict  trusted (reason Success), mode enforce")) << run.out;

  const std::string digest = Trim(Shell(kHvsig + " digest " + ShellQuote(Kernel())));
  ASSERT_EQ(digest.size(), 64u);
  EXPECT_TRUE(Contains(run.out, "kernel   sha256 " + digest + " (Authenticode)")) << run.out;

  const OpenSslSigner signer = SignerByOpenSsl(Kernel());
  ASSERT_FALSE(signer.subject.empty());
  EXPECT_TRUE(Contains(run.out, "signer   " + signer.subject + "\n")) << run.out << "expected " << signer.subject;
  EXPECT_TRUE(Contains(run.out, "subject sha256 " + signer.subject_sha256 + ", serial " + signer.serial)) << run.out;
}

TEST_F(KexecEndToEnd, TamperedKernelIsEkeyrejected) {
  StartSecureBoot();
  const std::string tampered = Copy("vmlinuz.tampered");
  Bytes bytes = ReadFile(tampered);
  const PeFields f = LocateFields(bytes);
  bytes[f.cert_table_offset / 2] ^= 0xff;  // inside the sections, covered by the digest
  WriteFile(tampered, bytes);
  const ToolRun run = Kexec({"-l", tampered});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(Contains(run.err, "hvsig-kexec: EKEYREJECTED: the hypervisor rejected the kernel's signature")) << run.err;
  EXPECT_TRUE(Contains(run.out, "into the default slot: refused")) << run.out;
  EXPECT_TRUE(Contains(run.out, "verdict  rejected")) << run.out;
  ExpectHypercall(run, "KEXEC_CMD_kexec_file_load", "-EKEYREJECTED");
  // The digest reported is the tampered file's, not the signed one.
  const std::string digest = Trim(Shell(kHvsig + " digest " + ShellQuote(tampered)));
  EXPECT_TRUE(Contains(run.out, "kernel   sha256 " + digest)) << run.out;
}

TEST_F(KexecEndToEnd, UnsignedKernelIsEnodata) {
  StartSecureBoot();
  const std::string unsigned_kernel = Copy("vmlinuz.unsigned");
  Shell("sbattach --remove " + ShellQuote(unsigned_kernel) + " >/dev/null");
  const ToolRun run = Kexec({"-l", unsigned_kernel, "--initrd", initrd_});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(Contains(run.err, "hvsig-kexec: ENODATA: kernel is not signed")) << run.err;
  ExpectHypercall(run, "KEXEC_CMD_kexec_file_load", "-ENODATA");
}

TEST_F(KexecEndToEnd, LegacyLoadUnderSecureBootIsEperm) {
  StartSecureBoot();
  const ToolRun run = Kexec({"-c", "-l", Kernel(), "--initrd", initrd_, "--append", "console=ttyS0"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(Contains(run.err, "hvsig-kexec: EPERM: the hypervisor refused KEXEC_CMD_kexec_load")) << run.err;
  ExpectHypercall(run, "KEXEC_CMD_kexec_load", "-EPERM");
  // It asked the hypervisor for the machine first, as kexec-tools does.
  EXPECT_TRUE(Contains(log_lines_, "(XEN) hypercall memory_op(XENMEM_machine_memory_map) from pid " +
                                       std::to_string(run.pid) + ": 0"))
      << log_lines_;
}

TEST_F(KexecEndToEnd, StatusAfterTwoLoadsThenUnload) {
  StartSecureBoot();
  for (int i = 0; i < 2; ++i) {
    const ToolRun load = Kexec({"-l", Kernel()});
    ASSERT_EQ(load.exit_code, 0) << load.err;
    ExpectHypercall(load, "KEXEC_CMD_kexec_file_load", "0");
  }
  ToolRun status = Kexec({"-S"});
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_TRUE(Contains(status.out, "default image: loaded")) << status.out;
  ExpectHypercall(status, "KEXEC_CMD_kexec_status", "1");

  const ToolRun unload = Kexec({"-u"});
  EXPECT_EQ(unload.exit_code, 0) << unload.err;
  EXPECT_TRUE(Contains(unload.out, "default image unloaded")) << unload.out;
  ExpectHypercall(unload, "KEXEC_CMD_kexec_file_load", "0");

  status = Kexec({"-S"});
  EXPECT_EQ(status.exit_code, 1);
  EXPECT_TRUE(Contains(status.out, "default image: not loaded")) << status.out;
  ExpectHypercall(status, "KEXEC_CMD_kexec_status", "0");
}

TEST_F(KexecEndToEnd, CrashImageGoesToTheCrashSlot) {
  StartSecureBoot();
  const ToolRun load = Kexec({"-p", Kernel(), "--initrd", initrd_, "--reuse-cmdline", "--append", "console=ttyS0"});
  EXPECT_EQ(load.exit_code, 0) << load.err;
  EXPECT_TRUE(Contains(load.out, "into the crash slot: loaded")) << load.out;
  ExpectHypercall(load, "KEXEC_CMD_kexec_file_load", "0");
  EXPECT_TRUE(Contains(log_lines_, "crash image loaded")) << log_lines_;
  // The hypervisor got this machine's command line without crashkernel=, plus the append, NUL-terminated.
  const Bytes proc = ReadFile("/proc/cmdline");
  const std::string expected =
      kexec_cli::ReusedCommandLine(std::string(proc.begin(), proc.end()), true) + " console=ttyS0";
  EXPECT_TRUE(Contains(log_lines_, "crash image: kernel " + std::to_string(fs::file_size(Kernel())) +
                                       " bytes, initrd " + std::to_string(fs::file_size(initrd_)) +
                                       " bytes, cmdline " + std::to_string(expected.size() + 1) + " bytes"))
      << log_lines_;

  ToolRun status = Kexec({"-p", "-S"});
  EXPECT_EQ(status.exit_code, 0) << status.out;
  ExpectHypercall(status, "KEXEC_CMD_kexec_status", "1");
  status = Kexec({"-S"});
  EXPECT_EQ(status.exit_code, 1) << status.out;
  ExpectHypercall(status, "KEXEC_CMD_kexec_status", "0");

  const ToolRun unload = Kexec({"-p", "-u"});
  EXPECT_EQ(unload.exit_code, 0) << unload.err;
  EXPECT_TRUE(Contains(unload.out, "crash image unloaded")) << unload.out;
  status = Kexec({"-p", "-S"});
  EXPECT_EQ(status.exit_code, 1) << status.out;
}

TEST_F(KexecEndToEnd, ExecHandsOffAndTheMachineReboots) {
  StartSecureBoot();
  const ToolRun load = Kexec({"-l", Kernel(), "--initrd", initrd_});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  const std::string digest = Trim(Shell(kHvsig + " digest " + ShellQuote(Kernel())));

  const ToolRun exec = Kexec({"-e"});
  EXPECT_EQ(exec.exit_code, 0) << exec.err;
  EXPECT_TRUE(Contains(exec.out, "handed off to the default image")) << exec.out;
  ExpectHypercall(exec, "KEXEC_CMD_kexec", "0");
  EXPECT_TRUE(Contains(log_lines_, "all segments match their load digests")) << log_lines_;
  EXPECT_TRUE(Contains(log_lines_, "kexec handoff: default image load #")) << log_lines_;
  EXPECT_TRUE(Contains(log_lines_, "kernel sha256 " + digest)) << log_lines_;

  // The machine now runs the new kernel: nothing is loaded any more.
  const ToolRun status = Kexec({"-S"});
  EXPECT_EQ(status.exit_code, 1) << status.out;
  ExpectHypercall(status, "KEXEC_CMD_kexec_status", "0");

  const ToolRun again = Kexec({"-e"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_TRUE(Contains(again.err, "hvsig-kexec: ENOENT: no default image is loaded")) << again.err;
  ExpectHypercall(again, "KEXEC_CMD_kexec", "-ENOENT");
}

TEST_F(KexecEndToEnd, LegacyLoadWorksWithSecureBootAndModeOff) {
  StartDaemon({"--secure-boot", "off", "--mode", "off"});
  const ToolRun load = Kexec({"-c", "-l", Kernel(), "--initrd", initrd_, "--append", "console=ttyS0"});
  EXPECT_EQ(load.exit_code, 0) << load.err;
  EXPECT_TRUE(Contains(load.out, "legacy load of " + Kernel() + " into the default slot: loaded")) << load.out;
  ExpectHypercall(load, "KEXEC_CMD_kexec_load", "0");
  const ToolRun status = Kexec({"-S"});
  EXPECT_EQ(status.exit_code, 0) << status.out;
  ExpectHypercall(status, "KEXEC_CMD_kexec_status", "1");
  const ToolRun crash = Kexec({"-c", "-p", Kernel(), "--append", "console=ttyS0"});
  EXPECT_EQ(crash.exit_code, 0) << crash.err;
  ExpectHypercall(crash, "KEXEC_CMD_kexec_load", "0");
  EXPECT_TRUE(Contains(log_lines_, "(XEN) hypercall kexec_op(KEXEC_CMD_kexec_get_range) from pid " +
                                       std::to_string(crash.pid) + ": 0"))
      << log_lines_;
  const ToolRun unload = Kexec({"-c", "-u"});
  EXPECT_EQ(unload.exit_code, 0) << unload.err;
  ExpectHypercall(unload, "KEXEC_CMD_kexec_unload", "0");
}

// --initrd-sig: a detached CMS signature over the initrd (openssl cms, as Linux's sign-file
// makes them) by a key the daemon holds in its builtin keyring (--cert).
TEST_F(KexecEndToEnd, InitrdSignatureIsPassedAndJudged) {
  const std::string key = dir_ / "initrd-key.pem";
  const std::string cert = dir_ / "initrd-cert.pem";
  const std::string sig = dir_ / "initrd.p7s";
  const std::string garbage = dir_ / "garbage.p7s";
  Shell("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + ShellQuote(key) + " -out " + ShellQuote(cert) +
        " -subj /CN=hvsig-kexec-initrd-test -days 2 2>/dev/null");
  Shell("openssl cms -sign -binary -in " + ShellQuote(initrd_) + " -signer " + ShellQuote(cert) + " -inkey " +
        ShellQuote(key) + " -outform DER -md sha256 -out " + ShellQuote(sig));
  WriteFile(garbage, RandomBytes(300));
  StartDaemon({"--secure-boot", "on", "--db", DebianCa(), "--cert", cert});

  const ToolRun signed_load = Kexec({"-l", Kernel(), "--initrd", initrd_, "--initrd-sig", sig});
  EXPECT_EQ(signed_load.exit_code, 0) << signed_load.err;
  ExpectHypercall(signed_load, "KEXEC_CMD_kexec_file_load", "0");
  EXPECT_TRUE(Contains(log_lines_, "initrd: trusted (keyring builtin")) << log_lines_;

  const ToolRun malformed = Kexec({"-l", Kernel(), "--initrd", initrd_, "--initrd-sig", garbage});
  EXPECT_EQ(malformed.exit_code, 1);
  EXPECT_TRUE(Contains(malformed.err, "hvsig-kexec: EBADMSG: malformed initrd signature")) << malformed.err;
  EXPECT_TRUE(Contains(malformed.out, "initrd signature rejected")) << malformed.out;
  ExpectHypercall(malformed, "KEXEC_CMD_kexec_file_load", "-EBADMSG");

  const std::string other_initrd = dir_ / "other-initrd";
  WriteFile(other_initrd, BytesOf("070701 another initramfs"));
  const ToolRun mismatch = Kexec({"-l", Kernel(), "--initrd", other_initrd, "--initrd-sig", sig});
  EXPECT_EQ(mismatch.exit_code, 1);
  EXPECT_TRUE(Contains(mismatch.err, "hvsig-kexec: EKEYREJECTED: the hypervisor rejected the initrd's signature"))
      << mismatch.err;
  ExpectHypercall(mismatch, "KEXEC_CMD_kexec_file_load", "-EKEYREJECTED");
}

// Mode log (no Secure Boot): the verdict is reported and the image loads anyway.
TEST_F(KexecEndToEnd, ModeLogReportsAndLoads) {
  StartDaemon({"--secure-boot", "off", "--mode", "log", "--db", DebianCa()});
  const std::string tampered = Copy("vmlinuz.tampered");
  Bytes bytes = ReadFile(tampered);
  bytes[LocateFields(bytes).cert_table_offset / 2] ^= 0x01;
  WriteFile(tampered, bytes);
  const ToolRun run = Kexec({"-l", tampered});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(Contains(run.out, "verdict  rejected")) << run.out;
  EXPECT_TRUE(Contains(run.out, "mode log: the hypervisor would have rejected it")) << run.out;
  ExpectHypercall(run, "KEXEC_CMD_kexec_file_load", "0");
}

// --native under hvsig-dom0: its seccomp filter answers kexec_file_load with EPERM, so the
// host kernel is never reached.
TEST_F(KexecEndToEnd, NativeUnderDom0IsStoppedBySeccomp) {
  if (kDom0.empty() || !FileExists(kDom0)) GTEST_SKIP() << "hvsig-dom0 is not built in this tree: skipped";
  StartSecureBoot();
  // hvsig-dom0 preloads its interposer; a sanitizer build of the tool must accept that.
  const std::vector<std::string> env = {"ASAN_OPTIONS=verify_asan_link_order=0"};
  const ToolRun run = Spawn({kDom0, "--socket", socket_, "--", kTool, "--native", "-l", Kernel()}, env, dir_);
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_TRUE(Contains(run.err, "hvsig-kexec: EPERM: the host kernel refused kexec_file_load")) << run.err;
  // And the same tool under hvsig-dom0 without --native reaches the daemon.
  const size_t before = Text(log_).size();
  const ToolRun status = Spawn({kDom0, "--socket", socket_, "--", kTool, "-S"}, env, dir_);
  EXPECT_EQ(status.exit_code, 1) << status.out << status.err;
  EXPECT_TRUE(Contains(Text(log_).substr(before), "(XEN) hypercall kexec_op(KEXEC_CMD_kexec_status) from pid "))
      << Text(log_);
}

}  // namespace
}  // namespace hvsig::test
