// Livepatch signatures as the upload op decides them: policy::DecideLivepatch (the payload's
// note or appended module signature against the fuzz CA and the fuzz signer's raw RSA key), in
// Secure Boot and without, the decision checked for consistency.
#include "fuzz_support.h"
#include "hvsig/livepatch.h"
#include "hvsig/policy.h"

HVSIG_FUZZ_TARGET(livepatch_sig) {
  using namespace hvsig;
  static policy::LivepatchContext* context = new policy::LivepatchContext();
  const fuzz::Trust& trust = fuzz::FuzzTrust();
  for (bool secure_boot : {true, false}) {
    policy::LivepatchDecision decision;
    const policy::LivepatchPolicy lp = policy::DefaultLivepatchPolicy(secure_boot);
    const Result reason = policy::DecideLivepatch(fuzz::Provider(), Input(data, size),
                                                  trust.keyrings, lp, *context, decision);
    HVSIG_FUZZ_CHECK(reason == decision.error.result);
    HVSIG_FUZZ_CHECK(decision.error.offset <= size);
    if (decision.verdict == policy::LivepatchVerdict::Trusted) {
      HVSIG_FUZZ_CHECK(reason == Result::Success && !decision.malformed && decision.accepted);
      HVSIG_FUZZ_CHECK(decision.format != livepatch::Format::None && decision.has_keyring);
    }
    if (decision.malformed) HVSIG_FUZZ_CHECK(decision.verdict == policy::LivepatchVerdict::Rejected);
    // Secure Boot accepts nothing but a trusted signature.
    if (secure_boot && decision.accepted) {
      HVSIG_FUZZ_CHECK(decision.verdict == policy::LivepatchVerdict::Trusted);
    }
    if (decision.verdict == policy::LivepatchVerdict::Trusted) {
      uint8_t digest[32];
      if (decision.format == livepatch::Format::XenNote) {
        HVSIG_FUZZ_CHECK(livepatch::DigestForNote(fuzz::Provider(), context->payload, digest) ==
                         Result::Success);
      }
    }
  }
  return 0;
}
