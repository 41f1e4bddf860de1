#include "webrtc/congestion_control.h"

namespace xl::webrtc {

bool ViewerCongestion::estimateBelowStream(uint64_t nowMs) const {
  if (!haveEstimate_ || streamBps_ == 0) return false;
  if (nowMs - startMs_ < kSettleMs || nowMs - estimateAtMs_ > kStaleMs) return false;
  return estimateBps_ < streamBps_;
}

void ViewerCongestion::onEstimate(uint64_t bps, uint64_t nowMs) {
  ++estimates_;
  estimateBps_ = bps;
  estimateAtMs_ = nowMs;
  haveEstimate_ = true;
  // A drop mid-GOP takes effect at once (unless this GOP is the probe after a skipped one).
  if (!lastGopSkipped_ && estimateBelowStream(nowMs)) congested_ = true;
}

bool ViewerCongestion::admit(bool keyframe, uint64_t nowMs) {
  if (keyframe) {
    // The GOP that follows a skipping one goes out whole; otherwise the estimate decides.
    lastGopSkipped_ = congested_;
    congested_ = !lastGopSkipped_ && estimateBelowStream(nowMs);
    return true;
  }
  if (!congested_) return true;
  ++skipped_;
  return false;
}

bool ViewerCongestion::onKeyframeRequest(uint64_t nowMs) {
  ++requests_;
  if (restarted_ && nowMs - lastRestartMs_ < kRestartIntervalMs) return false;
  restarted_ = true;
  lastRestartMs_ = nowMs;
  ++restarts_;
  return true;
}

void ViewerCongestion::onSenderReportSent(uint32_t ntpMiddle, uint64_t nowMs) {
  sentReports_[sentNext_] = {ntpMiddle, nowMs};
  sentNext_ = (sentNext_ + 1) % sentReports_.size();
}

void ViewerCongestion::onReport(int track, const rtp::ReportBlock& b, uint32_t clockRate,
                                uint64_t nowMs) {
  LinkQuality& q = link_[track & 1];
  ++q.reports;
  q.fractionLost = b.fractionLost / 256.0;
  q.cumulativeLost = b.cumulativeLost;
  if (clockRate) q.jitterMs = b.jitter * 1000.0 / clockRate;
  if (b.lastSr == 0) return;  // §6.4.1: no sender report received yet
  for (const SentReport& s : sentReports_) {
    if (s.atMs == 0 || s.ntpMiddle != b.lastSr) continue;
    // DLSR is in units of 1/65536 s.
    const double rtt = double(nowMs - s.atMs) - b.delaySinceLastSr * 1000.0 / 65536.0;
    q.rttMs = rtt < 0 ? 0 : rtt;
    return;
  }
}

void ViewerCongestion::describe(std::vector<std::pair<std::string, double>>& out) const {
  const char* names[2] = {"video", "audio"};
  for (int t = 0; t < 2; ++t) {
    const LinkQuality& q = link_[t];
    if (!q.reports) continue;
    const std::string k = names[t];
    out.emplace_back(k + "_loss_fraction", q.fractionLost);
    out.emplace_back(k + "_lost", double(q.cumulativeLost));
    out.emplace_back(k + "_jitter_ms", q.jitterMs);
    if (q.rttMs >= 0) out.emplace_back(k + "_rtt_ms", q.rttMs);
  }
  out.emplace_back("receiver_reports", double(link_[0].reports + link_[1].reports));
  out.emplace_back("keyframe_requests", double(requests_));
  out.emplace_back("keyframe_restarts", double(restarts_));
  out.emplace_back("congestion_skipped_frames", double(skipped_));
  out.emplace_back("congested", congested_ ? 1.0 : 0.0);
  if (haveEstimate_) out.emplace_back("remb_bps", double(estimateBps_));
}

void ViewerCongestion::publish(FeedbackCounters& c) {
  auto add = [](std::atomic<uint64_t>& to, uint64_t now, uint64_t& before) {
    if (now != before) to.fetch_add(now - before, std::memory_order_relaxed);
    before = now;
  };
  add(c.keyframeRequests, requests_, published_.requests);
  add(c.restarts, restarts_, published_.restarts);
  add(c.skippedFrames, skipped_, published_.skipped);
  add(c.receiverReports, link_[0].reports + link_[1].reports, published_.reports);
  add(c.estimates, estimates_, published_.estimates);
}

std::string FeedbackCounters::metricsText() const {
  std::string t;
  auto counter = [&t](const char* name, const char* help, const std::atomic<uint64_t>& v) {
    t += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
         " " + std::to_string(v.load(std::memory_order_relaxed)) + "\n";
  };
  counter("xueliang_webrtc_keyframe_requests_total", "PLI and FIR received from WebRTC viewers.",
          keyframeRequests);
  counter("xueliang_webrtc_keyframe_restarts_total",
          "WebRTC viewers restarted on the cached keyframe after a PLI or FIR.", restarts);
  counter("xueliang_webrtc_congestion_skipped_frames_total",
          "Video frames not sent because a viewer's bandwidth estimate was below the stream's "
          "bitrate.",
          skippedFrames);
  counter("xueliang_webrtc_receiver_reports_total",
          "RTCP receiver report blocks received from WebRTC viewers.", receiverReports);
  counter("xueliang_webrtc_bandwidth_estimates_total",
          "REMB bandwidth estimates received from WebRTC viewers.", estimates);
  return t;
}

}  // namespace xl::webrtc
