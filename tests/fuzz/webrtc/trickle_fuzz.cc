// Arbitrary bytes as a trickle ICE PATCH body (application/trickle-ice-sdpfrag) and as a WHIP
// offer: never a crash; a PATCH is answered with one of the statuses the endpoint may send, and
// an answer we produce is valid SDP.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz_answer_params.h"
#include "rtp/sdp.h"
#include "webrtc/trickle.h"
#include "webrtc/whip_answer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xl::webrtc;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto f = parseTrickleFragment(text);
  if (f && f->candidates.size() > 256) abort();
  auto r = answerTricklePatch(kTrickleContentType, "\"x\"", text, "\"x\"", "abcd", "pwd");
  if (r.status != 204 && r.status != 400 && r.status != 501) abort();
  if ((r.status == 400) == static_cast<bool>(f)) abort();
  AnswerParams p = fuzzAnswerParams();
  OfferError err;
  auto n = answerWhipOffer(text, p, &err);
  if (!n) {
    if (err.status != 400 && err.status != 406) abort();
    return 0;
  }
  if (n->tracks.empty() || !xl::rtp::parseSdp(n->sdp)) abort();
  return 0;
}
