// hvsig-vectors: runs Wycheproof signature-verification vector files against a CryptoProvider.
//
// Every group's key goes through the core's SubjectPublicKeyInfo parser, each message is hashed
// with the provider's digest, and the provider's verify function decides. hvsig is strict:
// "valid" must verify, "invalid" and "acceptable" must be rejected.
//
// A group whose key the parser rejects is still run: no signature can verify under a rejected
// key, so every test in it counts as "rejected". That passes exactly when the vectors call none
// of its signatures "valid"; a "valid" one fails, because a verifier that cannot load a key the
// vectors consider good is wrong for those vectors. (Skipping such a group instead would let a
// parser that rejects every key pass every file.)
//
// Groups and files outside the supported set are reported as "unsupported" and never counted as
// passed; their tests still count towards the file's numberOfTests check.
#include <cstdint>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "hvsig/crypto.h"
#include "hvsig/crypto_providers.h"
#include "hvsig/x509.h"

namespace {

using nlohmann::json;

constexpr int kExitAllPassed = 0;
constexpr int kExitSomeFailed = 1;
constexpr int kExitUsageOrInput = 2;
constexpr int kExitUnsupported = 3;

constexpr int64_t kMinRsaBits = 2048;
constexpr int64_t kMaxRsaBits = 8192;

// A file that is not in the Wycheproof format (bad JSON, a required field missing or of the
// wrong type, bad hex): reported like an unreadable file.
struct MalformedFile : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class Schema { RsaPkcs1, RsaPss, Ecdsa };

struct SchemaInfo {
  Schema schema;
  const char* name_prefix;  // Wycheproof names schemas "<name>_schema[_vN].json"
  const char* group_type;
};

constexpr SchemaInfo kSchemas[] = {
    {Schema::RsaPkcs1, "rsassa_pkcs1_verify_schema", "RsassaPkcs1Verify"},
    {Schema::RsaPss, "rsassa_pss_verify_schema", "RsassaPssVerify"},
    {Schema::Ecdsa, "ecdsa_verify_schema", "EcdsaVerify"},
};

const SchemaInfo* FindSchema(const std::string& name) {
  for (const SchemaInfo& info : kSchemas) {
    if (name.rfind(info.name_prefix, 0) == 0) {
      return &info;
    }
  }
  return nullptr;
}

// --- JSON access: required fields throw MalformedFile --------------------------------------

const json& Field(const json& object, const char* name) {
  if (!object.is_object() || !object.contains(name)) {
    throw MalformedFile(std::string("missing field \"") + name + "\"");
  }
  return object[name];
}

std::string StringField(const json& object, const char* name) {
  const json& value = Field(object, name);
  if (!value.is_string()) {
    throw MalformedFile(std::string("field \"") + name + "\" is not a string");
  }
  return value.get<std::string>();
}

int64_t IntegerField(const json& object, const char* name) {
  const json& value = Field(object, name);
  if (!value.is_number_integer()) {
    throw MalformedFile(std::string("field \"") + name + "\" is not an integer");
  }
  return value.get<int64_t>();
}

const json& ArrayField(const json& object, const char* name) {
  const json& value = Field(object, name);
  if (!value.is_array()) {
    throw MalformedFile(std::string("field \"") + name + "\" is not an array");
  }
  return value;
}

std::optional<std::string> OptionalString(const json& object, const char* name) {
  if (!object.is_object() || !object.contains(name)) {
    return std::nullopt;
  }
  return StringField(object, name);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<uint8_t> HexField(const json& object, const char* name) {
  const std::string hex = StringField(object, name);
  if (hex.size() % 2 != 0) {
    throw MalformedFile(std::string("field \"") + name + "\" has an odd number of hex digits");
  }
  std::vector<uint8_t> bytes(hex.size() / 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    const int high = HexDigit(hex[2 * i]);
    const int low = HexDigit(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      throw MalformedFile(std::string("field \"") + name + "\" is not hex");
    }
    bytes[i] = static_cast<uint8_t>(high << 4 | low);
  }
  return bytes;
}

hvsig::Input AsInput(const std::vector<uint8_t>& bytes) {
  return hvsig::Input(bytes.data(), bytes.size());
}

// --- what one group needs --------------------------------------------------------------------

std::optional<hvsig::DigestAlg> SupportedDigest(const std::string& wycheproof_name) {
  if (wycheproof_name == "SHA-256") return hvsig::DigestAlg::Sha256;
  if (wycheproof_name == "SHA-384") return hvsig::DigestAlg::Sha384;
  if (wycheproof_name == "SHA-512") return hvsig::DigestAlg::Sha512;
  return std::nullopt;
}

std::optional<hvsig::EcCurve> SupportedCurve(const std::string& wycheproof_name) {
  if (wycheproof_name == "secp256r1") return hvsig::EcCurve::P256;
  if (wycheproof_name == "secp384r1") return hvsig::EcCurve::P384;
  return std::nullopt;
}

// key holds views into spki: moving a GroupPlan keeps the vector's buffer, so they stay valid.
struct GroupPlan {
  std::string unsupported;  // why the group is outside the supported set; empty if inside
  hvsig::DigestAlg digest = hvsig::DigestAlg::Sha256;
  int32_t salt_length = -1;  // PSS
  std::vector<uint8_t> spki;
  hvsig::Result key_result = hvsig::Result::Success;  // the parser's verdict on spki
  hvsig::SubjectPublicKeyInfo key{};
};

// Wycheproof v1 groups carry publicKeyDer; v0 groups called it keyDer.
std::vector<uint8_t> SpkiField(const json& group) {
  return group.contains("publicKeyDer") ? HexField(group, "publicKeyDer") : HexField(group, "keyDer");
}

std::optional<std::string> DeclaredCurve(const json& group) {
  for (const char* key_field : {"publicKey", "key"}) {
    if (group.contains(key_field) && group[key_field].is_object()) {
      if (auto curve = OptionalString(group[key_field], "curve")) {
        return curve;
      }
    }
  }
  return std::nullopt;
}

size_t ModulusBits(hvsig::Input modulus) {
  size_t skip = 0;
  while (skip < modulus.size() && modulus[skip] == 0) ++skip;
  if (skip == modulus.size()) return 0;
  size_t top_bits = 0;
  for (uint8_t top = modulus[skip]; top != 0; top >>= 1) ++top_bits;
  return (modulus.size() - skip - 1) * 8 + top_bits;
}

// Decides support from what the group declares, then parses its key. Where the group does not
// declare something (keySize, curve), the parsed key answers instead.
GroupPlan PlanGroup(const hvsig::CryptoProvider& provider, const SchemaInfo& schema,
                    const json& group) {
  GroupPlan plan;
  if (auto type = OptionalString(group, "type"); type && *type != schema.group_type) {
    plan.unsupported = "group type " + *type;
    return plan;
  }
  const std::string sha = StringField(group, "sha");
  const auto digest = SupportedDigest(sha);
  if (!digest) {
    plan.unsupported = "hash " + sha;
    return plan;
  }
  plan.digest = *digest;

  std::optional<int64_t> key_size;
  if (schema.schema != Schema::Ecdsa && group.contains("keySize")) {
    key_size = IntegerField(group, "keySize");
  }
  if (key_size && (*key_size < kMinRsaBits || *key_size > kMaxRsaBits)) {
    plan.unsupported = "RSA key size " + std::to_string(*key_size);
    return plan;
  }
  if (schema.schema == Schema::RsaPss) {
    const std::string mgf = StringField(group, "mgf");
    const std::string mgf_sha = StringField(group, "mgfSha");
    const int64_t salt_length = IntegerField(group, "sLen");
    if (mgf != "MGF1") {
      plan.unsupported = "mask generation function " + mgf;
      return plan;
    }
    if (mgf_sha != sha) {
      plan.unsupported = "MGF1 hash " + mgf_sha + " differs from the hash " + sha;
      return plan;
    }
    if (salt_length < 0 || salt_length > INT32_MAX) {
      throw MalformedFile("sLen out of range");
    }
    plan.salt_length = static_cast<int32_t>(salt_length);
  }
  const std::optional<std::string> curve = DeclaredCurve(group);
  if (schema.schema == Schema::Ecdsa && curve && !SupportedCurve(*curve)) {
    plan.unsupported = "curve " + *curve;
    return plan;
  }

  plan.spki = SpkiField(group);
  plan.key_result = hvsig::ParseSubjectPublicKeyInfo(provider, AsInput(plan.spki), plan.key);
  if (plan.key_result == hvsig::Result::CertUnsupportedCurve && !curve) {
    plan.unsupported = "curve of the key";
    return plan;
  }
  if (plan.key_result != hvsig::Result::Success) {
    return plan;
  }
  const hvsig::KeyType expected_type =
      schema.schema == Schema::Ecdsa ? hvsig::KeyType::Ec : hvsig::KeyType::Rsa;
  if (plan.key.type != expected_type) {
    plan.unsupported = "key type does not match the schema";
    return plan;
  }
  if (expected_type == hvsig::KeyType::Rsa && !key_size) {
    const auto bits = static_cast<int64_t>(ModulusBits(plan.key.rsa.modulus));
    if (bits < kMinRsaBits || bits > kMaxRsaBits) {
      plan.unsupported = "RSA key size " + std::to_string(bits);
    }
  }
  return plan;
}

// --- running ---------------------------------------------------------------------------------

hvsig::Result Verify(const hvsig::CryptoProvider& provider, Schema schema, const GroupPlan& plan,
                     const std::vector<uint8_t>& message, const std::vector<uint8_t>& signature) {
  if (plan.key_result != hvsig::Result::Success) {
    return plan.key_result;
  }
  uint8_t digest[hvsig::kMaxDigestLength];
  HVSIG_TRY(hvsig::DigestOnce(provider, plan.digest, AsInput(message), digest));
  const hvsig::Input digest_input(digest, hvsig::DigestLength(plan.digest));
  switch (schema) {
    case Schema::RsaPkcs1:
      return provider.verify_rsa_pkcs1(provider, plan.key.rsa, plan.digest, digest_input,
                                       AsInput(signature));
    case Schema::RsaPss:
      return provider.verify_rsa_pss(provider, plan.key.rsa, plan.digest, plan.digest,
                                     plan.salt_length, digest_input, AsInput(signature));
    case Schema::Ecdsa:
      return provider.verify_ecdsa(provider, plan.key.ec, digest_input, AsInput(signature));
  }
  return hvsig::Result::InvalidArgument;
}

struct Totals {
  uint64_t passed = 0;
  uint64_t failed = 0;
  bool unsupported = false;
  bool unreadable = false;
};

struct FileCounts {
  uint64_t passed = 0;
  uint64_t failed = 0;
  uint64_t not_run = 0;  // tests of unsupported groups
  bool unsupported = false;
};

class VectorRunner {
 public:
  VectorRunner(const hvsig::CryptoProvider& provider, bool verbose, bool print_results)
      : provider_(provider), verbose_(verbose), print_results_(print_results) {}

  void RunFile(const std::string& path, Totals& totals) {
    std::ifstream stream(path, std::ios::binary);
    std::stringstream text;
    text << stream.rdbuf();
    if (!stream || stream.bad()) {
      std::cerr << path << ": cannot read\n";
      totals.unreadable = true;
      return;
    }
    FileCounts counts;
    try {
      const json document = json::parse(text.str());
      if (!RunDocument(path, document, counts)) {
        totals.unsupported = true;
        return;
      }
    } catch (const json::exception& e) {
      std::cerr << path << ": malformed: " << e.what() << "\n";
      totals.unreadable = true;
      return;
    } catch (const MalformedFile& e) {
      std::cerr << path << ": malformed: " << e.what() << "\n";
      totals.unreadable = true;
      return;
    }
    std::cout << path << ": " << counts.passed << " passed, " << counts.failed << " failed\n";
    totals.passed += counts.passed;
    totals.failed += counts.failed;
    totals.unsupported = totals.unsupported || counts.unsupported;
  }

 private:
  // False if the whole file is outside the supported set.
  bool RunDocument(const std::string& path, const json& document, FileCounts& counts) {
    const std::string schema_name = StringField(document, "schema");
    const SchemaInfo* schema = FindSchema(schema_name);
    if (schema == nullptr) {
      std::cout << path << ": unsupported: schema " << schema_name << "\n";
      return false;
    }
    const json& groups = ArrayField(document, "testGroups");
    for (size_t index = 0; index < groups.size(); ++index) {
      RunGroup(path, *schema, index, groups[index], counts);
    }
    const int64_t declared = IntegerField(document, "numberOfTests");
    const uint64_t seen = counts.passed + counts.failed + counts.not_run;
    if (declared < 0 || static_cast<uint64_t>(declared) != seen) {
      std::cout << path << ": numberOfTests is " << declared << " but the file holds " << seen
                << " tests\n";
      ++counts.failed;
    }
    return true;
  }

  void RunGroup(const std::string& path, const SchemaInfo& schema, size_t index,
                const json& group, FileCounts& counts) {
    const json& tests = ArrayField(group, "tests");
    const GroupPlan plan = PlanGroup(provider_, schema, group);
    if (!plan.unsupported.empty()) {
      std::cout << path << ": group " << index << ": unsupported: " << plan.unsupported << " ("
                << tests.size() << " tests not run)\n";
      counts.unsupported = true;
      counts.not_run += tests.size();
      return;
    }
    for (const json& test : tests) {
      const int64_t id = IntegerField(test, "tcId");
      const std::string expected = StringField(test, "result");
      if (expected != "valid" && expected != "invalid" && expected != "acceptable") {
        throw MalformedFile("tcId " + std::to_string(id) + ": unknown result \"" + expected + "\"");
      }
      const hvsig::Result result =
          Verify(provider_, schema.schema, plan, HexField(test, "msg"), HexField(test, "sig"));
      const bool accepted = result == hvsig::Result::Success;
      if (print_results_) {
        std::cout << path << ": tcId " << id << ": " << hvsig::ResultName(result) << "\n";
      }
      if (accepted == (expected == "valid")) {
        ++counts.passed;
        continue;
      }
      ++counts.failed;
      if (verbose_) {
        std::cout << path << ": tcId " << id << " FAILED: expected " << expected << ", got "
                  << hvsig::ResultName(result);
        if (plan.key_result != hvsig::Result::Success) {
          std::cout << " (key rejected by the parser)";
        }
        if (auto comment = OptionalString(test, "comment"); comment && !comment->empty()) {
          std::cout << " [" << *comment << "]";
        }
        std::cout << "\n";
      }
    }
  }

  const hvsig::CryptoProvider& provider_;
  bool verbose_;
  bool print_results_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Runs Wycheproof signature-verification vector files (rsassa_pkcs1_verify, "
               "rsassa_pss_verify, ecdsa_verify with DER signatures) against a crypto provider."};
  app.footer(
      "Supported: RSA 2048..8192 bits with SHA-256/384/512 (PKCS#1 v1.5, and PSS with MGF1 over\n"
      "the same hash, any salt length); ECDSA secp256r1/secp384r1 with SHA-256/384/512.\n"
      "\"valid\" must verify; \"invalid\" and \"acceptable\" must be rejected. A group whose key\n"
      "the parser rejects counts every test as rejected, so any \"valid\" one in it fails.\n"
      "Exit status: 0 all passed; 1 a test failed or a file's numberOfTests disagrees;\n"
      "2 usage error, or a file unreadable or not in the Wycheproof format;\n"
      "3 a file or group outside the supported set (nothing failed).\n"
      "When several apply, the lowest non-zero one wins.");
  std::string provider_name = hvsig::DefaultProviderName();
  bool verbose = false;
  bool print_results = false;
  std::vector<std::string> files;
  const auto provider_names = hvsig::ProviderNames();
  app.add_option("--provider", provider_name,
                 "builtin (SHA-NI when the CPU has it), builtin-scalar, or a library provider "
                 "compiled in (openssl, gcrypt)")
      ->check(CLI::IsMember(std::vector<std::string>(provider_names.begin(), provider_names.end())))
      ->capture_default_str();
  app.add_flag("-v,--verbose", verbose, "print each failing tcId with the Result name");
  app.add_flag("--results", print_results,
               "print every test's Result (\"<file>: tcId <n>: <Result>\"), for comparing providers");
  app.add_option("files", files, "Wycheproof *_test.json files")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);
    return status == 0 ? kExitAllPassed : kExitUsageOrInput;
  }

  const hvsig::CryptoProvider& provider = *hvsig::ProviderByName(provider_name);
  VectorRunner runner(provider, verbose, print_results);
  Totals totals;
  for (const std::string& file : files) {
    runner.RunFile(file, totals);
  }
  std::cout << totals.passed << " passed, " << totals.failed << " failed\n";
  if (totals.failed != 0) return kExitSomeFailed;
  if (totals.unreadable) return kExitUsageOrInput;
  if (totals.unsupported) return kExitUnsupported;
  return kExitAllPassed;
}
