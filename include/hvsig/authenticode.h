// Authenticode verification of a PE image against a set of trust anchors.
//
// The work is split in three steps so a hypervisor can run the long one as hypercall
// continuations:
//   Prepare   parse the PE and every signature (top-level and nested) into the Verification;
//   Hash      one pass over the image for every digest algorithm the signatures use
//             (returns Result::Preempted when the PreemptionHook asks to yield; call again);
//   Evaluate  compare digests, verify each signature and build its chain to an anchor.
// VerifyImage runs all three.
//
// Decisions where the peers differ (references §4), documented in docs/authenticode.md:
//  - the signed image digest is ALWAYS compared with the recomputed one;
//  - SHA-1 image or signer digests are refused;
//  - Profile::Strict (kernels): every signature must be well-formed and match the image, and at
//    least one must be trusted; Profile::Compat: UEFI's rule, any one trusted signature suffices;
//  - nested signatures are parsed and reported, but vouch only with Options::trust_nested;
//  - certificate validity periods are ignored unless Options::check_time (UEFI ignores them);
//    a signingTime attribute, if present, must lie within the signer's validity (as Linux).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hvsig/crypto.h"
#include "hvsig/image.h"
#include "hvsig/pe.h"
#include "hvsig/pkcs7.h"
#include "hvsig/result.h"
#include "hvsig/x509.h"

namespace hvsig::authenticode {

constexpr size_t kMaxChainDepth = 8;
constexpr size_t kMaxVerdicts = pe::kMaxSignatures * (1 + pkcs7::kMaxNested);

struct Options {
  pe::Profile profile = pe::Profile::Strict;
  bool trust_nested = false;
  bool check_time = false;
  der::Time now = 0;  // with check_time
  // Also hash the image with these algorithms (bit 1 << DigestAlg), for revocation lists that
  // name images by digest in algorithms no signature uses.
  uint32_t extra_digests = 0;
};

// Trust anchors: certificates parsed by the embedder (their DER must outlive the verification).
// Sets may be chained (one per keyring): they are searched in order, and a signature's anchor
// is named by (anchor_group, anchor_index), the group being the position in the chain.
struct AnchorSet {
  const Certificate* certificates;
  size_t count;
  const AnchorSet* next = nullptr;
};

struct SignatureVerdict {
  uint8_t table_index;   // WIN_CERTIFICATE entry this signature is in
  int8_t parent;         // -1 for a top-level signature, else the verdict index it is nested in
  Result status;         // Success: trusted
  uint64_t error_offset; // file offset of the failed check
  DigestAlg digest_alg;
  uint8_t image_digest[kMaxDigestLength];   // recomputed
  uint8_t signed_digest[kMaxDigestLength];  // from SpcIndirectDataContent
  bool digest_match;
  bool signer_found;
  Input signer_subject;  // Name elements and serial magnitude (views into the signature storage)
  Input signer_issuer;
  Input signer_serial;
  uint8_t chain_length;  // certificates from the signer upwards, as found in the signature
  Input chain[kMaxChainDepth];
  int16_t anchor_index;  // index into the AnchorSet that vouched, -1 if none
  int8_t anchor_group;   // position of that AnchorSet in the chain, -1 if none
};

// Scratch for chain building (kept in the caller's state so no stack frame holds several
// certificates).
struct ChainScratch {
  Certificate current;
  Certificate candidate;
};

// Caller-owned state of one verification (about 40 KiB: allocate it, do not put it on a
// hypervisor stack).
struct Verification {
  pe::PeImage pe;
  uint64_t der_offset[kMaxVerdicts];  // file offset of each signed_data[i].der
  pkcs7::SignedData signed_data[kMaxVerdicts];
  uint8_t verdict_count;
  SignatureVerdict verdicts[kMaxVerdicts];
  pe::AuthenticodeHasher hasher;
  bool hashed;
  // The image's digest in each algorithm the signatures use, once hashing is done.
  uint8_t digest_count;
  DigestAlg digest_algs[pe::AuthenticodeHasher::kMaxAlgorithms];
  uint8_t digests[pe::AuthenticodeHasher::kMaxAlgorithms][kMaxDigestLength];
  ChainScratch chain;
  // The overall verdict: Success means trusted.
  Result verdict;
  Error error;          // names the check that decided a rejection
  int8_t error_signature;  // verdict index the rejection comes from, -1 if the image itself
  int8_t trusted_by;    // verdict index that made the image trusted, -1 if none
};

// storage receives copies of the certificate-table entries (each signature is parsed in
// place); its capacity bounds the total signature size (PeSignatureTooLarge beyond it).
Result Prepare(const CryptoProvider& provider, const ImageSource& image, const Options& options,
               MutableBytes storage, Verification& v);
Result Hash(const ImageSource& image, const PreemptionHook* hook, Verification& v);
// May run again on the same Verification with other anchors (a policy that tries keyrings in
// turn): each run starts from the prepared and hashed state.
Result Evaluate(const CryptoProvider& provider, const AnchorSet& anchors, const Options& options,
                Verification& v);

Result VerifyImage(const CryptoProvider& provider, const ImageSource& image,
                   const AnchorSet& anchors, const Options& options, MutableBytes storage,
                   Verification& v);

// ---- Detached signatures -------------------------------------------------------------------
// CMS SignedData over id-data without eContent, the content supplied by the caller (Linux's
// module and IMA signatures, `openssl cms -sign -binary`): one SignerInfo; certificates
// optional: a signer the signature does not carry is looked up among the anchors by
// issuer+serial or subjectKeyIdentifier (as Linux looks it up in its keyrings), and one nobody
// names is NotTrusted; signed attributes optional: with them contentType must be id-data and
// messageDigest the content's digest, and the signature covers them; without them it covers
// the content digest itself. The same rules as Authenticode for the rest (SHA-1 refused,
// signingTime within the signer's validity, chain to an anchor).
struct DetachedVerification {
  pkcs7::SignedData signed_data;  // views into the signature, which must outlive this
  bool hashed;
  uint8_t content_digest[kMaxDigestLength];  // in signed_data.signer.digest_alg
  // image_digest: the content's; signed_digest and digest_match: the messageDigest attribute
  // (false without signed attributes, where only the signature can tell).
  SignatureVerdict verdict;
  ChainScratch chain;
  Error error;  // the deciding check; offsets are into the signature (ImageReadFailed: content)
};

// Parses the signature (pkcs7 Results).
Result PrepareDetached(Input signature, DetachedVerification& d);
// Digests the content in chunks with the signer's digest algorithm.
Result HashDetached(const CryptoProvider& provider, const ImageSource& content,
                    DetachedVerification& d);
// Success means trusted by an anchor; may run again with other anchors.
Result EvaluateDetached(const CryptoProvider& provider, const AnchorSet& anchors,
                        const Options& options, DetachedVerification& d);

}  // namespace hvsig::authenticode
