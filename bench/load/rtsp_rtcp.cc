#include "rtsp_rtcp.h"

namespace xlload {

void RtspRtcpTrack::onRtp(const RtpView& v, double nowMs) {
  if (!haveMedia_ || v.ssrc != mediaSsrc_) {
    // First packet, or a new sender SSRC (§8.2: a restarted source): statistics start over.
    rx_ = RtpReceiveStats{};
    heardSr_ = false;
    haveMedia_ = true;
    mediaSsrc_ = v.ssrc;
    dueMs_ = nowMs + firstDelay_ * intervalMs_;
  }
  rx_.onRtp(v.seq, v.timestamp, nowMs, clockRate_);
}

RtspRtcpTrack::Rtcp RtspRtcpTrack::onRtcp(const uint8_t* p, size_t n, double nowMs) {
  bool mine = false;
  const bool ok = forEachSenderReport(p, n, [&](uint32_t ssrc, uint64_t ntp) {
    if (!haveMedia_ || ssrc != mediaSsrc_) return;  // no statistics to answer it with yet
    rx_.onSenderReport(ntp, nowMs);
    heardSr_ = mine = true;
  });
  // §6.1: a compound packet starts with a report; an empty datagram is no RTCP.
  if (!ok || n == 0 || (p[1] != 200 && p[1] != 201)) return Rtcp::kMalformed;
  return mine ? Rtcp::kSenderReport : Rtcp::kOther;
}

size_t RtspRtcpTrack::reportIfDue(uint8_t* out, double nowMs, double random) {
  if (!haveMedia_ || nowMs < dueMs_) return 0;
  dueMs_ = nowMs + (0.5 + random) * intervalMs_;
  const size_t len = writeReceiverReportHeader(out, ourSsrc_, 1);  // its block follows
  rx_.writeBlock(out + 8, mediaSsrc_, nowMs);
  return len + writeSdesCname(out + len, ourSsrc_, "xl-load");
}

}  // namespace xlload
