// Debian's unmodified xen-livepatch (xen-utils-4.17: /usr/lib/xen-4.17/bin/xen-livepatch, linked
// to Debian's libxenctrl 4.17; the fixture xen_utils extracts the package, it is not installed)
// under hvsig-dom0 against hvsig-hypervisor. Payloads are compiled by gcc and signed by
// `hvsig sign livepatch` in both formats. Every assertion on a call also finds the daemon's
// summary line for it, from the pid of the xen-livepatch process that made it (a shell inside
// hvsig-dom0 records its pid, then execs the tool), so a result that never reached the model
// cannot pass. HypervisorLivepatch drives the daemon's hypercall layer in process.
#include <filesystem>
#include <iostream>
#include <sstream>

extern "C" {
#include <xen/xen.h>
#include <xen/sysctl.h>
}

#include "daemon_support.h"
#include "hv/sim_guest.h"
#include "hvsig/crypto_builtin.h"
#include "hvsig/xen/kexec.h"
#include "livepatch_support.h"
#include "tools/hypervisor/hypervisor.h"

namespace hvsig::test {
namespace {

const std::string kDom0 = HVSIG_DOM0;

std::string XenLivepatchTool() {
  return std::string(HVSIG_TEST_CACHE) + "/root/usr/lib/xen-4.17/bin/xen-livepatch";
}

std::string SignerCert() { return Signer().signer.cert; }

// A copy of `path` with one byte of .text flipped (inside what either signature covers).
std::string TamperedCopy(const std::string& path, const std::string& name) {
  return Cached(name, [&](const std::string& out) {
    Bytes b = ReadFile(path);
    b[Elf{b}.offset(".text") + 1] ^= 0xff;
    WriteFile(out, b);
  });
}

std::string MetadataObject() {
  return Compile("lp-modinfo.o", PatchSource("const char modinfo[] __attribute__((section(\".modinfo\"), used)) = "
                                             "\"LIVEPATCH_RULEZ=1\\0VERSION=2\";\n"));
}

struct Call {
  int exit_code = -1;
  pid_t pid = 0;
  std::string out, err;
};

class XenLivepatch : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(FileExists(XenLivepatchTool())) << "the xen_utils fixture did not run";
    const std::string deb = Trim(Shell("ls " + std::string(HVSIG_TEST_CACHE) + "/debs/ | grep '^xen-utils-4.17_'"));
    std::cout << "xen-livepatch from " << deb << "\n";
  }

  void Start(const std::vector<std::string>& policy) {
    daemon_ = std::make_unique<Daemon>(policy);
    ASSERT_EQ(daemon_->Start(), -1) << daemon_->Console();
  }
  void StartSecureBoot() {
    Start({"--secure-boot", "on", "--rsa-key", PublicKey(Signer().signer), "--cert", SignerCert()});
  }

  // xen-livepatch ARGS under hvsig-dom0.
  Call Run(const std::vector<std::string>& args) {
    const std::string pid_file = daemon_->dir() + "/pid";
    const std::string err_file = daemon_->dir() + "/err";
    std::string command = ShellQuote(kDom0) + " --socket " + ShellQuote(daemon_->socket()) +
                          " -- sh -c 'echo $$ >\"$0\"; exec \"$@\"' " + ShellQuote(pid_file) + " " +
                          ShellQuote(XenLivepatchTool());
    for (const std::string& a : args) command += " " + ShellQuote(a);
    const CommandResult r = RunCommand(command + " 2>" + ShellQuote(err_file));
    Call call;
    call.exit_code = r.exit_code;
    call.out = r.out;
    call.err = ReadText(err_file);
    call.pid = static_cast<pid_t>(std::stol(ReadText(pid_file)));
    return call;
  }

  // The daemon's summary line for the call's sub-op, with its result.
  void ExpectCall(const Call& call, const std::string& subop, const std::string& result) {
    const std::string line = "(XEN) hypercall sysctl(XEN_SYSCTL_livepatch_op/" + subop + ") from pid " +
                             std::to_string(call.pid) + ": " + result + "\n";
    EXPECT_TRUE(daemon_->WaitForLine(line)) << "missing: " << line << "log:\n" << daemon_->Log();
  }
  void ExpectLog(const std::string& part) {
    EXPECT_TRUE(daemon_->WaitForLine(part)) << "missing: " << part << "\nlog:\n" << daemon_->Log();
  }

  // Upload; expect success or the errno's name and number in the tool's words.
  void Upload(const std::string& name, const std::string& file, const std::string& result) {
    SCOPED_TRACE("upload " + name);
    const Call call = Run({"upload", name, file});
    ExpectCall(call, "UPLOAD", result);
    if (result == "0") {
      EXPECT_EQ(call.exit_code, 0) << call.out << call.err;
      EXPECT_TRUE(Contains(call.out, "Uploading " + file + "... completed")) << call.out;
    } else {
      EXPECT_EQ(call.exit_code, 1) << call.out << call.err;
      EXPECT_TRUE(Contains(call.out, "Uploading " + file + "... failed")) << call.out;
    }
  }

  // `xen-livepatch list`: the rows, "NAME STATE [METADATA]" with the padding squeezed.
  std::vector<std::string> List() {
    const Call call = Run({"list"});
    EXPECT_EQ(call.exit_code, 0) << call.out << call.err;
    ExpectCall(call, "LIST", "0");  // the size query (nr 0)
    std::vector<std::string> rows;
    std::istringstream lines(call.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.find('|') == std::string::npos || Contains(line, " ID ")) continue;
      rows.push_back(Trim(SqueezeColumns(line)));
    }
    return rows;
  }

  // Each '|' with the blanks around it becomes one space. (No std::regex: GCC 12's <regex>
  // trips -Wmaybe-uninitialized under the ASan preset.)
  static std::string SqueezeColumns(const std::string& line) {
    std::string out;
    std::istringstream columns(line);
    for (std::string column; std::getline(columns, column, '|');) {
      if (!out.empty()) out += ' ';
      out += Trim(column);
    }
    return out;
  }

  static bool Contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }

  std::unique_ptr<Daemon> daemon_;
};

TEST_F(XenLivepatch, SignedPayloadsOfBothFormatsAreUploaded) {
  StartSecureBoot();
  Upload("lp-note", NoteSigned(), "0");
  ExpectLog("(XEN) livepatch: lp-note: ");
  ExpectLog("note signature trusted: raw-key ");
  Upload("lp-modsig", ModSigned(), "0");
  ExpectLog("modsig signature trusted: certificate ");
  EXPECT_EQ(List(), (std::vector<std::string>{"lp-note CHECKED", "lp-modsig CHECKED"}));
}

TEST_F(XenLivepatch, UnsignedAndTamperedPayloadsAreRefusedUnderSecureBoot) {
  StartSecureBoot();
  Upload("signed", NoteSigned(), "0");
  {
    const Call call = Run({"upload", "unsigned", PatchObject()});
    EXPECT_EQ(call.exit_code, 1);
    EXPECT_TRUE(Contains(call.err, "Error 1: Operation not permitted")) << call.err;
    ExpectCall(call, "UPLOAD", "-EPERM");
    ExpectLog("(XEN) livepatch: unsigned: upload refused (-EPERM)");
  }
  for (const auto& [name, file] : {std::pair<std::string, std::string>{"tampered-note", TamperedCopy(NoteSigned(), "lp.note-tampered.o")},
                                   {"tampered-modsig", TamperedCopy(ModSigned(), "lp.modsig-tampered.o")}}) {
    SCOPED_TRACE(name);
    const Call call = Run({"upload", name, file});
    EXPECT_EQ(call.exit_code, 1);
    EXPECT_TRUE(Contains(call.err, "Error 129: Key was rejected by service")) << call.err;
    ExpectCall(call, "UPLOAD", "-EKEYREJECTED");
    ExpectLog("(XEN) livepatch: " + name + ": upload refused (-EKEYREJECTED)");
  }
  // Only what was accepted is listed.
  EXPECT_EQ(List(), (std::vector<std::string>{"signed CHECKED"}));
}

TEST_F(XenLivepatch, UnsignedIsEnodataInEnforceWithoutSecureBoot) {
  Start({"--secure-boot", "off", "--mode", "enforce", "--rsa-key", PublicKey(Signer().signer)});
  const Call call = Run({"upload", "unsigned", PatchObject()});
  EXPECT_EQ(call.exit_code, 1);
  EXPECT_TRUE(Contains(call.err, "Error 61: No data available")) << call.err;
  ExpectCall(call, "UPLOAD", "-ENODATA");
  Upload("signed", NoteSigned(), "0");
  EXPECT_EQ(List(), (std::vector<std::string>{"signed CHECKED"}));
}

TEST_F(XenLivepatch, ApplyRevertUnloadChangeTheState) {
  StartSecureBoot();
  Upload("lp", ModSigned(), "0");
  {
    const Call apply = Run({"apply", "lp"});
    EXPECT_EQ(apply.exit_code, 0) << apply.out << apply.err;
    EXPECT_TRUE(Contains(apply.out, "Applying lp... completed")) << apply.out;
    ExpectCall(apply, "GET", "0");  // the state before, and the state after
    ExpectCall(apply, "ACTION", "0");
    ExpectLog("(XEN) livepatch: lp: APPLY: CHECKED -> APPLIED, 2 funcs");
  }
  EXPECT_EQ(List(), (std::vector<std::string>{"lp APPLIED"}));
  {
    // Unloading an applied payload: the tool itself refuses from the state GET reports.
    const Call unload = Run({"unload", "lp"});
    EXPECT_EQ(unload.exit_code, 1);
    EXPECT_TRUE(Contains(unload.err, "lp is in the wrong state.")) << unload.err;
    ExpectCall(unload, "GET", "0");
  }
  {
    const Call revert = Run({"revert", "lp"});
    EXPECT_EQ(revert.exit_code, 0) << revert.out << revert.err;
    EXPECT_TRUE(Contains(revert.out, "Reverting lp... completed")) << revert.out;
    ExpectCall(revert, "ACTION", "0");
    ExpectLog("(XEN) livepatch: lp: REVERT: APPLIED -> CHECKED");
  }
  EXPECT_EQ(List(), (std::vector<std::string>{"lp CHECKED"}));
  {
    const Call unload = Run({"unload", "lp"});
    EXPECT_EQ(unload.exit_code, 0) << unload.out << unload.err;
    EXPECT_TRUE(Contains(unload.out, "Unloading lp... completed")) << unload.out;
    ExpectCall(unload, "ACTION", "0");
    ExpectCall(unload, "GET", "-ENOENT");  // how the tool sees that it is gone
  }
  EXPECT_EQ(List(), std::vector<std::string>{});
  {
    const Call absent = Run({"apply", "lp"});
    EXPECT_EQ(absent.exit_code, 1);
    EXPECT_TRUE(Contains(absent.err, "Failed to get status of lp.")) << absent.err;
    ExpectCall(absent, "GET", "-ENOENT");
  }
}

TEST_F(XenLivepatch, LoadUploadsAndAppliesAndListShowsMetadata) {
  StartSecureBoot();
  const std::string signed_file = daemon_->dir() + "/meta.o";
  std::filesystem::copy_file(HvsigSign("modsig", MetadataObject(), Signer().signer, "lp-modinfo.modsig.o"),
                             signed_file);
  const Call load = Run({"load", signed_file});
  EXPECT_EQ(load.exit_code, 0) << load.out << load.err;
  ExpectCall(load, "UPLOAD", "0");
  ExpectCall(load, "ACTION", "0");
  EXPECT_EQ(List(), (std::vector<std::string>{"meta APPLIED LIVEPATCH_RULEZ=1;VERSION=2"}));
}

// The livepatch state belongs to the running hypervisor: after a kexec handoff the daemon's fresh
// machine lists no payloads and starts its list version again.
TEST(HypervisorLivepatch, KexecHandoffBootsWithoutPayloads) {
  hv::MachineConfig machine = hv::sim::StandardMachine();
  machine.secure_boot = false;
  machine.mode = policy::Mode::Off;
  hypervisor::Console console(nullptr);
  hypervisor::Hypervisor hypervisor(machine, hypervisor::HostConfig{}, BuiltinProvider(), console);
  hv::sim::SimGuest guest;
  auto call = [&](uint64_t op, uint64_t a0, uint64_t a1) {
    const uint64_t args[5] = {a0, a1, 0, 0, 0};
    return hypervisor.Hypercall(getpid(), op, args, guest.Memory());
  };
  auto livepatch = [&](const ::xen_sysctl_livepatch_op& lp, ::xen_sysctl_livepatch_op* out) {
    xen_sysctl_t sysctl{};
    sysctl.cmd = XEN_SYSCTL_livepatch_op;
    sysctl.interface_version = XEN_SYSCTL_INTERFACE_VERSION;
    sysctl.u.livepatch = lp;
    const uint64_t addr = guest.PutStruct(sysctl);
    const long rc = call(__HYPERVISOR_sysctl, addr, 0);
    *out = guest.Get<xen_sysctl_t>(addr).u.livepatch;
    return rc;
  };
  const Bytes file = ReadFile(PatchObject());
  const Bytes name = {'l', 'p', 0};
  ::xen_sysctl_livepatch_op upload{};
  upload.cmd = XEN_SYSCTL_LIVEPATCH_UPLOAD;
  upload.u.upload.name.name.p = reinterpret_cast<char*>(guest.Put(name));
  upload.u.upload.name.size = 3;
  upload.u.upload.size = file.size();
  upload.u.upload.payload.p = reinterpret_cast<uint8_t*>(guest.Put(file));
  ::xen_sysctl_livepatch_op out{};
  ASSERT_EQ(livepatch(upload, &out), 0);
  ::xen_sysctl_livepatch_op list{};
  list.cmd = XEN_SYSCTL_LIVEPATCH_LIST;
  ASSERT_EQ(livepatch(list, &out), 0);
  EXPECT_EQ(out.u.list.nr, 1u);
  EXPECT_EQ(out.u.list.version, 2u);

  // A legacy load (mode off permits it) and the exec.
  const xen_kexec_segment_t segment{guest.Put(Bytes(4096, 0x90)), 4096, 0x1000000, 0x1000};
  xen_kexec_load_t load{};
  load.type = KEXEC_TYPE_DEFAULT;
  load.arch = KEXEC_EM_X86_64;
  load.nr_segments = 1;
  load.segments = guest.PutStruct(segment);
  load.entry_maddr = 0x1000000;
  ASSERT_EQ(call(__HYPERVISOR_kexec_op, KEXEC_CMD_kexec_load, guest.PutStruct(load)), 0);
  ASSERT_EQ(call(__HYPERVISOR_kexec_op, KEXEC_CMD_kexec, guest.PutStruct(xen_kexec_exec_t{KEXEC_TYPE_DEFAULT})), 0);

  ASSERT_EQ(livepatch(list, &out), 0);
  EXPECT_EQ(out.u.list.nr, 0u);
  EXPECT_EQ(out.u.list.version, 1u);
  ::xen_sysctl_livepatch_op get{};
  get.cmd = XEN_SYSCTL_LIVEPATCH_GET;
  get.u.get.name = upload.u.upload.name;
  EXPECT_EQ(livepatch(get, &out), -ENOENT);
}

}  // namespace
}  // namespace hvsig::test
