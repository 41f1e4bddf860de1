// RTCP feedback a browser sends about what it receives (RFC 4585 §6): Generic NACK (§6.2.1,
// transport-layer feedback, FMT 1), PLI (§6.3.1, payload-specific, FMT 1), FIR (RFC 5104
// §4.3.1, payload-specific, FMT 4), REMB (draft-alvestrand-rmcat-remb-03, payload-specific,
// FMT 15, "REMB") and transport-wide congestion control feedback (draft-holmer-rmcat-
// transport-wide-cc-extensions-01 §3.1, transport-layer, FMT 15), and the report blocks of its
// receiver (and sender) reports (RFC 3550 §6.4). Read from an unprotected compound packet; every
// length is checked, malformed packets are reported, unknown ones skipped.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "rtp/rtcp.h"
#include "xueliang/status.h"

namespace xl::webrtc {

struct Feedback {
  std::vector<uint16_t> nacked;         // sequence numbers asked for again
  std::vector<uint32_t> nackSsrcs;      // the media SSRC of each entry of `nacked`
  std::vector<uint32_t> keyframeSsrcs;  // media SSRCs a PLI or FIR asked a keyframe for
  // The receiver's estimate of the bandwidth available to it (the last REMB), bits per second.
  bool haveRemb = false;
  uint64_t rembBps = 0;
  // Transport-wide feedback: packets reported received and reported lost.
  uint32_t twccReports = 0;
  uint32_t twccReceived = 0;
  uint32_t twccLost = 0;
  // Report blocks of RR and SR packets (loss, jitter, LSR/DLSR for the round trip), at most
  // kMaxReports per compound packet.
  static constexpr size_t kMaxReports = 8;
  std::vector<rtp::ReportBlock> reports;

  void clear() {
    reports.clear();
    nacked.clear();
    nackSsrcs.clear();
    keyframeSsrcs.clear();
    haveRemb = false;
    rembBps = 0;
    twccReports = twccReceived = twccLost = 0;
  }
};

// Appends the feedback found in `compound` to `out` (which the caller clears). At most
// `maxNacked` sequence numbers are taken, so a hostile packet cannot make us resend much.
Status readFeedback(std::span<const uint8_t> compound, Feedback& out, size_t maxNacked = 256);

}  // namespace xl::webrtc
