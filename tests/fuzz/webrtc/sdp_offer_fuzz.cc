// Arbitrary text as a WHEP offer, answered for an H.264 and for an H.265 stream; an answer we
// produce must itself be valid SDP with ICE-lite.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz_answer_params.h"
#include "webrtc/sdp_answer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xl::webrtc;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  StreamCodecs codecs;
  codecs.video = xl::Codec::kH264;
  codecs.profileIdc = 0x64;
  codecs.audio = xl::Codec::kOpus;
  codecs.audioChannels = 2;
  StreamCodecs hevc = codecs;  // Main, level 4.0, compatible with Main 10
  hevc.video = xl::Codec::kH265;
  hevc.profileIdc = 1;
  hevc.levelIdc = 120;
  hevc.profileCompatibility = 0x60000000;
  AnswerParams p = fuzzAnswerParams();
  for (const StreamCodecs& c : {codecs, hevc}) {
    OfferError err;
    auto n = answerOffer(text, c, p, &err);
    if (!n) {
      if (err.status != 400 && err.status != 406) abort();
      continue;
    }
    auto parsed = xl::rtp::parseSdp(n->sdp);
    if (!parsed || !parsed->attribute("ice-lite")) abort();
  }
  return 0;
}
