// Livepatch payload fixtures shared by the livepatch tests (livepatch_test.cpp: the core and
// the CLI; hv_livepatch_test.cpp: the hypervisor model; xenlivepatch_test.cpp: Debian's
// xen-livepatch under hvsig-dom0): objects gcc compiles at test time with a 104-byte
// struct livepatch_func (Xen 4.17, x86-64) in .livepatch.funcs, the signer and its key, both
// signature containers, and ELF access for mutations. Cached in HVSIG_AUTHENTICODE_WORK.
#pragma once

#include <stdexcept>
#include <string>

#include "signing_support.h"
#include "test_support.h"

namespace hvsig::test {

// Two patched functions; `extra` is appended to the source (more sections, metadata).
inline std::string PatchSource(const std::string& extra = "") {
  return R"(struct livepatch_func {
  const char *name;
  void *new_addr;
  void *old_addr;
  unsigned int new_size, old_size;
  unsigned char version;
  unsigned char pad[39];
  unsigned char expect[32];
};
_Static_assert(sizeof(struct livepatch_func) == 104, "Xen 4.17 x86-64 layout");
int patched_function(int x) { return x * 3 + 1; }
int other_patched_function(int x) { return x - 7; }
struct livepatch_func lp_funcs[] __attribute__((section(".livepatch.funcs"), used)) = {
  {"original_function", (void *)patched_function, 0, 16, 16, 2, {0}, {0}},
  {"other_function", (void *)other_patched_function, 0, 16, 16, 2, {0}, {0}},
};
)" + extra;
}

// `gcc -c` of source into kWork/name (cached).
inline std::string Compile(const std::string& name, const std::string& source) {
  return Cached(name, [&](const std::string& out) {
    const std::string c = out + ".c";
    WriteFile(c, BytesOf(source));
    Sh("gcc -c -O2 -x c " + ShellQuote(c) + " -o " + ShellQuote(out));
  });
}

inline std::string PatchObject() { return Compile("lp.o", PatchSource()); }

inline SigningIdentity Signer() { return Identity("livepatch", KeyType::Rsa2048); }

// The key's public half as SubjectPublicKeyInfo (PEM).
inline std::string KeyName(const Credential& c) { return c.key.substr(c.key.rfind('/') + 1); }
inline std::string PublicKey(const Credential& c) {
  return Cached(KeyName(c) + ".pub.pem", [&](const std::string& out) {
    Sh("openssl pkey -in " + ShellQuote(c.key) + " -pubout -out " + ShellQuote(out));
  });
}

#ifdef HVSIG_TOOL
// `hvsig sign livepatch --format note|modsig` (cached as kWork/name).
inline std::string HvsigSign(const std::string& format, const std::string& in, const Credential& c,
                             const std::string& name) {
  return Cached(name, [&](const std::string& out) {
    Sh(ShellQuote(HVSIG_TOOL) + " sign livepatch --format " + format + " --key " +
       ShellQuote(c.key) + " --cert " + ShellQuote(c.cert) + " " + ShellQuote(in) + " -o " +
       ShellQuote(out));
  });
}

inline std::string NoteSigned() { return HvsigSign("note", PatchObject(), Signer().signer, "lp.note.o"); }
inline std::string ModSigned() { return HvsigSign("modsig", PatchObject(), Signer().signer, "lp.modsig.o"); }
#endif

// ---- ELF access for mutations (little-endian ELF64) ----------------------------------------

struct Elf {
  const Bytes& b;
  uint64_t shoff() const { return GetLe64(b, 40); }
  uint16_t shnum() const { return GetLe16(b, 60); }
  uint64_t header(uint32_t i) const { return shoff() + 64ull * i; }
  std::string name(uint32_t i) const {
    const uint64_t strtab = GetLe64(b, header(GetLe16(b, 62)) + 24);
    return std::string(reinterpret_cast<const char*>(b.data() + strtab + GetLe32(b, header(i))));
  }
  uint32_t index(const std::string& wanted) const {
    for (uint32_t i = 1; i < shnum(); ++i) {
      if (name(i) == wanted) return i;
    }
    throw std::runtime_error("no section " + wanted);
  }
  uint64_t offset(const std::string& section) const { return GetLe64(b, header(index(section)) + 24); }
};

// ---- Format (b): Linux's module signature layout -------------------------------------------

// payload, the PKCS#7 blob, struct module_signature {0, 0, PKEY_ID_PKCS7, 0, 0, {0}, be32
// length} and the marker.
inline Bytes Assemble(const Bytes& payload, const Bytes& pkcs7) {
  Bytes out = payload;
  out.insert(out.end(), pkcs7.begin(), pkcs7.end());
  const uint32_t n = static_cast<uint32_t>(pkcs7.size());
  const Bytes info{0, 0, 2, 0, 0, 0, 0, 0, static_cast<uint8_t>(n >> 24),
                   static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 8),
                   static_cast<uint8_t>(n)};
  out.insert(out.end(), info.begin(), info.end());
  const std::string marker = "~Module signature appended~\n";
  out.insert(out.end(), marker.begin(), marker.end());
  return out;
}

}  // namespace hvsig::test
