// RTP as the load generator's players read it: the fixed header and extensions (RFC 3550 §5.1,
// §5.3.1), and whether a payload starts a keyframe: an H.264 IDR (RFC 6184 §5.6-5.8: single NAL,
// STAP-A, FU-A start) or an H.265 IRAP picture (RFC 7798 §4.4). Bounds-checked: packets come
// from the network.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xlload {

struct RtpView {
  uint8_t payloadType = 0;
  bool marker = false;
  uint16_t seq = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  const uint8_t* payload = nullptr;
  size_t payloadLen = 0;
};

// RTCP shares the port under rtcp-mux (RFC 5761 §4): packet types 192..223 in the second byte.
inline bool looksLikeRtcp(const uint8_t* p, size_t n) {
  return n >= 8 && (p[0] >> 6) == 2 && p[1] >= 192 && p[1] <= 223;
}

// False for anything that is not version 2 with a header, CSRCs, extension and padding that fit.
bool parseRtp(const uint8_t* p, size_t n, RtpView& out);

// True when the payload begins a keyframe (the first packet of an IDR / IRAP access unit).
bool startsKeyframe(const uint8_t* payload, size_t n, bool h265);

}  // namespace xlload
