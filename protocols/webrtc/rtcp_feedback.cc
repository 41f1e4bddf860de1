#include "webrtc/rtcp_feedback.h"

#include <algorithm>

#include "rtp/rtcp.h"

namespace xl::webrtc {
namespace {

constexpr uint8_t kRtpfb = 205;
constexpr uint8_t kPsfb = 206;

// REMB FCI: "REMB", number of SSRCs (8), BR exponent (6), BR mantissa (18), then the SSRCs.
Status readRemb(rtp::ByteSpan fci, Feedback& out) {
  if (fci.size() < 8) return Status::error("rtcp feedback: REMB shorter than 8 bytes");
  const size_t ssrcs = fci[4];
  if (fci.size() < 8 + 4 * ssrcs)
    return Status::error("rtcp feedback: REMB lists more SSRCs than it carries");
  const unsigned exp = fci[5] >> 2;
  const uint64_t mantissa = (uint64_t(fci[5] & 3) << 16) | (uint64_t(fci[6]) << 8) | fci[7];
  // 18 bits shifted by up to 63 would overflow: such an estimate is "unlimited".
  out.rembBps = exp > 40 ? UINT64_MAX : mantissa << exp;
  out.haveRemb = true;
  return Status::ok();
}

// Transport-wide feedback FCI (§3.1): base sequence number (16), packet status count (16),
// reference time (24), feedback packet count (8), packet chunks (16 bits each), receive deltas.
Status readTwcc(rtp::ByteSpan fci, Feedback& out) {
  if (fci.size() < 8) return Status::error("rtcp feedback: transport-cc shorter than 8 bytes");
  const uint32_t count = rtp::be16(fci.data() + 2);
  size_t at = 8;
  uint32_t seen = 0;
  size_t deltaBytes = 0;
  uint32_t received = 0, lost = 0;
  auto symbol = [&](unsigned s) -> bool {
    if (s == 3) return false;  // reserved
    if (s == 0) {
      ++lost;
    } else {
      ++received;
      deltaBytes += s;  // small delta: 1 byte, large or negative: 2
    }
    return true;
  };
  while (seen < count) {
    if (at + 2 > fci.size()) return Status::error("rtcp feedback: transport-cc chunks cut short");
    const uint16_t chunk = rtp::be16(fci.data() + at);
    at += 2;
    if (!(chunk & 0x8000)) {  // run length chunk: symbol (2 bits), run length (13 bits)
      const uint32_t run = std::min<uint32_t>(chunk & 0x1FFF, count - seen);
      if (run == 0) return Status::error("rtcp feedback: transport-cc run of length 0");
      const unsigned s = (chunk >> 13) & 3;
      if (s == 3) return Status::error("rtcp feedback: transport-cc reserved status symbol");
      if (s == 0) {
        lost += run;
      } else {
        received += run;
        deltaBytes += size_t(run) * s;
      }
      seen += run;
    } else if (!(chunk & 0x4000)) {  // status vector of 14 one-bit symbols
      for (int b = 13; b >= 0 && seen < count; --b, ++seen) symbol((chunk >> b) & 1);
    } else {  // status vector of 7 two-bit symbols
      for (int b = 12; b >= 0 && seen < count; b -= 2, ++seen)
        if (!symbol((chunk >> b) & 3))
          return Status::error("rtcp feedback: transport-cc reserved status symbol");
    }
  }
  if (at + deltaBytes > fci.size())
    return Status::error("rtcp feedback: transport-cc receive deltas cut short");
  ++out.twccReports;
  out.twccReceived += received;
  out.twccLost += lost;
  return Status::ok();
}

// RFC 3550 §6.4.1-6.4.2: report blocks follow the sender SSRC (RR) or the sender info (SR).
Status readReports(const rtp::RtcpHeader& h, Feedback& out) {
  const size_t at = h.type == rtp::kRtcpSr ? 28 : 8;
  if (h.packet.size() < at + size_t(h.count) * 24)
    return Status::error("rtcp: report blocks run past the packet");
  for (size_t i = 0; i < h.count && out.reports.size() < Feedback::kMaxReports; ++i) {
    out.reports.push_back(rtp::readReportBlock(h.packet.data() + at + i * 24));
  }
  return Status::ok();
}

}  // namespace

Status readFeedback(std::span<const uint8_t> compound, Feedback& out, size_t maxNacked) {
  Status bad;
  Status walk = rtp::forEachRtcp(compound, [&](const rtp::RtcpHeader& h) {
    rtp::ByteSpan p = h.packet;
    if (h.type == rtp::kRtcpRr || h.type == rtp::kRtcpSr) {
      bad = readReports(h, out);
      return bool(bad);
    }
    if (h.type != kRtpfb && h.type != kPsfb) return true;
    // §6.1: header, sender SSRC, media SSRC, then the FCI.
    if (p.size() < 12) {
      bad = Status::error("rtcp feedback: packet shorter than 12 bytes");
      return false;
    }
    const uint32_t media = rtp::be32(p.data() + 8);
    const rtp::ByteSpan fci = p.subspan(12);
    if (h.type == kRtpfb && h.count == 1) {
      // §6.2.1: FCI entries of PID (16 bits) and BLP (16 bits).
      if (fci.size() % 4) {
        bad = Status::error("rtcp feedback: NACK FCI is not a multiple of 4 bytes");
        return false;
      }
      for (size_t at = 0; at + 4 <= fci.size(); at += 4) {
        const uint16_t pid = rtp::be16(fci.data() + at);
        const uint16_t blp = rtp::be16(fci.data() + at + 2);
        for (int bit = -1; bit < 16; ++bit) {
          if (bit >= 0 && !(blp & (1u << bit))) continue;
          if (out.nacked.size() >= maxNacked) return true;
          out.nacked.push_back(static_cast<uint16_t>(pid + bit + 1));
          out.nackSsrcs.push_back(media);
        }
      }
    } else if (h.type == kRtpfb && h.count == 15) {
      bad = readTwcc(fci, out);
      return bool(bad);
    } else if (h.type == kPsfb && h.count == 1) {
      out.keyframeSsrcs.push_back(media);
    } else if (h.type == kPsfb && h.count == 4) {
      // RFC 5104 §4.3.1.1: the FCI names the SSRC (8-byte entries); the header's is 0.
      for (size_t at = 0; at + 8 <= fci.size(); at += 8)
        out.keyframeSsrcs.push_back(rtp::be32(fci.data() + at));
    } else if (h.type == kPsfb && h.count == 15 && fci.size() >= 4 && fci[0] == 'R' &&
               fci[1] == 'E' && fci[2] == 'M' && fci[3] == 'B') {
      bad = readRemb(fci, out);
      return bool(bad);
    }
    return true;
  });
  if (!walk) return walk;
  return bad;
}

}  // namespace xl::webrtc
