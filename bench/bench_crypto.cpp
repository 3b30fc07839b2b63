// hvsig-bench: every provider compiled in (builtin SIMD-permitted and scalar, OpenSSL,
// libgcrypt) through the same CryptoProvider interface the core uses.
//
// Names are "<operation>/<provider>" so bench/run.sh can pair them up:
//   sha256|sha384|sha512            64 KiB messages, bytes/s
//   rsa2048|rsa4096                 PKCS#1 v1.5 SHA-256 verify, items/s = verifications/s
//   p256|p384                       ECDSA verify (SHA-256 / SHA-384 digest), items/s
//   kernel                          the whole verify path (Authenticode, chain, policy Decide) of
//                                   the image named by HVSIG_BENCH_KERNEL, trusted by the DER
//                                   certificate HVSIG_BENCH_CA in the platform keyring; bytes/s
//                                   and items/s = verifications/s (only when both are set), with
//                                   the heap one verification uses: heap_allocations and
//                                   heap_peak_bytes (malloc is interposed below, which counts
//                                   the libraries' allocations too)
// Keys and signatures are made once with OpenSSL at start-up; every timed verification is
// checked to succeed, so a broken provider shows as an error rather than as a fast result.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "hvsig/authenticode.h"
#include "hvsig/crypto.h"
#include "hvsig/crypto_builtin.h"
#include "hvsig/crypto_openssl.h"
#include "hvsig/crypto_providers.h"
#include "hvsig/image.h"
#include "hvsig/keyring.h"
#include "hvsig/policy.h"
#include "hvsig/x509.h"

// glibc's allocator entry points, for the counting wrappers below.
extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* pointer, size_t size);
void __libc_free(void* pointer);
}

namespace {

// Heap use of the whole process (the executable's malloc interposes on every shared library's).
std::atomic<uint64_t> g_allocations{0};
std::atomic<int64_t> g_live_bytes{0};
std::atomic<int64_t> g_peak_bytes{0};

void* Counted(void* pointer) {
  if (pointer != nullptr) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    const int64_t live = g_live_bytes.fetch_add(static_cast<int64_t>(malloc_usable_size(pointer))) +
                         static_cast<int64_t>(malloc_usable_size(pointer));
    int64_t peak = g_peak_bytes.load();
    while (live > peak && !g_peak_bytes.compare_exchange_weak(peak, live)) {
    }
  }
  return pointer;
}

void Uncount(void* pointer) {
  if (pointer != nullptr) g_live_bytes.fetch_sub(static_cast<int64_t>(malloc_usable_size(pointer)));
}

}  // namespace

extern "C" {
void* malloc(size_t size) { return Counted(__libc_malloc(size)); }
void* calloc(size_t count, size_t size) { return Counted(__libc_calloc(count, size)); }
void* realloc(void* pointer, size_t size) {
  Uncount(pointer);
  return Counted(__libc_realloc(pointer, size));
}
void free(void* pointer) {
  Uncount(pointer);
  __libc_free(pointer);
}
}

namespace {

using Bytes = std::vector<uint8_t>;

// Runs `operation` twice (the first call warms up one-time initialization) and records the
// second call's heap use as the counters heap_allocations and heap_peak_bytes. Every benchmark
// records them (the CSV reporter wants the same counters in every row).
template <typename Operation>
void RecordHeapUse(benchmark::State& state, Operation operation) {
  operation();
  const uint64_t allocations_before = g_allocations.load();
  const int64_t live_before = g_live_bytes.load();
  g_peak_bytes.store(live_before);
  operation();
  const uint64_t allocations = g_allocations.load() - allocations_before;
  const int64_t peak_bytes = g_peak_bytes.load() - live_before;
  state.counters["heap_allocations"] = static_cast<double>(allocations);
  state.counters["heap_peak_bytes"] = static_cast<double>(peak_bytes);
}

struct NamedProvider {
  const char* name;
  const hvsig::CryptoProvider* provider;
};

hvsig::Input AsInput(const Bytes& bytes) { return hvsig::Input(bytes.data(), bytes.size()); }

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "hvsig-bench: setup failed: %s\n", what);
  std::exit(2);
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

Bytes Sha(hvsig::DigestAlg alg, const Bytes& message) {
  Bytes digest(hvsig::DigestLength(alg));
  if (hvsig::DigestOnce(hvsig::OpenSslProvider(), alg, AsInput(message), digest.data()) !=
      hvsig::Result::Success) {
    Die("digest");
  }
  return digest;
}

Bytes SignDigest(EVP_PKEY* key, const Bytes& digest, const std::function<bool(EVP_PKEY_CTX*)>& configure) {
  const PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  size_t length = 0;
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 || !configure(ctx.get()) ||
      EVP_PKEY_sign(ctx.get(), nullptr, &length, digest.data(), digest.size()) != 1) {
    Die("sign");
  }
  Bytes signature(length);
  if (EVP_PKEY_sign(ctx.get(), signature.data(), &length, digest.data(), digest.size()) != 1) {
    Die("sign");
  }
  signature.resize(length);
  return signature;
}

Bytes BignumParam(EVP_PKEY* key, const char* name) {
  BIGNUM* value = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &value) != 1) Die("key parameter");
  Bytes bytes(BN_num_bytes(value));
  BN_bn2bin(value, bytes.data());
  BN_free(value);
  return bytes;
}

const Bytes& Message() {
  static const Bytes message(64 * 1024, 0xa5);
  return message;
}

struct RsaCase {
  Bytes modulus;
  Bytes exponent;
  Bytes digest;
  Bytes signature;
};

RsaCase MakeRsaCase(unsigned bits) {
  const PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
  if (!key) Die("RSA keygen");
  RsaCase c;
  c.modulus = BignumParam(key.get(), OSSL_PKEY_PARAM_RSA_N);
  c.exponent = BignumParam(key.get(), OSSL_PKEY_PARAM_RSA_E);
  c.digest = Sha(hvsig::DigestAlg::Sha256, Bytes{'h', 'v', 's', 'i', 'g'});
  c.signature = SignDigest(key.get(), c.digest, [](EVP_PKEY_CTX* ctx) {
    return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
           EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1;
  });
  return c;
}

struct EcCase {
  hvsig::EcCurve curve;
  Bytes point;
  Bytes digest;
  Bytes signature;
};

EcCase MakeEcCase(hvsig::EcCurve curve) {
  const bool p256 = curve == hvsig::EcCurve::P256;
  const PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", p256 ? "P-256" : "P-384"));
  if (!key) Die("EC keygen");
  EcCase c;
  c.curve = curve;
  size_t length = 0;
  if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0, &length) != 1) {
    Die("EC point");
  }
  c.point.resize(length);
  if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY, c.point.data(), length,
                                      &length) != 1) {
    Die("EC point");
  }
  c.digest = Sha(p256 ? hvsig::DigestAlg::Sha256 : hvsig::DigestAlg::Sha384,
                 Bytes{'h', 'v', 's', 'i', 'g'});
  c.signature = SignDigest(key.get(), c.digest, [](EVP_PKEY_CTX*) { return true; });
  return c;
}

void BenchDigest(benchmark::State& state, const hvsig::CryptoProvider* provider,
                 hvsig::DigestAlg alg) {
  uint8_t out[hvsig::kMaxDigestLength];
  RecordHeapUse(state, [&] { return hvsig::DigestOnce(*provider, alg, AsInput(Message()), out); });
  for (auto _ : state) {
    if (hvsig::DigestOnce(*provider, alg, AsInput(Message()), out) != hvsig::Result::Success) {
      state.SkipWithError("digest failed");
      break;
    }
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Message().size()));
}

void BenchRsa(benchmark::State& state, const hvsig::CryptoProvider* provider, const RsaCase* c) {
  const hvsig::RsaPublicKey key{AsInput(c->modulus), AsInput(c->exponent)};
  RecordHeapUse(state, [&] {
    return provider->verify_rsa_pkcs1(*provider, key, hvsig::DigestAlg::Sha256, AsInput(c->digest),
                                      AsInput(c->signature));
  });
  for (auto _ : state) {
    const hvsig::Result result = provider->verify_rsa_pkcs1(
        *provider, key, hvsig::DigestAlg::Sha256, AsInput(c->digest), AsInput(c->signature));
    if (result != hvsig::Result::Success) {
      state.SkipWithError(hvsig::ResultName(result));
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BenchEcdsa(benchmark::State& state, const hvsig::CryptoProvider* provider, const EcCase* c) {
  const hvsig::EcPublicKey key{c->curve, AsInput(c->point)};
  RecordHeapUse(state, [&] {
    return provider->verify_ecdsa(*provider, key, AsInput(c->digest), AsInput(c->signature));
  });
  for (auto _ : state) {
    const hvsig::Result result =
        provider->verify_ecdsa(*provider, key, AsInput(c->digest), AsInput(c->signature));
    if (result != hvsig::Result::Success) {
      state.SkipWithError(hvsig::ResultName(result));
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

Bytes ReadWholeFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) Die(path);
  if (bytes.empty()) Die(path);
  return bytes;
}

// The image and the platform keyring holding its CA, as `hvsig verify --db` would load them.
struct KernelCase {
  Bytes image;
  Bytes ca_der;
  hvsig::Certificate ca{};
  std::unique_ptr<hvsig::keyring::Keyring> platform = std::make_unique<hvsig::keyring::Keyring>();
};

std::unique_ptr<KernelCase> MakeKernelCase(const char* image_path, const char* ca_path) {
  auto c = std::make_unique<KernelCase>();
  c->image = ReadWholeFile(image_path);
  c->ca_der = ReadWholeFile(ca_path);
  hvsig::keyring::Init(*c->platform, hvsig::keyring::KeyringId::Platform);
  if (hvsig::ParseCertificate(hvsig::OpenSslProvider(), AsInput(c->ca_der), c->ca) !=
          hvsig::Result::Success ||
      hvsig::keyring::AddCertificate(*c->platform, c->ca, hvsig::keyring::Origin::Db) !=
          hvsig::Result::Success) {
    Die("HVSIG_BENCH_CA is not a DER certificate");
  }
  return c;
}

void BenchKernel(benchmark::State& state, const hvsig::CryptoProvider* provider,
                 const KernelCase* c) {
  hvsig::policy::Keyrings keyrings{};
  keyrings.rings[static_cast<size_t>(hvsig::keyring::KeyringId::Platform)] = c->platform.get();
  const hvsig::policy::Policy policy = hvsig::policy::DefaultPolicy(hvsig::policy::Purpose::Kexec);
  hvsig::authenticode::Options options;
  hvsig::policy::PrepareOptions(policy, keyrings, options);
  auto verification = std::make_unique<hvsig::authenticode::Verification>();
  auto decision = std::make_unique<hvsig::policy::Decision>();
  Bytes storage(1 << 20);
  hvsig::MemoryImage memory(AsInput(c->image));
  const auto verify = [&] {
    const hvsig::ImageSource source = memory.Source();
    if (hvsig::authenticode::Prepare(*provider, source, options,
                                     hvsig::MutableBytes{storage.data(), storage.size()},
                                     *verification) == hvsig::Result::Success) {
      hvsig::authenticode::Hash(source, nullptr, *verification);
    }
    hvsig::policy::Decide(*provider, source, keyrings, policy, options, *verification, *decision);
    return decision->verdict == hvsig::policy::Verdict::Trusted;
  };
  RecordHeapUse(state, verify);
  for (auto _ : state) {
    if (!verify()) {
      state.SkipWithError("the image is not trusted");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * c->image.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// "builtin" keeps its historical benchmark name (bench/run.sh, docs/performance.md).
std::string BenchName(const char* provider) {
  return std::string(provider) == "builtin" ? "builtin-simd" : provider;
}

}  // namespace

int main(int argc, char** argv) {
  static std::vector<std::string> names;
  std::vector<NamedProvider> providers;
  for (const char* name : hvsig::ProviderNames()) names.push_back(BenchName(name));
  for (size_t i = 0; i < names.size(); ++i) {
    providers.push_back({names[i].c_str(), hvsig::ProviderByName(hvsig::ProviderNames()[i])});
  }
  static const RsaCase rsa2048 = MakeRsaCase(2048);
  static const RsaCase rsa4096 = MakeRsaCase(4096);
  static const EcCase p256 = MakeEcCase(hvsig::EcCurve::P256);
  static const EcCase p384 = MakeEcCase(hvsig::EcCurve::P384);

  const struct {
    const char* name;
    hvsig::DigestAlg alg;
  } digests[] = {{"sha256", hvsig::DigestAlg::Sha256},
                 {"sha384", hvsig::DigestAlg::Sha384},
                 {"sha512", hvsig::DigestAlg::Sha512}};
  for (const auto& digest : digests) {
    for (const NamedProvider& p : providers) {
      benchmark::RegisterBenchmark((std::string(digest.name) + "/" + p.name).c_str(), BenchDigest,
                                   p.provider, digest.alg);
    }
  }
  for (const NamedProvider& p : providers) {
    benchmark::RegisterBenchmark((std::string("rsa2048/") + p.name).c_str(), BenchRsa, p.provider,
                                 &rsa2048);
  }
  for (const NamedProvider& p : providers) {
    benchmark::RegisterBenchmark((std::string("rsa4096/") + p.name).c_str(), BenchRsa, p.provider,
                                 &rsa4096);
  }
  for (const NamedProvider& p : providers) {
    benchmark::RegisterBenchmark((std::string("p256/") + p.name).c_str(), BenchEcdsa, p.provider,
                                 &p256);
  }
  for (const NamedProvider& p : providers) {
    benchmark::RegisterBenchmark((std::string("p384/") + p.name).c_str(), BenchEcdsa, p.provider,
                                 &p384);
  }
  const char* kernel_path = std::getenv("HVSIG_BENCH_KERNEL");
  const char* ca_path = std::getenv("HVSIG_BENCH_CA");
  static std::unique_ptr<KernelCase> kernel;
  if (kernel_path != nullptr && ca_path != nullptr) {
    kernel = MakeKernelCase(kernel_path, ca_path);
    for (const NamedProvider& p : providers) {
      benchmark::RegisterBenchmark((std::string("kernel/") + p.name).c_str(), BenchKernel,
                                   p.provider, kernel.get());
    }
  }

  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("builtin_sha256_simd",
                              hvsig::BuiltinSha256HasSimd() ? "sha-ni" : "none");
  benchmark::AddCustomContext("builtin_sha512_simd",
                              hvsig::BuiltinSha512HasSimd() ? "avx2+bmi2" : "none");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
