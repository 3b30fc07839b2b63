// hvsig-hypervisor: the hypervisor model (src/hv) as a daemon behind the real hypercall ABI.
// Dom0 programs reach it through our libxencall.so.1 (src/xenlibs) over a Unix socket; see
// docs/hypercall-boundary.md. Exit 0 after SIGTERM/SIGINT, 1 if the machine cannot boot or the
// socket cannot be served, 2 on usage errors.
#include <CLI/CLI.hpp>

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "hvsig/crypto_providers.h"
#include "hvsig/policy.h"
#include "tools/common/certs.h"
#include "tools/common/file_image.h"
#include "tools/hypervisor/hypervisor.h"
#include "tools/hypervisor/machine.h"
#include "tools/hypervisor/server.h"
#include "xenlibs/wire.h"

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

struct Options {
  std::string socket = HVSIG_HYPERVISOR_SOCKET_DEFAULT;
  std::string secure_boot = "on";
  std::string mode = "enforce";
  std::vector<std::string> certs, db, dbx, mok, mokx, rsa_keys;
  std::string memory = "4G";
  std::string crash_region;
  unsigned cpus = 4;
  std::string log;
  std::string provider = hvsig::DefaultProviderName();
};

hvsig::policy::Mode ModeFromName(const std::string& name) {
  if (name == "log") return hvsig::policy::Mode::Log;
  if (name == "off") return hvsig::policy::Mode::Off;
  return hvsig::policy::Mode::Enforce;
}

// Reads every keyring file into the machine's sources; an empty string or what failed.
std::string LoadKeyrings(const Options& options, hvsig::hv::KeyringSources& sources) {
  using hvsig::tools::LoadSignatureDatabase;
  std::vector<uint8_t> no_esl;
  std::string error;
  for (const std::string& path : options.certs) {
    // The builtin keyring takes certificates only (LoadSignatureDatabase leaves ESLs in no_esl).
    if (error.empty()) error = LoadSignatureDatabase(path, "db", &sources.builtin_certs, no_esl);
    if (error.empty() && !no_esl.empty()) error = path + ": not a certificate";
  }
  for (const std::string& path : options.db) {
    if (error.empty()) error = LoadSignatureDatabase(path, "db", &sources.db_certs, sources.db_esl);
  }
  for (const std::string& path : options.mok) {
    if (error.empty()) {
      error = LoadSignatureDatabase(path, "MokList", &sources.mok_certs, sources.mok_esl);
    }
  }
  for (const std::string& path : options.dbx) {
    if (error.empty()) error = LoadSignatureDatabase(path, "dbx", nullptr, sources.dbx_esl);
  }
  for (const std::string& path : options.mokx) {
    if (error.empty()) error = LoadSignatureDatabase(path, "MokListX", nullptr, sources.mokx_esl);
  }
  return error;
}

int Run(const Options& options) {
  std::FILE* log_file = nullptr;
  if (!options.log.empty()) {
    log_file = std::fopen(options.log.c_str(), "a");
    if (log_file == nullptr) {
      std::fprintf(stderr, "hvsig-hypervisor: cannot open %s: %m\n", options.log.c_str());
      return kExitFailed;
    }
  }
  static hvsig::hypervisor::Console console(log_file);
  uint64_t memory = 0;
  hvsig::hv::MemoryRange crash;
  if (!hvsig::hypervisor::ParseSize(options.memory, memory) || memory < (16ull << 20)) {
    std::fprintf(stderr, "hvsig-hypervisor: --memory %s: want a size of at least 16M\n",
                 options.memory.c_str());
    return kExitUsage;
  }
  if (!options.crash_region.empty() && !hvsig::hypervisor::ParseRegion(options.crash_region, crash)) {
    std::fprintf(stderr, "hvsig-hypervisor: --crash-region %s: want START:SIZE\n",
                 options.crash_region.c_str());
    return kExitUsage;
  }

  hvsig::hv::MachineConfig machine = hvsig::hypervisor::PcMachine(memory, crash, options.cpus);
  machine.secure_boot = options.secure_boot == "on";
  machine.mode = ModeFromName(options.mode);
  hvsig::hypervisor::HostConfig host;
  host.xen_commandline = "console=com1,vga";
  if (crash.size != 0) {
    char crashkernel[64];
    std::snprintf(crashkernel, sizeof crashkernel, " crashkernel=%lluM@%lluM",
                  static_cast<unsigned long long>(crash.size >> 20),
                  static_cast<unsigned long long>(crash.start >> 20));
    host.xen_commandline += crashkernel;
  }
  std::string error = LoadKeyrings(options, machine.keyrings);
  for (const std::string& path : options.rsa_keys) {
    std::vector<uint8_t> spki;
    if (error.empty() && hvsig::hypervisor::LoadRsaPublicKey(path, spki, error)) {
      machine.keyrings.builtin_raw_keys.push_back(std::move(spki));
    }
  }
  if (!error.empty()) {
    console.Line("(XEN) hvsig-hypervisor: keyring source: " + error);
    return kExitFailed;
  }

  // A client that vanishes must not kill us through a write to its socket or to our stdout.
  signal(SIGPIPE, SIG_IGN);
  static hvsig::hypervisor::Hypervisor hypervisor(machine, host,
                                                  *hvsig::ProviderByName(options.provider), console);
  if (!hypervisor.Booted()) {
    hypervisor.Note("Kexec boot error: " + hypervisor.BootError());
    return kExitFailed;
  }
  return hvsig::hypervisor::Serve(options.socket, hypervisor);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hvsig-hypervisor: the Xen kexec model behind the hypercall ABI (libxencall)"};
  Options options;
  app.add_option("--socket", options.socket, "Unix socket to serve")->capture_default_str();
  app.add_option("--secure-boot", options.secure_boot, "Secure Boot (forces mode enforce)")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  app.add_option("--mode", options.mode, "signature policy without Secure Boot")
      ->check(CLI::IsMember({"enforce", "log", "off"}))
      ->capture_default_str();
  app.add_option("--cert", options.certs, "builtin keyring: certificate (DER/PEM)")
      ->check(CLI::ExistingFile);
  app.add_option("--db", options.db, "platform keyring: certificate, ESL, efivarfs, .auth or OVMF_VARS")
      ->check(CLI::ExistingFile);
  app.add_option("--dbx", options.dbx, "blacklist: ESL, efivarfs, .auth or OVMF_VARS")
      ->check(CLI::ExistingFile);
  app.add_option("--mok", options.mok, "machine keyring: certificate or MokList")
      ->check(CLI::ExistingFile);
  app.add_option("--mokx", options.mokx, "blacklist: MokListX")->check(CLI::ExistingFile);
  app.add_option("--rsa-key", options.rsa_keys, "raw RSA public key (PEM/DER SPKI or PKCS#1), for livepatch")
      ->check(CLI::ExistingFile);
  app.add_option("--memory", options.memory, "RAM (K/M/G suffixes)")->capture_default_str();
  app.add_option("--crash-region", options.crash_region, "crashkernel reservation START:SIZE");
  app.add_option("--cpus", options.cpus, "CPUs")->check(CLI::Range(1u, 4096u))->capture_default_str();
  app.add_option("--log", options.log, "also append the console to FILE");
  const auto provider_names = hvsig::ProviderNames();
  app.add_option("--provider", options.provider, "crypto provider")
      ->check(CLI::IsMember(std::vector<std::string>(provider_names.begin(), provider_names.end())))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  const int rc = Run(options);
  // Connection threads may still be inside an op: leave without running destructors.
  std::fflush(nullptr);
  _exit(rc);
}
