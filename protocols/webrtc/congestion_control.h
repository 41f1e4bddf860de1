// ViewerCongestion: how one WebRTC viewer reacts to what its browser reports about the link.
//
// REMB (or another receiver estimate) below the stream's bitrate means the link cannot carry
// every frame: the viewer then skips non-key video frames until the next keyframe, where the
// decision is made again, so the picture freezes on keyframes instead of breaking up. A GOP that
// followed a skipped one is sent whole: the estimate is measured on what arrives, and only full
// GOPs let it climb back once the link recovers. Estimates older than kStaleMs are ignored, as
// are those of the first kSettleMs (a browser's estimate starts low and ramps up).
//
// PLI/FIR (the decoder lost its reference): the viewer restarts on the stream's cached keyframe,
// at most once per kRestartIntervalMs; requests within that interval are only counted.
//
// Receiver reports (RFC 3550 §6.4.1) tell the loss and jitter the viewer sees; the round trip is
// the report's arrival minus the send time of the sender report it echoes (LSR) minus the delay
// the receiver held it (DLSR, §6.4.1), so the send times of the last few sender reports are kept.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rtp/rtcp.h"

namespace xl::webrtc {

// Totals over every viewer of the server, for /metrics. Sessions add their deltas once a second.
struct FeedbackCounters {
  std::atomic<uint64_t> keyframeRequests{0}, restarts{0}, skippedFrames{0}, receiverReports{0},
      estimates{0};
  std::string metricsText() const;
};

// What the receiver reports of one track said last.
struct LinkQuality {
  uint64_t reports = 0;
  double fractionLost = 0;  // 0..1, since the previous report
  int64_t cumulativeLost = 0;
  double jitterMs = 0;
  double rttMs = -1;  // -1: no report echoed a sender report yet
};

class ViewerCongestion {
 public:
  static constexpr uint64_t kStaleMs = 5000;
  static constexpr uint64_t kSettleMs = 3000;
  static constexpr uint64_t kRestartIntervalMs = 1000;

  // The session started sending media at `nowMs`.
  void start(uint64_t nowMs) { startMs_ = nowMs; }
  // The stream's current bitrate (0: unknown, never congested).
  void setStreamBitrate(uint64_t bps) { streamBps_ = bps; }
  // A receiver estimate of the bandwidth available, bits per second.
  void onEstimate(uint64_t bps, uint64_t nowMs);
  // For each video frame, in order: whether to send it.
  bool admit(bool keyframe, uint64_t nowMs);
  // A keyframe request: true if the viewer is to restart on the cached keyframe now.
  bool onKeyframeRequest(uint64_t nowMs);

  bool congested() const { return congested_; }
  uint64_t estimateBps() const { return estimateBps_; }
  uint64_t skipped() const { return skipped_; }
  uint64_t restarts() const { return restarts_; }
  uint64_t keyframeRequests() const { return requests_; }

  // A sender report with NTP timestamp middle bits `ntpMiddle` left at `nowMs` on track `track`.
  void onSenderReportSent(uint32_t ntpMiddle, uint64_t nowMs);
  // A report block about track `track` (0 video, 1 audio) whose RTP clock is `clockRate` Hz.
  void onReport(int track, const rtp::ReportBlock& b, uint32_t clockRate, uint64_t nowMs);
  const LinkQuality& link(int track) const { return link_[track & 1]; }
  // The figures for the admin API: loss, jitter, round trip, feedback counts.
  void describe(std::vector<std::pair<std::string, double>>& out) const;
  // Adds what happened since the last call to the server's totals.
  void publish(FeedbackCounters& c);

 private:
  bool estimateBelowStream(uint64_t nowMs) const;

  uint64_t startMs_ = 0;
  uint64_t streamBps_ = 0;
  uint64_t estimateBps_ = 0;
  uint64_t estimateAtMs_ = 0;
  bool haveEstimate_ = false;
  bool congested_ = false;       // skipping this GOP's non-key frames
  bool lastGopSkipped_ = false;  // the next GOP goes out whole
  bool restarted_ = false;
  uint64_t lastRestartMs_ = 0;
  uint64_t skipped_ = 0, restarts_ = 0, requests_ = 0, estimates_ = 0;
  LinkQuality link_[2];
  struct SentReport {
    uint32_t ntpMiddle = 0;
    uint64_t atMs = 0;
  };
  std::array<SentReport, 8> sentReports_{};  // a few seconds of sender reports, both tracks
  size_t sentNext_ = 0;
  struct Published {
    uint64_t skipped = 0, restarts = 0, requests = 0, reports = 0, estimates = 0;
  } published_;
};

}  // namespace xl::webrtc
