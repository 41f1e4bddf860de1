#include "webrtc/rtcp_feedback.h"

#include "rtp/rtcp.h"

namespace xl::webrtc {
namespace {
constexpr uint8_t kRtpfb = 205;
constexpr uint8_t kPsfb = 206;
}  // namespace

Status readFeedback(std::span<const uint8_t> compound, Feedback& out, size_t maxNacked) {
  Status bad;
  Status walk = rtp::forEachRtcp(compound, [&](const rtp::RtcpHeader& h) {
    rtp::ByteSpan p = h.packet;
    if (h.type != kRtpfb && h.type != kPsfb) return true;
    // §6.1: header, sender SSRC, media SSRC, then the FCI.
    if (p.size() < 12) {
      bad = Status::error("rtcp feedback: packet shorter than 12 bytes");
      return false;
    }
    const uint32_t media = rtp::be32(p.data() + 8);
    if (h.type == kRtpfb && h.count == 1) {
      // §6.2.1: FCI entries of PID (16 bits) and BLP (16 bits).
      if ((p.size() - 12) % 4) {
        bad = Status::error("rtcp feedback: NACK FCI is not a multiple of 4 bytes");
        return false;
      }
      for (size_t at = 12; at + 4 <= p.size(); at += 4) {
        const uint16_t pid = rtp::be16(p.data() + at);
        const uint16_t blp = rtp::be16(p.data() + at + 2);
        for (int bit = -1; bit < 16; ++bit) {
          if (bit >= 0 && !(blp & (1u << bit))) continue;
          if (out.nacked.size() >= maxNacked) return true;
          out.nacked.push_back(static_cast<uint16_t>(pid + bit + 1));
          out.nackSsrcs.push_back(media);
        }
      }
    } else if (h.type == kPsfb && h.count == 1) {
      out.keyframeSsrcs.push_back(media);
    } else if (h.type == kPsfb && h.count == 4) {
      // RFC 5104 §4.3.1.1: the FCI names the SSRC (8-byte entries); the header's is 0.
      for (size_t at = 12; at + 8 <= p.size(); at += 8)
        out.keyframeSsrcs.push_back(rtp::be32(p.data() + at));
    }
    return true;
  });
  if (!walk) return walk;
  return bad;
}

}  // namespace xl::webrtc
