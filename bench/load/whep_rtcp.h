// RTCP as xl-load's WHEP viewers speak it: per-SSRC reception statistics (RFC 3550 §6.4.1 and
// Appendix A.3, A.8: extended highest sequence number, cumulative and fractional loss,
// interarrival jitter), the last sender report heard (for LSR/DLSR), and the packets a real
// receiver sends: receiver reports, SDES CNAME, PLI (RFC 4585 §6.3.1) and REMB
// (draft-alvestrand-rmcat-remb-03). RTSP/UDP viewers use the same (rtsp_rtcp.h). Everything read
// comes from the network: bounds-checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace xlload {

class RtpReceiveStats {
 public:
  // One RTP packet: sequence number, RTP timestamp, arrival time, the track's clock rate.
  void onRtp(uint16_t seq, uint32_t rtpTs, double arrivalMs, uint32_t clockRate);
  // A sender report about this SSRC arrived at `arrivalMs` with NTP timestamp `ntp`.
  void onSenderReport(uint64_t ntp, double arrivalMs);
  bool active() const { return received_ > 0; }
  // Writes the 24-byte report block for `ssrc` at `out` and starts a new fraction interval.
  void writeBlock(uint8_t* out, uint32_t ssrc, double nowMs);

  uint32_t extendedMax() const { return cycles_ + maxSeq_; }
  int64_t cumulativeLost() const;
  double jitterUnits() const { return jitter_; }

 private:
  bool started_ = false;
  uint16_t maxSeq_ = 0;
  uint32_t cycles_ = 0;  // sequence number wraps, shifted by 16
  uint32_t baseSeq_ = 0;
  uint64_t received_ = 0;
  uint64_t expectedPrior_ = 0, receivedPrior_ = 0;
  double jitter_ = 0;  // RTP timestamp units (A.8)
  bool haveTransit_ = false;
  double transit_ = 0;
  uint32_t lastSrMiddle_ = 0;
  double lastSrArrivalMs_ = 0;
};

// SSRCs of the sender reports in a compound (unprotected) RTCP packet, with their NTP time:
// `fn(ssrc, ntp)` for each; false when the packet is malformed (walk stops there).
template <typename Fn>
bool forEachSenderReport(const uint8_t* p, size_t n, Fn&& fn);

// Writers; each returns the packet's length (out must hold it: 8 + 24 * blocks, 12, 24 bytes).
size_t writeReceiverReportHeader(uint8_t* out, uint32_t senderSsrc, int blocks);
size_t writePli(uint8_t* out, uint32_t senderSsrc, uint32_t mediaSsrc);
size_t writeRemb(uint8_t* out, uint32_t senderSsrc, uint64_t bps, uint32_t mediaSsrc);
// SDES with one chunk holding a CNAME item (RFC 3550 §6.5.1), padded to 32 bits: the item every
// compound packet carries (§6.1). Returns 4 + 4 * ceil((7 + cname.size()) / 4) bytes.
size_t writeSdesCname(uint8_t* out, uint32_t ssrc, std::string_view cname);

inline uint32_t rtcpBe32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

template <typename Fn>
bool forEachSenderReport(const uint8_t* p, size_t n, Fn&& fn) {
  size_t at = 0;
  while (at < n) {
    if (n - at < 4 || (p[at] >> 6) != 2) return false;
    const size_t len = (size_t(p[at + 2]) << 8 | p[at + 3]) * 4 + 4;
    if (len > n - at) return false;
    if (p[at + 1] == 200) {
      if (len < 28) return false;
      fn(rtcpBe32(p + at + 4), uint64_t(rtcpBe32(p + at + 8)) << 32 | rtcpBe32(p + at + 12));
    }
    at += len;
  }
  return true;
}

}  // namespace xlload
