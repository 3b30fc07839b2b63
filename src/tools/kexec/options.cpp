#include "tools/kexec/options.h"

#include <CLI/CLI.hpp>
#include <cctype>

namespace hvsig::kexec_cli {

namespace {

// Checks what CLI11 cannot express: one action, and the options that action and path allow.
void Validate(const Options& o, bool load_flag, bool panic_flag, int actions, bool kernel_given) {
  if (load_flag && panic_flag) throw CLI::ValidationError("-l and -p load different images; give one");
  if (actions > 1 || (load_flag && actions > 0)) {
    throw CLI::ValidationError("give one of -l/-p KERNEL, -u, -e, -S (-p with -u, -e or -S selects the crash slot)");
  }
  if (o.action == Action::Load) {
    if (!load_flag && !panic_flag) {
      throw CLI::ValidationError(kernel_given ? "a kernel without -l or -p: hvsig-kexec does not load and exec at once"
                                              : "nothing to do: give -l/-p KERNEL, -u, -e or -S");
    }
    if (!kernel_given) throw CLI::ValidationError(std::string(panic_flag ? "-p" : "-l") + " needs a KERNEL");
  } else if (kernel_given) {
    throw CLI::ValidationError("a KERNEL is only for -l or -p");
  }
  if (o.initrd_sig && !o.initrd) throw CLI::ValidationError("--initrd-sig signs an initrd: give --initrd too");
  if (o.initrd_sig && o.path == LoadPath::Legacy) {
    throw CLI::ValidationError("--initrd-sig needs the file load (-s); the legacy load (-c) carries no signature");
  }
  if (o.native && o.path == LoadPath::Legacy) {
    throw CLI::ValidationError("--native uses kexec_file_load(2); -c (legacy, built in userspace) is Xen only here");
  }
  if (o.native && o.initrd_sig) throw CLI::ValidationError("--native: kexec_file_load(2) takes no initrd signature");
}

}  // namespace

ParseOutcome ParseCommandLine(int argc, const char* const* argv) {
  CLI::App app{
      "hvsig-kexec: load, unload, execute or query a kexec image on Xen through\n"
      "KEXEC_CMD_kexec_file_load: the hypervisor verifies the kernel's signature.\n"
      "Exit status: 0 done (or -S: loaded), 1 refused/failed/not loaded, 2 usage."};
  app.set_version_flag("-v,--version", "hvsig-kexec " HVSIG_KEXEC_VERSION);
  Options o;
  bool load_flag = false;
  bool panic_flag = false;
  bool unload = false;
  bool exec = false;
  bool status = false;
  bool file_path = false;
  bool legacy_path = false;
  std::string kernel;
  std::string initrd;
  std::string initrd_sig;
  std::string append;
  app.add_flag("-l,--load", load_flag, "load KERNEL into the default (reboot) slot");
  app.add_flag("-p,--load-panic", panic_flag,
               "load KERNEL into the crash slot; with -u/-S/-e: act on the crash slot");
  app.add_flag("-u,--unload", unload, "unload the image");
  app.add_flag("-e,--exec", exec, "execute the loaded image (the hypervisor re-checks it)");
  app.add_flag("-S,--status", status, "exit 0 if an image is loaded, 1 if not");
  CLI::Option* s_opt = app.add_flag("-s,--kexec-file-syscall", file_path,
                                    "file load: the hypervisor verifies and builds the image (default)");
  CLI::Option* c_opt = app.add_flag("-c,--kexec-syscall", legacy_path,
                                    "legacy load: build the segments here and send KEXEC_CMD_kexec_load");
  s_opt->excludes(c_opt);
  app.add_flag("--native", o.native,
               "not on Xen: use this Linux kernel's kexec_file_load(2) and reboot(2)");
  CLI::Option* initrd_opt = app.add_option("--initrd,--ramdisk", initrd, "initrd (initramfs) file")
                                ->check(CLI::ExistingFile);
  CLI::Option* sig_opt = app.add_option("--initrd-sig", initrd_sig,
                                        "detached PKCS#7/CMS signature over the initrd (file load)")
                             ->check(CLI::ExistingFile);
  CLI::Option* append_opt = app.add_option("--append,--command-line", append, "kernel command line");
  app.add_flag("--reuse-cmdline", o.reuse_cmdline,
               "start from /proc/cmdline (without BOOT_IMAGE=; for -p without crashkernel=)");
  CLI::Option* kernel_opt = app.add_option("KERNEL", kernel, "kernel image (signed PE/bzImage)")
                                ->check(CLI::ExistingFile);
  try {
    app.parse(argc, argv);
    if (initrd_opt->count() > 0) o.initrd = initrd;
    if (sig_opt->count() > 0) o.initrd_sig = initrd_sig;
    if (append_opt->count() > 0) o.append = append;
    o.kernel = kernel;
    o.crash = panic_flag;
    o.path = legacy_path ? LoadPath::Legacy : LoadPath::File;
    const int actions = (unload ? 1 : 0) + (exec ? 1 : 0) + (status ? 1 : 0);
    o.action = unload ? Action::Unload : exec ? Action::Exec : status ? Action::Status : Action::Load;
    Validate(o, load_flag, panic_flag, actions, kernel_opt->count() > 0);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return ParseOutcome{std::nullopt, rc == 0 ? 0 : 2};
  }
  return ParseOutcome{o, 0};
}

std::string ReusedCommandLine(const std::string& proc_cmdline, bool crash) {
  std::string line = proc_cmdline.substr(0, proc_cmdline.find_first_of("\r\n"));
  auto remove_parameter = [&line](const std::string& name) {
    const size_t start = line.find(name);
    if (start == std::string::npos) return;
    if (start != 0 && !std::isspace(static_cast<unsigned char>(line[start - 1]))) return;
    const size_t end = line.find(' ', start);
    line.erase(start, end == std::string::npos ? std::string::npos : end + 1 - start);
  };
  remove_parameter("BOOT_IMAGE");
  if (crash) remove_parameter("crashkernel");
  return line;
}

std::string ConcatCommandLine(const std::optional<std::string>& base,
                              const std::optional<std::string>& append) {
  if (base && append) return *base + " " + *append;
  if (base) return *base;
  if (append) return *append;
  return {};
}

}  // namespace hvsig::kexec_cli
