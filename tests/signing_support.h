// Keys, certificates and signed images made at test time, shared by the tests that need them
// (authenticode_test.cpp, policy_test.cpp): the openssl CLI makes keys and certificates, sbsign
// signs. Everything is cached in HVSIG_AUTHENTICODE_WORK (made once for all test processes,
// under a lock), and the Debian binaries come from the authenticode_binaries fixture.
#pragma once

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "authenticode_support.h"
#include "test_support.h"

namespace hvsig::test {

inline const std::string kWork = HVSIG_AUTHENTICODE_WORK;

inline std::string Fetched(const std::string& name) {
  return std::string(HVSIG_TEST_CACHE) + "/authenticode/" + name;
}
inline std::string DebianCa() { return Fetched("debian-uefi-ca.der"); }
inline std::string DebianKernel() { return Fetched("vmlinuz"); }

inline void Sh(const std::string& command) {
  const CommandResult r = RunCommand(command);
  if (r.exit_code != 0) throw std::runtime_error("command failed: " + command + "\n" + r.out);
}

// kWork/name, made once for all test processes (ctest runs them in parallel): under a lock of
// its own (so a make step may itself use Cached for other names), only if absent, built at a
// temporary path and renamed into place so that an interrupted run leaves nothing half made.
inline std::string Cached(const std::string& name, const std::function<void(const std::string&)>& make) {
  std::filesystem::create_directories(kWork);
  const std::string path = kWork + "/" + name;
  FileLock lock(path + ".lock");
  if (!FileExists(path)) {
    const std::string tmp = path + ".tmp";
    std::filesystem::remove_all(tmp);
    make(tmp);
    std::filesystem::rename(tmp, path);
  }
  return path;
}

// kWork/area/<suite>.<test>: a scratch directory per test, removed when the test passes (kept
// for inspection otherwise).
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& area = "scratch") {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "." + info->name();
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    dir_ = kWork + "/" + area + "/" + name;
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ~ScratchDir() {
    if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir_);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string operator/(const std::string& file) const { return dir_ + "/" + file; }

 private:
  std::string dir_;
};

// ---- Keys and certificates (openssl CLI) --------------------------------------------------

enum class KeyType { Rsa2048, Rsa4096, P256, P384 };

inline std::string GenPkeyArgs(KeyType type) {
  switch (type) {
    case KeyType::Rsa2048: return "-algorithm RSA -pkeyopt rsa_keygen_bits:2048";
    case KeyType::Rsa4096: return "-algorithm RSA -pkeyopt rsa_keygen_bits:4096";
    case KeyType::P256: return "-algorithm EC -pkeyopt ec_paramgen_curve:P-256";
    case KeyType::P384: return "-algorithm EC -pkeyopt ec_paramgen_curve:P-384";
  }
  return {};
}

struct Credential {
  std::string key;
  std::string cert;  // PEM
};

inline constexpr const char* kCaExtensions =
    "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
    "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";
inline constexpr const char* kSignerExtensions =
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
    "extendedKeyUsage=codeSigning\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";

// A key and certificate named `name`: self-signed CA when issuer is null, else issued by it.
// extensions: the issued certificate's, instead of the CA or code-signing defaults.
inline Credential MakeCredential(const std::string& name, KeyType type, const Credential* issuer,
                                 bool is_ca, const std::string& subject_cn = "",
                                 const std::string& extensions = "") {
  Credential c;
  c.key = Cached(name + ".key", [&](const std::string& out) {
    Sh("openssl genpkey " + GenPkeyArgs(type) + " -out " + ShellQuote(out) + " 2>/dev/null");
  });
  const std::string subject = "/CN=hvsig test " + (subject_cn.empty() ? name : subject_cn);
  c.cert = Cached(name + ".crt", [&](const std::string& out) {
    const std::string ext = out + ".ext";
    const std::string serial = std::to_string(std::hash<std::string>{}(name) >> 2);
    if (issuer == nullptr) {
      std::ofstream(ext) << "[req]\ndistinguished_name=dn\nx509_extensions=ext\n[dn]\n[ext]\n"
                         << kCaExtensions;
      Sh("openssl req -x509 -new -key " + ShellQuote(c.key) + " -subj " + ShellQuote(subject) +
         " -days 3650 -set_serial " + serial + " -config " + ShellQuote(ext) + " -out " +
         ShellQuote(out));
    } else {
      std::ofstream(ext) << (!extensions.empty() ? extensions
                             : is_ca          ? std::string(kCaExtensions)
                                              : std::string(kSignerExtensions));
      Sh("openssl req -new -key " + ShellQuote(c.key) + " -subj " + ShellQuote(subject) +
         " | openssl x509 -req -CA " + ShellQuote(issuer->cert) + " -CAkey " +
         ShellQuote(issuer->key) + " -set_serial " + serial + " -days 3650 -extfile " +
         ShellQuote(ext) + " -out " + ShellQuote(out) + " 2>/dev/null");
    }
    std::filesystem::remove(ext);
  });
  return c;
}

struct SigningIdentity {
  Credential ca;
  Credential signer;
};

// A CA and a code-signing certificate it issued, both of `type`.
inline SigningIdentity Identity(const std::string& name, KeyType type) {
  SigningIdentity id;
  id.ca = MakeCredential(name + "-ca", type, nullptr, true);
  id.signer = MakeCredential(name + "-signer", type, &id.ca, false);
  return id;
}

inline Credential UnrelatedCa() { return MakeCredential("unrelated-ca", KeyType::Rsa2048, nullptr, true); }

// root -> intermediate -> leaf, and a look-alike pair that copies the names but not the keys.
struct Chain {
  Credential root, intermediate, leaf;
  Credential impostor_root, impostor_intermediate, impostor_leaf;
};

inline Chain MakeChain() {
  Chain c;
  c.root = MakeCredential("chain-root", KeyType::Rsa2048, nullptr, true);
  c.intermediate = MakeCredential("chain-intermediate", KeyType::P256, &c.root, true);
  c.leaf = MakeCredential("chain-leaf", KeyType::Rsa2048, &c.intermediate, false);
  c.impostor_root = MakeCredential("impostor-root", KeyType::Rsa2048, nullptr, true, "chain-root");
  c.impostor_intermediate = MakeCredential("impostor-intermediate", KeyType::Rsa2048,
                                           &c.impostor_root, true, "chain-intermediate");
  c.impostor_leaf = MakeCredential("impostor-leaf", KeyType::Rsa2048, &c.impostor_intermediate,
                                   false, "chain-leaf");
  return c;
}

// ---- Images -------------------------------------------------------------------------------

inline std::string UnsignedKernel() {
  return Cached("vmlinuz.unsigned", [](const std::string& out) {
    std::filesystem::copy_file(DebianKernel(), out);
    Sh("sbattach --remove " + ShellQuote(out) + " >/dev/null");
  });
}

inline void SbSign(const std::string& in, const std::string& out, const Credential& c,
            const std::string& addcert = "") {
  Sh("sbsign --key " + ShellQuote(c.key) + " --cert " + ShellQuote(c.cert) +
     (addcert.empty() ? "" : " --addcert " + ShellQuote(addcert)) + " --output " +
     ShellQuote(out) + " " + ShellQuote(in) + " >/dev/null 2>&1");
}

// osslsigncode sign (-nest: add a nested signature to an already signed image).
inline void OsslSign(const std::string& in, const std::string& out, const Credential& c,
                     const std::string& alg, bool nest = false) {
  Sh("osslsigncode sign" + std::string(nest ? " -nest" : "") + " -h " + alg + " -key " +
     ShellQuote(c.key) + " -certs " + ShellQuote(c.cert) + " -in " + ShellQuote(in) + " -out " +
     ShellQuote(out) + " >/dev/null");
}

// pesign reads keys from an NSS database only.
inline void PeSign(const std::string& in, const std::string& out, const SigningIdentity& id) {
  const std::string db = Cached("nssdb", [&](const std::string& dir) {
    const std::string p12 = dir + "/signer.p12";
    std::filesystem::create_directories(dir);
    Sh("certutil -N -d sql:" + ShellQuote(dir) + " --empty-password");
    Sh("openssl pkcs12 -export -inkey " + ShellQuote(id.signer.key) + " -in " +
       ShellQuote(id.signer.cert) + " -name hvsig-signer -passout pass: -out " + ShellQuote(p12));
    Sh("pk12util -i " + ShellQuote(p12) + " -d sql:" + ShellQuote(dir) + " -W '' >/dev/null");
    Sh("certutil -A -d sql:" + ShellQuote(dir) + " -n hvsig-ca -t CT,C,C -i " +
       ShellQuote(id.ca.cert));
  });
  Sh("pesign -n sql:" + ShellQuote(db) + " -c hvsig-signer -s --force -i " + ShellQuote(in) +
     " -o " + ShellQuote(out));
}

// A detached CMS signature (DER) over `content`, as Linux's sign-file and IMA tools make them:
// `openssl cms -sign -binary -md sha256` plus `extra` (-noattr, -nocerts, -keyid, -nodetach).
// The files are named after tag in the work directory.
inline Bytes CmsSign(const std::string& tag, const Bytes& content, const Credential& signer,
                     const std::string& extra = "") {
  const std::string in = kWork + "/cms-" + tag + ".in";
  const std::string out = kWork + "/cms-" + tag + ".p7s";
  WriteFile(in, content);
  Sh("openssl cms -sign -binary -outform DER -md sha256 -signer " + ShellQuote(signer.cert) +
     " -inkey " + ShellQuote(signer.key) + " " + extra + " -in " + ShellQuote(in) + " -out " +
     ShellQuote(out));
  return ReadFile(out);
}

// A PEM certificate's DER (cached next to it).
inline Bytes CertificateDer(const std::string& pem_cert) {
  const std::string name = pem_cert.substr(pem_cert.rfind('/') + 1) + ".der";
  return ReadFile(Cached(name, [&](const std::string& out) {
    Sh("openssl x509 -in " + ShellQuote(pem_cert) + " -outform DER -out " + ShellQuote(out));
  }));
}

}  // namespace hvsig::test
