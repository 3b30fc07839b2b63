// Full verification of a PE as the kexec path runs it: policy options, Prepare, Hash with
// preemption, and policy::Decide against the compiled-in fuzz CA (builtin keyring) under the
// kexec policy, the result checked for consistency.
#include "fuzz_support.h"
#include "hvsig/authenticode.h"
#include "hvsig/policy.h"

namespace {

using namespace hvsig;

struct State {
  authenticode::Verification verification;
  policy::Decision decision;
  uint8_t storage[64 * 1024];
};

bool YieldEveryOther(void* opaque) { return (++*static_cast<unsigned*>(opaque) & 1) != 0; }

}  // namespace

HVSIG_FUZZ_TARGET(verify) {
  static State* state = new State();
  State& s = *state;
  const CryptoProvider& provider = fuzz::Provider();
  const fuzz::Trust& trust = fuzz::FuzzTrust();
  MemoryImage memory(Input(data, size));
  const ImageSource image = memory.Source();

  const policy::Policy kexec = policy::DefaultPolicy(policy::Purpose::Kexec);
  authenticode::Options options;
  policy::PrepareOptions(kexec, trust.keyrings, options);
  authenticode::Verification& v = s.verification;
  if (authenticode::Prepare(provider, image, options, MutableBytes{s.storage, sizeof s.storage},
                            v) == Result::Success) {
    unsigned calls = 0;
    const PreemptionHook hook{YieldEveryOther, &calls};
    Result r;
    while ((r = authenticode::Hash(image, &hook, v)) == Result::Preempted) {
    }
  }
  const Result reason = policy::Decide(provider, image, trust.keyrings, kexec, options, v, s.decision);
  const policy::Decision& d = s.decision;
  HVSIG_FUZZ_CHECK(reason == d.error.result);
  // Trust is never granted with a reason, and never without a signature or hash that vouched.
  if (reason == Result::Success) {
    HVSIG_FUZZ_CHECK(d.verdict != policy::Verdict::Rejected);
    HVSIG_FUZZ_CHECK(d.verdict != policy::Verdict::Trusted ||
                     (d.signature >= 0 && d.signature < v.verdict_count));
  } else {
    HVSIG_FUZZ_CHECK(d.verdict == policy::Verdict::Rejected && !d.accepted);
  }
  HVSIG_FUZZ_CHECK(d.accepted == (d.verdict != policy::Verdict::Rejected));
  return 0;
}
