// Arbitrary datagrams as RTP: a packet that parses has its payload inside the input, and the
// keyframe check reads only the payload, for H.264 and H.265.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "rtp_media.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xlload;
  (void)looksLikeRtcp(data, size);
  RtpView v;
  if (!parseRtp(data, size, v)) return 0;
  if (v.payload < data + 12 || v.payload + v.payloadLen > data + size) abort();
  (void)startsKeyframe(v.payload, v.payloadLen, false);
  (void)startsKeyframe(v.payload, v.payloadLen, true);
  return 0;
}
