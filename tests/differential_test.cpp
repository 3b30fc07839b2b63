// Differential test over the image corpus (issue 10): every provider compiled in must give every
// image the same `hvsig verify --json` output (verdict, reason, per-signature statuses, digests)
// through the whole verify path (key loading, Authenticode, policy Decide), and the verdict must
// be the one the image was built to get. Then osslsigncode verify, an independent
// implementation, judges the same image with the same anchor: where its verdict differs, the
// case must be listed in docs/crypto-options.md's table of deliberate differences with both
// verdicts, and a listed case that no longer differs fails too (the table stays true).
//
// Corpus: Debian's signed binaries (fixture authenticode_binaries), the Debian kernel re-signed
// by sbsign, osslsigncode and pesign (the interop set of authenticode_test.cpp), and a negative
// set made from the Debian kernel: tampered body, tampered signature, truncations, the wrong
// CA, a transplanted signature, data after the table, non-zero padding, nested-only trust; and
// two unusual valid images: several entries, nested trust opted in.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "authenticode_support.h"
#include "signing_support.h"

namespace hvsig::test {
namespace {

namespace fs = std::filesystem;

const std::string kTool = HVSIG_TOOL;
const std::string kDoc = std::string(HVSIG_SOURCE_DIR) + "/docs/crypto-options.md";

std::vector<std::string> Providers() {
  std::vector<std::string> names;
  std::istringstream list(HVSIG_TEST_PROVIDERS);
  for (std::string name; std::getline(list, name, ',');) names.push_back(name);
  return names;
}

// ---- the corpus ----------------------------------------------------------------------------

struct CorpusCase {
  std::string name;
  std::function<std::string()> image;   // path; made once (cached) on first use
  std::function<std::string()> anchor;  // CA certificate file (PEM or DER)
  std::string flags;                    // further `hvsig verify` flags
  bool trusted;                         // the verdict the image was made to get
};

std::ostream& operator<<(std::ostream& os, const CorpusCase& c) { return os << c.name; }

// A copy of `source` changed by `mutate`, cached as kWork/differential-<name>.
std::string MutatedImage(const std::string& name, const std::function<std::string()>& source,
                         const std::function<void(Bytes&)>& mutate) {
  return Cached("differential-" + name, [&](const std::string& out) {
    Bytes bytes = ReadFile(source());
    mutate(bytes);
    WriteFile(out, bytes);
  });
}

std::string SignedKernel(const std::string& name,
                         const std::function<void(const std::string& out)>& sign) {
  return Cached("differential-" + name, [&](const std::string& out) { sign(out); });
}

SigningIdentity Rsa2048() { return Identity("rsa2048", KeyType::Rsa2048); }
SigningIdentity P256() { return Identity("p256", KeyType::P256); }

std::string SbsignedKernel(const std::string& name, KeyType type) {
  return SignedKernel("sbsign_" + name, [=](const std::string& out) {
    SbSign(UnsignedKernel(), out, Identity(name, type).signer);
  });
}

// The Debian kernel's certificate table: where the first entry's DER ends.
uint64_t SignatureDerEnd(const Bytes& bytes) {
  const PeFields pe = LocateFields(bytes);
  const uint64_t der = pe.cert_table_offset + 8;
  return der + DerElementLength(bytes, der);
}

// sbsign with a P-256 key until the entry needs alignment bytes (ECDSA signatures vary in
// length), then one of those bytes set: sbsign leaves them outside dwLength.
std::string NonZeroPaddingImage() {
  const std::string clean = SignedKernel("padded", [](const std::string& out) {
    for (int attempt = 0; attempt < 24; ++attempt) {
      SbSign(UnsignedKernel(), out, P256().signer);
      const Bytes bytes = ReadFile(out);
      if (SignatureDerEnd(bytes) < LocateFields(bytes).cert_table_end()) return;
    }
    throw std::runtime_error("no P-256 signature needed alignment bytes");
  });
  return MutatedImage("nonzero_padding", [=] { return clean; },
                      [](Bytes& b) { b.at(SignatureDerEnd(b)) = 1; });
}

// A second WIN_CERTIFICATE: the first entry again, after it (entries are 8-byte aligned).
void AppendCopyOfFirstEntry(Bytes& b) {
  const PeFields pe = LocateFields(b);
  const uint32_t length = GetLe32(b, pe.cert_table_offset);
  const uint32_t aligned = (length + 7) & ~7u;
  if (pe.cert_table_end() != b.size()) throw std::runtime_error("table not at the end");
  b.resize(pe.cert_table_offset + aligned);
  const Bytes entry(b.begin() + pe.cert_table_offset, b.end());
  b.insert(b.end(), entry.begin(), entry.end());
  PutLe32(b, pe.security_dir_at + 4, 2 * aligned);
}

std::vector<CorpusCase> Corpus() {
  const auto debian_ca = [] { return DebianCa(); };
  const auto kernel = [] { return DebianKernel(); };
  const auto own_ca = [](auto identity) { return [=] { return identity().ca.cert; }; };
  std::vector<CorpusCase> cases;

  // Debian's signed binaries.
  for (const char* name : {"vmlinuz", "grubx64.efi.signed", "mmx64.efi.signed",
                           "fbx64.efi.signed", "fwupdx64.efi.signed"}) {
    std::string id = std::string("debian_") + name;
    for (char& c : id) {
      if (c == '.') c = '_';
    }
    cases.push_back({id, [=] { return Fetched(name); }, debian_ca, "", true});
  }
  cases.push_back({"debian_shimx64_microsoft_signed", [] { return Fetched("shimx64.efi.signed"); },
                   debian_ca, "", false});
  cases.push_back({"debian_shimx64_unsigned", [] { return Fetched("shimx64.efi"); }, debian_ca, "",
                   false});

  // The interop set: the Debian kernel re-signed by the peers.
  const struct {
    const char* name;
    KeyType type;
  } sbsign_keys[] = {{"rsa2048", KeyType::Rsa2048}, {"rsa4096", KeyType::Rsa4096},
                     {"p256", KeyType::P256},       {"p384", KeyType::P384}};
  for (const auto& key : sbsign_keys) {
    const std::string name = key.name;
    const KeyType type = key.type;
    cases.push_back({"interop_sbsign_" + name, [=] { return SbsignedKernel(name, type); },
                     [=] { return Identity(name, type).ca.cert; }, "", true});
  }
  for (const std::string alg : {"sha256", "sha384", "sha512"}) {
    cases.push_back({"interop_osslsigncode_" + alg,
                     [=] {
                       return SignedKernel("osslsigncode_" + alg, [=](const std::string& out) {
                         OsslSign(UnsignedKernel(), out, Rsa2048().signer, alg);
                       });
                     },
                     own_ca(Rsa2048), "", true});
  }
  cases.push_back({"interop_osslsigncode_nested",
                   [] {
                     return SignedKernel("osslsigncode_nested", [](const std::string& out) {
                       OsslSign(UnsignedKernel(), out + ".outer", Rsa2048().signer, "sha384");
                       OsslSign(out + ".outer", out, Rsa2048().signer, "sha512", true);
                       fs::remove(out + ".outer");
                     });
                   },
                   own_ca(Rsa2048), "", true});
  cases.push_back({"interop_pesign_rsa2048",
                   [] {
                     return SignedKernel("pesign_rsa2048", [](const std::string& out) {
                       PeSign(UnsignedKernel(), out, Rsa2048());
                     });
                   },
                   own_ca(Rsa2048), "", true});
  cases.push_back({"interop_sbsign_chain",
                   [] {
                     return SignedKernel("sbsign_chain", [](const std::string& out) {
                       const Chain chain = MakeChain();
                       SbSign(UnsignedKernel(), out, chain.leaf, chain.intermediate.cert);
                     });
                   },
                   [] { return MakeChain().root.cert; }, "", true});

  // The negative set, from the Debian kernel.
  cases.push_back({"negative_wrong_ca", kernel, [] { return UnrelatedCa().cert; }, "", false});
  cases.push_back({"negative_body_byte_flipped",
                   [=] {
                     return MutatedImage("body_byte_flipped", kernel, [](Bytes& b) {
                       b.at(LocateFields(b).cert_table_offset / 2) ^= 1;
                     });
                   },
                   debian_ca, "", false});
  cases.push_back({"negative_signature_byte_flipped",
                   [=] {
                     return MutatedImage("signature_byte_flipped", kernel, [](Bytes& b) {
                       b.at(SignatureDerEnd(b) - 16) ^= 0x40;  // inside the RSA signature value
                     });
                   },
                   debian_ca, "", false});
  cases.push_back({"negative_truncated_in_signature",
                   [=] {
                     return MutatedImage("truncated_in_signature", kernel, [](Bytes& b) {
                       const PeFields pe = LocateFields(b);
                       b.resize(pe.cert_table_offset + pe.cert_table_size / 2);
                     });
                   },
                   debian_ca, "", false});
  cases.push_back({"negative_truncated_in_body",
                   [=] {
                     return MutatedImage("truncated_in_body", kernel, [](Bytes& b) {
                       b.resize(LocateFields(b).cert_table_offset / 2);
                     });
                   },
                   debian_ca, "", false});
  cases.push_back({"negative_data_after_table",
                   [=] {
                     return MutatedImage("data_after_table", kernel,
                                         [](Bytes& b) { b.insert(b.end(), 8, 0); });
                   },
                   debian_ca, "", false});
  cases.push_back({"negative_transplanted_signature",
                   [] {
                     return SignedKernel("transplanted", [](const std::string& out) {
                       Sh("sbattach --detach " + ShellQuote(out + ".p7") + " " +
                          ShellQuote(Fetched("mmx64.efi.signed")));
                       fs::copy_file(UnsignedKernel(), out);
                       Sh("sbattach --attach " + ShellQuote(out + ".p7") + " " + ShellQuote(out) +
                          " >/dev/null");
                       fs::remove(out + ".p7");
                     });
                   },
                   debian_ca, "", false});
  cases.push_back({"negative_nonzero_padding", NonZeroPaddingImage, own_ca(P256), "", false});
  // Two entries, each a valid signature: hvsig judges every entry (as shim does).
  cases.push_back({"interop_several_entries",
                   [] {
                     return MutatedImage("several_entries",
                                         [] { return SbsignedKernel("rsa2048", KeyType::Rsa2048); },
                                         AppendCopyOfFirstEntry);
                   },
                   own_ca(Rsa2048), "", true});
  // Outer signature by one CA, nested one by another; the anchor is the nested signer's CA.
  const auto nested_only = [] {
    return SignedKernel("nested_only", [](const std::string& out) {
      SbSign(UnsignedKernel(), out + ".outer", Rsa2048().signer);
      OsslSign(out + ".outer", out, P256().signer, "sha256", true);
      fs::remove(out + ".outer");
    });
  };
  cases.push_back({"negative_nested_only_trust", nested_only, own_ca(P256), "", false});
  cases.push_back({"interop_nested_only_trust_opted_in", nested_only, own_ca(P256),
                   "--trust-nested", true});
  return cases;
}

// ---- verdicts ------------------------------------------------------------------------------

std::string VerdictName(bool trusted) { return trusted ? "trusted" : "rejected"; }

// osslsigncode -CAfile wants PEM.
std::string PemAnchor(const std::string& anchor) {
  if (ReadFile(anchor).at(0) != 0x30) return anchor;
  const std::string name = "differential-" + fs::path(anchor).filename().string() + ".pem";
  return Cached(name, [&](const std::string& out) {
    Sh("openssl x509 -inform DER -in " + ShellQuote(anchor) + " -out " + ShellQuote(out));
  });
}

struct OsslsigncodeVerdict {
  bool trusted;
  std::string output;
};

OsslsigncodeVerdict Osslsigncode(const std::string& image, const std::string& anchor) {
  const CommandResult r = RunCommand("osslsigncode verify -CAfile " +
                                     ShellQuote(PemAnchor(anchor)) + " -in " + ShellQuote(image) +
                                     " 2>&1");
  return {r.exit_code == 0, r.out};
}

// docs/crypto-options.md's table of deliberate differences between hvsig and osslsigncode,
// between the two marker comments: | case | hvsig | osslsigncode | reason |.
struct ListedDifference {
  std::string hvsig;
  std::string osslsigncode;
  std::string reason;
};

std::vector<std::string> TableCells(const std::string& line) {
  std::vector<std::string> cells;
  std::istringstream row(line.substr(1));
  for (std::string cell; std::getline(row, cell, '|');) cells.push_back(Trim(cell));
  return cells;
}

std::map<std::string, ListedDifference> ListedDifferences() {
  std::ifstream doc(kDoc);
  if (!doc) throw std::runtime_error("cannot read " + kDoc);
  std::map<std::string, ListedDifference> listed;
  bool inside = false;
  for (std::string line; std::getline(doc, line);) {
    if (line.find("<!-- osslsigncode-differences:begin") != std::string::npos) inside = true;
    if (line.find("<!-- osslsigncode-differences:end") != std::string::npos) inside = false;
    if (!inside || line.rfind("| ", 0) != 0) continue;
    const std::vector<std::string> cells = TableCells(line);
    if (cells.size() != 4 || cells[0] == "case" || cells[0].rfind("---", 0) == 0) continue;
    std::string name = cells[0];
    if (name.size() > 2 && name.front() == '`' && name.back() == '`') {
      name = name.substr(1, name.size() - 2);
    }
    listed[name] = {cells[1], cells[2], cells[3]};
  }
  return listed;
}

class Differential : public ::testing::TestWithParam<CorpusCase> {};

TEST_P(Differential, SameVerdictFromEveryProviderAndOsslsigncodeAgreesOrIsListed) {
  const CorpusCase& c = GetParam();
  const std::string image = c.image();
  const std::string anchor = c.anchor();
  const std::vector<std::string> providers = Providers();
  ASSERT_GE(providers.size(), 3u) << "want builtin, openssl and gcrypt: " << HVSIG_TEST_PROVIDERS;

  std::vector<CommandResult> runs;
  for (const std::string& provider : providers) {
    runs.push_back(RunCommand(kTool + " --provider " + provider + " verify --json --cert " +
                              ShellQuote(anchor) + " " + c.flags + " " + ShellQuote(image)));
    ASSERT_TRUE(runs.back().exit_code == 0 || runs.back().exit_code == 1)
        << provider << ": exit " << runs.back().exit_code << "\n" << runs.back().out;
  }
  for (size_t i = 1; i < runs.size(); ++i) {
    EXPECT_EQ(runs[i].exit_code, runs[0].exit_code) << c.name << ": " << providers[i] << " vs "
                                                    << providers[0];
    EXPECT_EQ(runs[i].out, runs[0].out) << c.name << ": " << providers[i] << " vs " << providers[0];
  }
  const bool trusted = runs[0].exit_code == 0;
  EXPECT_EQ(trusted, c.trusted) << c.name << ": built to be " << VerdictName(c.trusted) << "\n"
                                << runs[0].out;

  const OsslsigncodeVerdict peer = Osslsigncode(image, anchor);
  const auto listed = ListedDifferences();
  const auto entry = listed.find(c.name);
  if (peer.trusted == trusted) {
    EXPECT_TRUE(entry == listed.end()) << c.name << ": listed in " << kDoc
                                   << " as a difference, but osslsigncode also says "
                                   << VerdictName(trusted);
    return;
  }
  ASSERT_TRUE(entry != listed.end()) << c.name << ": hvsig " << VerdictName(trusted)
                                 << ", osslsigncode " << VerdictName(peer.trusted)
                                 << ", and the difference is not listed in " << kDoc << "\n"
                                 << peer.output;
  EXPECT_EQ(entry->second.hvsig, VerdictName(trusted)) << c.name;
  EXPECT_EQ(entry->second.osslsigncode, VerdictName(peer.trusted)) << c.name;
  EXPECT_FALSE(entry->second.reason.empty()) << c.name;
}

INSTANTIATE_TEST_SUITE_P(Corpus, Differential, ::testing::ValuesIn(Corpus()),
                         [](const ::testing::TestParamInfo<CorpusCase>& info) {
                           return info.param.name;
                         });

// Every row of the table names a corpus case (a renamed case cannot leave a dead row behind).
TEST(DifferentialTable, EveryListedCaseExists) {
  const std::vector<CorpusCase> corpus = Corpus();
  const auto listed = ListedDifferences();
  EXPECT_FALSE(listed.empty()) << "no table between the markers in " << kDoc;
  for (const auto& [name, difference] : listed) {
    bool found = false;
    for (const CorpusCase& c : corpus) found = found || c.name == name;
    EXPECT_TRUE(found) << name << " is listed in " << kDoc << " but is not a corpus case";
  }
}

}  // namespace
}  // namespace hvsig::test
