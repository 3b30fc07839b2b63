// hvsig: verify, inspect and digest signed PE images; sign them.
// Exit codes: 0 success / trusted, 1 rejected or malformed input, 2 usage or I/O error.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tools/hvsig/commands.h"

namespace {

// An option naming an input file, which must exist.
template <typename T>
CLI::Option* AddFileOption(CLI::App* cmd, const std::string& name, T& value, const std::string& help) {
  return cmd->add_option(name, value, help)->check(CLI::ExistingFile);
}

// The signer's private key, which both `sign` subcommands require.
void AddSigningKeyOption(CLI::App* cmd, std::string& key) {
  AddFileOption(cmd, "--key", key, "private key (PEM or DER, unencrypted)")->required();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hvsig: signature verification for Xen kexec and livepatch images"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all");

  hvsig::tools::GlobalOptions global;
  const auto provider_names = hvsig::ProviderNames();
  app.add_option("--provider", global.provider, "crypto provider")
      ->check(CLI::IsMember(std::vector<std::string>(provider_names.begin(), provider_names.end())))
      ->capture_default_str();

  hvsig::tools::VerifyOptions verify;
  CLI::App* verify_cmd = app.add_subcommand("verify", "verify a signed PE image (exit 0 trusted, 1 rejected)");
  AddFileOption(verify_cmd, "--cert", verify.certs, "trusted certificate file (PEM, one or many, or DER)");
  verify_cmd->add_option("--profile", verify.profile, "strict (default) | compat")
      ->check(CLI::IsMember({"strict", "compat"}));
  verify_cmd->add_flag("--json", verify.json, "one JSON object");
  verify_cmd->add_flag("--check-time", verify.check_time, "enforce certificate validity periods");
  verify_cmd->add_flag("--trust-nested", verify.trust_nested, "let nested signatures vouch");
  AddFileOption(verify_cmd, "--secondary", verify.secondary,
                "secondary-keyring certificate file (must be signed by a builtin or secondary key)");
  const char* kDatabaseHelp = ": ESL, efivarfs, .auth or OVMF_VARS file";
  AddFileOption(verify_cmd, "--db", verify.db, std::string("platform keyring (UEFI db)") + kDatabaseHelp);
  AddFileOption(verify_cmd, "--dbx", verify.dbx, std::string("blacklist (UEFI dbx)") + kDatabaseHelp);
  AddFileOption(verify_cmd, "--mok", verify.mok, std::string("machine keyring (MokList)") + kDatabaseHelp);
  AddFileOption(verify_cmd, "--mokx", verify.mokx, std::string("blacklist (MokListX)") + kDatabaseHelp);
  verify_cmd->add_option("--purpose", verify.purpose, "kexec (default) | kexec-crash | livepatch")
      ->check(CLI::IsMember({"kexec", "kexec-crash", "livepatch"}));
  verify_cmd->add_option("--sbat-level", verify.sbat_level,
                         "SbatLevel (file, or text such as 'sbat,1,2021030218\ngrub,3')");
  verify_cmd->add_option("--hash-authorization", verify.hash_authorization,
                         "db/MokList hashes authorize images: default (per purpose) | on | off")
      ->check(CLI::IsMember({"default", "on", "off"}));
  AddFileOption(verify_cmd, "--rsa-key", verify.rsa_keys,
                "livepatch: raw RSA public key for .note.Xen.signature (PEM PUBLIC KEY or RSA "
                "PUBLIC KEY, or DER SubjectPublicKeyInfo; builtin keyring)");
  verify_cmd->add_flag("--secure-boot", verify.secure_boot,
                       "livepatch: Secure Boot is on, an unsigned payload is refused");
  verify_cmd->add_flag("--require-signature", verify.require_signature,
                       "livepatch: refuse unsigned payloads without Secure Boot too");
  verify_cmd->add_option("--livepatch-formats", verify.livepatch_formats,
                         "livepatch: signature formats accepted: both (default) | note | modsig")
      ->check(CLI::IsMember({"both", "note", "modsig"}));
  verify_cmd->add_option("IMAGE", verify.image,
                         "PE/COFF image; with --purpose livepatch an ELF file is a livepatch payload")
      ->required();

  hvsig::tools::DigestOptions digest;
  CLI::App* digest_cmd = app.add_subcommand("digest", "print the Authenticode digest of a PE image");
  digest_cmd->add_option("--alg", digest.alg, "sha1 | sha256 | sha384 | sha512")
      ->check(CLI::IsMember({"sha1", "sha224", "sha256", "sha384", "sha512"}));
  digest_cmd->add_option("IMAGE", digest.image, "PE/COFF image")->required();

  hvsig::tools::InspectOptions inspect;
  CLI::App* inspect_cmd = app.add_subcommand("inspect", "show PE layout and signatures");
  inspect_cmd->add_flag("--json", inspect.json, "one JSON object");
  inspect_cmd->add_option("IMAGE", inspect.image, "PE/COFF image")->required();

  hvsig::tools::EslListOptions esl_list;
  CLI::App* esl_cmd = app.add_subcommand("esl", "UEFI signature lists (db, dbx, KEK, MokList...)");
  esl_cmd->require_subcommand(1);
  CLI::App* esl_list_cmd = esl_cmd->add_subcommand(
      "list", "one line per entry: <type> <owner-guid> <value> (a variable store without --var: "
              "its variables)");
  esl_list_cmd->add_flag("--json", esl_list.json, "one JSON object");
  esl_list_cmd->add_option("--var", esl_list.var,
                           "variable of a variable store: db, dbx, KEK, PK, MokList, ...");
  esl_list_cmd
      ->add_option("--format", esl_list.format, "auto (default) | esl | efivarfs | auth | varstore")
      ->check(CLI::IsMember({"auto", "esl", "efivarfs", "auth", "varstore"}));
  esl_list_cmd->add_option("FILE", esl_list.file, "ESL, efivarfs, .auth or OVMF_VARS file")
      ->required();

  hvsig::tools::KeyringListOptions keyring_list;
  CLI::App* keyring_cmd = app.add_subcommand("keyring", "keyrings");
  keyring_cmd->require_subcommand(1);
  CLI::App* keyring_list_cmd =
      keyring_cmd->add_subcommand("list", "the compiled-in builtin keyring: <sha256> <serial> <subject>");
  keyring_list_cmd->add_flag("--json", keyring_list.json, "one JSON object");

  CLI::App* sign_cmd =
      app.add_subcommand("sign", "sign a PE image or a livepatch payload (OpenSSL, in the tool)");
  sign_cmd->require_subcommand(1);

  hvsig::tools::SignPeOptions sign_pe;
  CLI::App* sign_pe_cmd = sign_cmd->add_subcommand(
      "pe", "Authenticode-sign a PE image (SHA-256; RSA or ECDSA key), as sbsign does");
  AddSigningKeyOption(sign_pe_cmd, sign_pe.key);
  AddFileOption(sign_pe_cmd, "--cert", sign_pe.cert, "signer certificate (PEM or DER)")->required();
  AddFileOption(sign_pe_cmd, "--addcert", sign_pe.addcerts,
                "further certificates to embed, e.g. intermediates (PEM, one or many, or DER; "
                "repeat the option for more files)")
      ->allow_extra_args(false);
  sign_pe_cmd->add_flag("--replace", sign_pe.replace,
                        "replace the signatures of an already signed image (else exit 1)");
  sign_pe_cmd->add_option("-o,--output", sign_pe.output, "signed image to write")->required();
  sign_pe_cmd->add_option("IMAGE", sign_pe.image, "PE/COFF image")->required();

  hvsig::tools::SignLivepatchOptions sign_livepatch;
  CLI::App* sign_livepatch_cmd = sign_cmd->add_subcommand(
      "livepatch", "sign a Xen livepatch payload: a .note.Xen.signature note (RSA key) or an "
                   "appended Linux module signature (CMS), as scripts/sign-file does");
  sign_livepatch_cmd->add_option("--format", sign_livepatch.format, "note | modsig")
      ->required()
      ->check(CLI::IsMember({"note", "modsig"}));
  AddSigningKeyOption(sign_livepatch_cmd, sign_livepatch.key);
  AddFileOption(sign_livepatch_cmd, "--cert", sign_livepatch.cert,
                "signer certificate (PEM or DER): required for modsig, checked against the key "
                "for note");
  sign_livepatch_cmd->add_option("-o,--output", sign_livepatch.output, "signed payload to write")
      ->required();
  sign_livepatch_cmd->add_option("PAYLOAD", sign_livepatch.payload, "unsigned livepatch ELF object")
      ->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  if (*verify_cmd) return hvsig::tools::RunVerify(global, verify);
  if (*digest_cmd) return hvsig::tools::RunDigest(global, digest);
  if (*inspect_cmd) return hvsig::tools::RunInspect(global, inspect);
  if (*esl_list_cmd) return hvsig::tools::RunEslList(global, esl_list);
  if (*keyring_list_cmd) return hvsig::tools::RunKeyringList(global, keyring_list);
  if (*sign_pe_cmd) return hvsig::tools::RunSignPe(global, sign_pe);
  if (*sign_livepatch_cmd) return hvsig::tools::RunSignLivepatch(global, sign_livepatch);
  return 2;
}
