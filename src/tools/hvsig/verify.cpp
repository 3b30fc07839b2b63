#include <cstdio>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hvsig/authenticode.h"
#include "tools/common/certs.h"
#include "tools/common/file_image.h"
#include "tools/hvsig/commands.h"

namespace hvsig::tools {
namespace {

// Signatures larger than this in total are refused (Debian's and Microsoft's are < 16 KiB).
constexpr size_t kSignatureStorage = 1 << 20;

std::string Describe(Result r, uint64_t offset) {
  return std::string(ResultName(r)) + " at offset " + std::to_string(offset);
}

nlohmann::json VerdictJson(const authenticode::Verification& v,
                           const authenticode::SignatureVerdict& s, const CertificateStore& anchors) {
  const size_t length = DigestLength(s.digest_alg);
  nlohmann::json j;
  j["index"] = s.table_index;
  j["nested_in"] = s.parent < 0 ? nlohmann::json(nullptr) : nlohmann::json(s.parent);
  j["status"] = s.status == Result::Success ? "trusted" : ResultName(s.status);
  if (s.status != Result::Success) j["offset"] = s.error_offset;
  j["digest_algorithm"] = DigestAlgName(s.digest_alg);
  j["image_digest"] = Hex(s.image_digest, length);
  j["signed_digest"] = Hex(s.signed_digest, length);
  j["digest_match"] = s.digest_match;
  if (s.signer_found) {
    j["signer"] = {{"subject", NameToString(s.signer_subject)},
                   {"issuer", NameToString(s.signer_issuer)},
                   {"serial", Hex(s.signer_serial.data(), s.signer_serial.size())}};
  } else {
    j["signer"] = nullptr;
  }
  nlohmann::json chain = nlohmann::json::array();
  for (uint8_t i = 0; i < s.chain_length; ++i) {
    Certificate cert{};
    // Chain entries already parsed during verification; re-parse for their names.
    if (ParseCertificate(SelectProvider("builtin"), s.chain[i], cert) == Result::Success) {
      chain.push_back({{"subject", NameToString(cert.subject)},
                       {"issuer", NameToString(cert.issuer)}});
    }
  }
  j["chain"] = chain;
  if (s.anchor_index >= 0) {
    const Certificate& anchor = anchors.parsed[static_cast<size_t>(s.anchor_index)];
    j["anchor"] = {{"subject", NameToString(anchor.subject)},
                   {"file", anchors.origin[static_cast<size_t>(s.anchor_index)]}};
  } else {
    j["anchor"] = nullptr;
  }
  (void)v;
  return j;
}

std::string Reason(const authenticode::Verification& v, const CertificateStore& anchors) {
  if (v.verdict == Result::Success) {
    const authenticode::SignatureVerdict& s = v.verdicts[static_cast<size_t>(v.trusted_by)];
    return "signature " + std::to_string(v.trusted_by) + " by " + NameToString(s.signer_subject) +
           " chains to " + anchors.origin[static_cast<size_t>(s.anchor_index)];
  }
  std::string reason = Describe(v.error.result, v.error.offset);
  if (v.error_signature >= 0) reason += " (signature " + std::to_string(v.error_signature) + ")";
  return reason;
}

}  // namespace

int RunVerify(const GlobalOptions& global, const VerifyOptions& options) {
  const CryptoProvider& provider = SelectProvider(global.provider);
  CertificateStore anchors;
  std::string io_error;
  for (const std::string& path : options.certs) {
    if (!LoadCertificates(path, provider, anchors, io_error)) {
      std::fprintf(stderr, "hvsig verify: %s\n", io_error.c_str());
      return kExitUsage;
    }
  }
  FileImage file;
  if (!file.Open(options.image, io_error)) {
    std::fprintf(stderr, "hvsig verify: %s\n", io_error.c_str());
    return kExitUsage;
  }

  authenticode::Options verify_options;
  verify_options.profile = options.profile == "compat" ? pe::Profile::Compat : pe::Profile::Strict;
  verify_options.trust_nested = options.trust_nested;
  verify_options.check_time = options.check_time;
  verify_options.now = static_cast<der::Time>(std::time(nullptr));

  auto v = std::make_unique<authenticode::Verification>();
  std::vector<uint8_t> storage(kSignatureStorage);
  const authenticode::AnchorSet anchor_set{anchors.parsed.data(), anchors.parsed.size()};
  authenticode::VerifyImage(provider, file.Source(), anchor_set, verify_options,
                            MutableBytes{storage.data(), storage.size()}, *v);
  if (v->verdict == Result::ImageReadFailed) {
    std::fprintf(stderr, "hvsig verify: %s: read error\n", options.image.c_str());
    return kExitUsage;
  }
  const bool trusted = v->verdict == Result::Success;
  const std::string reason = Reason(*v, anchors);

  if (options.json) {
    nlohmann::json j;
    j["file"] = options.image;
    j["verdict"] = trusted ? "trusted" : "rejected";
    j["reason"] = reason;
    j["profile"] = options.profile;
    nlohmann::json digests = nlohmann::json::object();
    if (v->hashed) {
      for (uint8_t i = 0; i < v->digest_count; ++i) {
        digests[DigestAlgName(v->digest_algs[i])] =
            Hex(v->digests[i], DigestLength(v->digest_algs[i]));
      }
    }
    j["digests"] = digests;
    nlohmann::json signatures = nlohmann::json::array();
    for (uint8_t i = 0; i < v->verdict_count; ++i) {
      signatures.push_back(VerdictJson(*v, v->verdicts[i], anchors));
    }
    j["signatures"] = signatures;
    std::printf("%s\n", j.dump(2).c_str());
    return trusted ? kExitOk : kExitRejected;
  }

  std::printf("%s: %s\n", trusted ? "trusted" : "rejected", reason.c_str());
  for (uint8_t i = 0; i < v->verdict_count; ++i) {
    const authenticode::SignatureVerdict& s = v->verdicts[i];
    std::printf("signature %u%s: %s, %s %s\n", i,
                s.parent < 0 ? "" : (" (nested in " + std::to_string(s.parent) + ")").c_str(),
                s.status == Result::Success ? "trusted" : ResultName(s.status),
                DigestAlgName(s.digest_alg), s.digest_match ? "digest matches" : "digest differs");
    if (s.signer_found) {
      std::printf("  signer: %s\n  issuer: %s\n", NameToString(s.signer_subject).c_str(),
                  NameToString(s.signer_issuer).c_str());
    }
  }
  return trusted ? kExitOk : kExitRejected;
}

}  // namespace hvsig::tools
