// hvsig verify --purpose livepatch on an ELF file: policy::DecideLivepatch with the keyrings of
// `hvsig verify` (--cert and --rsa-key fill builtin). Exit 0 only for a trusted signature; an
// unsigned payload is 1 even where the policy would load it (JSON "accepted" says so).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hvsig/policy.h"
#include "tools/common/certs.h"
#include "tools/common/file_image.h"
#include "tools/hvsig/commands.h"
#include "tools/hvsig/keys.h"

namespace hvsig::tools {
namespace {

uint8_t FormatsOption(const std::string& name) {
  const uint8_t note = livepatch::FormatBit(livepatch::Format::XenNote);
  const uint8_t modsig = livepatch::FormatBit(livepatch::Format::ModuleSignature);
  if (name == "note") return note;
  if (name == "modsig") return modsig;
  return note | modsig;
}

struct Signer {
  std::string subject;  // certificate signers
  std::string file;     // raw keys: the --rsa-key file
};

Signer DescribeSigner(const policy::LivepatchDecision& d, const policy::LivepatchContext& context,
                      KeySources& keys) {
  Signer signer;
  if (d.signer_kind == policy::SignerKind::Certificate) {
    signer.subject = NameToString(context.detached.verdict.signer_subject);
  }
  if (d.signer_kind == policy::SignerKind::RawKey) {
    const int32_t index = keyring::FindRawKey(keys.ring(d.keyring), d.signer_sha256);
    if (d.keyring == keyring::KeyringId::Builtin && index >= 0) {
      signer.file = keys.raw_key_origin[static_cast<size_t>(index)];
    }
  }
  return signer;
}

std::string Reason(const policy::LivepatchDecision& d, const Signer& signer) {
  if (d.verdict != policy::LivepatchVerdict::Trusted) return Describe(d.error.result, d.error.offset);
  const std::string by = d.signer_kind == policy::SignerKind::RawKey
                             ? "raw key " + Hex(d.signer_sha256, sizeof d.signer_sha256) +
                                   (signer.file.empty() ? "" : " (" + signer.file + ")")
                             : signer.subject;
  return std::string(livepatch::FormatName(d.format)) + " signature by " + by + " (keyring " +
         keyring::KeyringName(d.keyring) + ")";
}

}  // namespace

int RunVerifyLivepatch(const GlobalOptions& global, const VerifyOptions& options) {
  const CryptoProvider& provider = SelectProvider(global.provider);
  KeySources keys;
  LoadError load_error;
  if (!LoadKeys(provider, options, keys, load_error)) {
    std::fprintf(stderr, "hvsig verify: %s\n", load_error.message.c_str());
    return load_error.exit_code;
  }
  std::vector<uint8_t> file;
  std::string io_error;
  if (!ReadWholeFile(options.image, file, io_error)) {
    std::fprintf(stderr, "hvsig verify: %s\n", io_error.c_str());
    return kExitUsage;
  }

  policy::LivepatchPolicy policy = policy::DefaultLivepatchPolicy(options.secure_boot);
  policy.require_signature = options.require_signature;
  policy.formats = FormatsOption(options.livepatch_formats);
  policy::Keyrings keyrings{};
  for (size_t i = 0; i < keyring::kKeyringCount; ++i) keyrings.rings[i] = keys.rings[i].get();
  auto context = std::make_unique<policy::LivepatchContext>();
  policy::LivepatchDecision d;
  policy::DecideLivepatch(provider, Input(file.data(), file.size()), keyrings, policy, *context, d);
  const bool trusted = d.verdict == policy::LivepatchVerdict::Trusted;
  const Signer signer = DescribeSigner(d, *context, keys);
  const std::string reason = Reason(d, signer);

  if (!options.json) {
    std::printf("%s: %s\n", policy::LivepatchVerdictName(d.verdict), reason.c_str());
    return trusted ? kExitOk : kExitRejected;
  }
  nlohmann::json j;
  j["file"] = options.image;
  j["purpose"] = "livepatch";
  j["verdict"] = policy::LivepatchVerdictName(d.verdict);
  j["accepted"] = d.accepted;
  j["malformed"] = d.malformed;
  j["reason"] = reason;
  j["result"] = ResultName(d.error.result);
  j["offset"] = d.error.offset;
  j["format"] = livepatch::FormatName(d.format);
  j["secure_boot"] = options.secure_boot;
  j["func_count"] = d.func_count;
  j["payload_sha256"] = Hex(d.payload_sha256, sizeof d.payload_sha256);
  j["keyring"] = d.has_keyring ? nlohmann::json(keyring::KeyringName(d.keyring)) : nullptr;
  if (d.signer_kind == policy::SignerKind::None) {
    j["signer"] = nullptr;
  } else {
    nlohmann::json s;
    s["kind"] = policy::SignerKindName(d.signer_kind);
    s["sha256"] = Hex(d.signer_sha256, sizeof d.signer_sha256);
    if (d.signer_kind == policy::SignerKind::Certificate) {
      s["subject"] = signer.subject;
      s["serial"] = Hex(d.signer.serial, d.signer.serial_length);
    } else {
      s["file"] = signer.file.empty() ? nlohmann::json(nullptr) : nlohmann::json(signer.file);
    }
    j["signer"] = s;
  }
  std::printf("%s\n", j.dump(2).c_str());
  return trusted ? kExitOk : kExitRejected;
}

}  // namespace hvsig::tools
