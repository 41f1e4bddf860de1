// Counters every viewer reports into, the per-second line and the JSON summary.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace xlload {

struct Stats {
  uint64_t started = 0;    // connection attempts
  uint64_t connected = 0;  // currently receiving (after the play request succeeded)
  uint64_t everConnected = 0;
  uint64_t failed = 0;        // never got media
  uint64_t disconnected = 0;  // lost after media had started
  uint64_t bytes = 0;         // every byte read from the server
  uint64_t mediaMessages = 0;
  uint64_t keyframes = 0;
  uint64_t stalls = 0;         // media gaps longer than 1 s
  uint64_t rtpPackets = 0;     // RTP packets received (RTSP over UDP, WHEP after SRTP)
  uint64_t videoFrames = 0;    // RTP video frames completed (marker bit)
  uint64_t srtpErrors = 0;     // WHEP packets that failed SRTP authentication
  std::vector<double> partMs;  // LL-HLS: part published (playlist answered) -> part received
  std::vector<double> ttfbMs;  // connect start -> first media byte
  std::vector<double> ttfkMs;  // connect start -> first video keyframe
  std::map<std::string, uint64_t> failReasons;
  // WHEP: RTCP sent (compound receiver reports, PLIs, REMBs), resources DELETEd at the end
  // (answered 200/204, or not), and what the first kMaxWhepReports viewers saw in detail.
  uint64_t rtcpReports = 0, plisSent = 0, rembsSent = 0;
  uint64_t whepDeleted = 0, whepDeleteFailed = 0;
  struct WhepReport {
    uint64_t keyframes = 0;          // keyframe starts received
    uint64_t plis = 0;               // PLIs sent
    std::vector<double> pliToKeyMs;  // PLI sent -> the next keyframe start
    // One entry per GOP received: [ms since the viewer keyed SRTP, video frames in that GOP].
    std::vector<std::pair<double, uint64_t>> gops;
    double rembLowUntilMs = 0;  // when it raised its REMB (0: never sent a low one)
  };
  // WHEP handshakes: datagrams send() refused (full buffer, ENOBUFS, a queued ICMP error), our
  // DTLS flights resent on timeout, repeats of the server's flight (ours was lost) and our
  // flight resent at once for them or after a refused send.
  struct WhepHandshake {
    uint64_t sendErrors = 0, dtlsTimerResends = 0, dtlsRepeats = 0, dtlsAnsweredResends = 0;
    uint64_t dtlsUnsentResends = 0;
  } whepHandshake;
  static constexpr size_t kMaxWhepReports = 32;
  std::vector<WhepReport> whepReports;
  // RTSP/UDP viewers' RTCP: compound receiver reports sent, those answering a sender report
  // (LSR set), the server's sender reports received and malformed RTCP datagrams.
  uint64_t rtspReceiverReports = 0, rtspReportsWithLsr = 0, rtspSenderReports = 0;
  uint64_t rtspRtcpMalformed = 0;
  // Camera simulators: publishers started, restarted after exiting, their CPU (user+sys).
  uint64_t publishers = 0, publisherRestarts = 0;
  double publisherCpuS = 0;
  double loadCpuS = 0;  // xl-load's own user+sys CPU over the run (is the generator the limit?)

  void fail(const std::string& reason, bool hadMedia);
};

double percentile(std::vector<double> v, double p);

// One line per second on stderr; one JSON object per second in `jsonl` when given.
class Reporter {
 public:
  Reporter(Stats& s, std::string jsonlPath);
  ~Reporter();
  void tick(double nowMs, double startMs, bool quiet);
  // Writes the end-of-run summary; `extra` is merged in (configuration echo).
  bool writeSummary(const std::string& path, double elapsedS, const std::string& configJson) const;
  void printSummary(double elapsedS) const;

 private:
  Stats& s_;
  std::FILE* jsonl_ = nullptr;
  uint64_t lastBytes_ = 0;
  double lastMs_ = 0;
};

}  // namespace xlload
