// hvsig-bench: the builtin provider (SIMD-permitted and scalar) against the OpenSSL provider,
// through the same CryptoProvider interface the core uses.
//
// Names are "<operation>/<provider>" so bench/run.sh can pair them up:
//   sha256|sha384|sha512            64 KiB messages, bytes/s
//   rsa2048|rsa4096                 PKCS#1 v1.5 SHA-256 verify, items/s = verifications/s
//   p256|p384                       ECDSA verify (SHA-256 / SHA-384 digest), items/s
// Keys and signatures are made once with OpenSSL at start-up; every timed verification is
// checked to succeed, so a broken provider shows as an error rather than as a fast result.
#include <benchmark/benchmark.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hvsig/crypto.h"
#include "hvsig/crypto_builtin.h"
#include "hvsig/crypto_openssl.h"

namespace {

using Bytes = std::vector<uint8_t>;

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

}  // namespace

int main(int argc, char** argv) {
  static const hvsig::CryptoProvider simd =
      hvsig::MakeBuiltinProvider(hvsig::HostedVectorUnitHooks());
  const NamedProvider providers[] = {
      {"builtin-simd", &simd},
      {"builtin-scalar", &hvsig::BuiltinProvider()},
      {"openssl", &hvsig::OpenSslProvider()},
  };
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

  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("builtin_sha256_simd",
                              hvsig::BuiltinSha256HasSimd() ? "sha-ni" : "none");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
