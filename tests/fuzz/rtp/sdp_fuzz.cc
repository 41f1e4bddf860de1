// Arbitrary text into the SDP parser, then every media section into the track mapping, and the
// parsed description back out through the writer (which must parse again).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rtp/sdp.h"
#include "rtp/sdp_media.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xl::rtp;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto sdp = parseSdp(text);
  if (!sdp) return 0;
  for (const SdpMedia& m : sdp->media) {
    auto t = trackFromMedia(m);
    if (t && t->video) (void)describeVideo(*t->video, "trackID=0");
    if (t && t->audio) (void)describeAudio(*t->audio, "trackID=1");
  }
  (void)parseFmtp(text);
  (void)parseRtpMap(text);
  (void)base64Decode(text);
  return 0;
}
