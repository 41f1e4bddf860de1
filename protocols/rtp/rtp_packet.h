// RTP fixed header (RFC 3550 §5.1): a read-only view over a received packet and a writer for the
// 12-byte header we send. Parsing never trusts the input: every length is checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "xueliang/status.h"

namespace xl::rtp {

using ByteSpan = std::span<const uint8_t>;

inline constexpr size_t kRtpHeaderSize = 12;
// Payload bytes per packet we send: 1400 keeps RTP + UDP + IP (+ SRTP later) under a 1500 MTU.
inline constexpr size_t kDefaultMaxPayload = 1400;

struct RtpPacket {
  bool marker = false;
  uint8_t payloadType = 0;
  uint16_t seq = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  uint8_t csrcCount = 0;
  bool hasExtension = false;
  uint16_t extensionProfile = 0;
  ByteSpan extension;  // header extension data (§5.3.1), without its 4-byte header
  ByteSpan payload;    // padding removed
};

// Parses a version-2 RTP packet (§5.1); fails on a bad version, truncated header, CSRC list,
// extension or padding.
Result<RtpPacket> parseRtp(ByteSpan packet);

// Writes the 12-byte fixed header (V=2, no padding, extension or CSRC).
void writeRtpHeader(uint8_t* out, bool marker, uint8_t payloadType, uint16_t seq,
                    uint32_t timestamp, uint32_t ssrc);

// RFC 5761 §4: on a shared port, packet types 192..223 in the second byte are RTCP.
bool looksLikeRtcp(ByteSpan packet);

// Signed distance a - b between 16-bit sequence numbers (RFC 3550 Appendix A.1 arithmetic).
inline int16_t seqDistance(uint16_t a, uint16_t b) {
  return static_cast<int16_t>(static_cast<uint16_t>(a - b));
}

inline uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
inline void putBe16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
inline void putBe32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

// Extends 32-bit RTP timestamps to a 64-bit timeline across wrap-around (either direction).
class TimestampUnwrapper {
 public:
  int64_t unwrap(uint32_t ts) {
    if (!started_) {
      started_ = true;
      last_ = ts;
      value_ = ts;
      return value_;
    }
    value_ += static_cast<int32_t>(ts - last_);
    last_ = ts;
    return value_;
  }

 private:
  bool started_ = false;
  uint32_t last_ = 0;
  int64_t value_ = 0;
};

}  // namespace xl::rtp
