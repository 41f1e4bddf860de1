// RTCP of one RTSP/UDP viewer track, as ffmpeg and GStreamer players speak it (RFC 3550 §6):
// reception statistics of the server's RTP, the server's sender reports about that media (their
// NTP time kept for LSR/DLSR), and a compound receiver report + SDES CNAME (§6.1) every interval.
// GStreamer and live555 players report about every 5 s per track (the §6.2 minimum, randomized;
// measured: GStreamer 1.22 over RTSP/TCP, one report per track every ~4 s), ffmpeg over UDP about
// every 280 KB of a track's packets and over TCP never. The interval is randomized over [0.5, 1.5]
// of it (§6.3.5) so thousands of viewers started together do not report in step. Datagrams come
// from the network: bounds-checked.
#pragma once

#include <cstddef>
#include <cstdint>

#include "rtp_media.h"
#include "whep_rtcp.h"

namespace xlload {

class RtspRtcpTrack {
 public:
  // Receiver report with one block (32 bytes) + SDES CNAME "xl-load" (20 bytes).
  static constexpr size_t kMaxReport = 52;
  enum class Rtcp { kMalformed, kOther, kSenderReport };

  // Reports every `intervalMs` (randomized); `firstDelay` in [0, 1): the first report follows
  // the first RTP packet after that many intervals.
  RtspRtcpTrack(uint32_t ourSsrc, uint32_t clockRate, double intervalMs, double firstDelay)
      : ourSsrc_(ourSsrc),
        clockRate_(clockRate),
        intervalMs_(intervalMs),
        firstDelay_(firstDelay) {}

  // An RTP packet of this track arrived.
  void onRtp(const RtpView& v, double nowMs);
  // One datagram from the server's RTCP port: a sender report about this track's media, another
  // well-formed compound packet, or something malformed (ignored).
  Rtcp onRtcp(const uint8_t* p, size_t n, double nowMs);
  // When a report is due (media received, interval over) writes it to `out` (kMaxReport bytes)
  // and returns its length, else 0. `random` in [0, 1) spreads the next interval.
  size_t reportIfDue(uint8_t* out, double nowMs, double random);
  // The last report written answered a sender report (non-zero LSR).
  bool reportedSenderReport() const { return heardSr_; }

 private:
  RtpReceiveStats rx_;
  const uint32_t ourSsrc_, clockRate_;
  const double intervalMs_, firstDelay_;
  uint32_t mediaSsrc_ = 0;
  bool haveMedia_ = false;
  bool heardSr_ = false;
  double dueMs_ = 0;
};

}  // namespace xlload
