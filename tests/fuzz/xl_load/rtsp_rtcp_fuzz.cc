// What an RTSP/UDP viewer of xl-load reads from the server: arbitrary bytes as a SETUP answer's
// Transport value (server_port must come out as real ports or not at all), as RTP packets of the
// track and as datagrams on its RTCP port. A sender report counts only after media of its SSRC
// (and then always), and the receiver report written after any input is a well-formed RR + SDES
// compound.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "rtp_media.h"
#include "rtsp_reader.h"
#include "rtsp_rtcp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xlload;
  int ports[2] = {0, 0};
  if (rtspTransportPorts(std::string(reinterpret_cast<const char*>(data), size), "server_port",
                         ports) &&
      (ports[0] < 1 || ports[0] > 65535 || ports[1] < 1 || ports[1] > 65535))
    std::abort();

  RtspRtcpTrack track(0x11223344, (size & 1) ? 90000 : 0, 1000, size ? data[0] / 256.0 : 0);
  if (track.onRtcp(data, size, 1) == RtspRtcpTrack::Rtcp::kSenderReport) std::abort();
  double t = 2;
  // The input also as a run of RTP packets (lengths taken from the bytes), then as RTCP again.
  for (size_t at = 0; at < size;) {
    const size_t len = std::min<size_t>(size - at, 12 + data[at] % 64);
    RtpView v;
    if (parseRtp(data + at, len, v)) track.onRtp(v, t);
    at += len;
    t += 7;
  }
  (void)track.onRtcp(data, size, t);
  // Media from the SSRC of the input's first sender report: a well-formed compound naming it
  // must then count as a sender report about this track.
  bool first = true;
  uint32_t srSsrc = 0;
  const bool wellFormed = forEachSenderReport(data, size, [&](uint32_t ssrc, uint64_t) {
    if (first) srSsrc = ssrc;
    first = false;
  });
  if (!first) {
    RtpView v;
    v.ssrc = srSsrc;
    track.onRtp(v, t);
    if (wellFormed && (data[1] == 200 || data[1] == 201) &&
        track.onRtcp(data, size, t) != RtspRtcpTrack::Rtcp::kSenderReport)
      std::abort();
  }
  uint8_t pkt[RtspRtcpTrack::kMaxReport];
  const size_t n = track.reportIfDue(pkt, t + 1000, 0.5);
  if (n != 0 && n != RtspRtcpTrack::kMaxReport) std::abort();
  if (n != 0) {
    // RR with one block, then SDES, each length field matching (RFC 3550 §6.4.2, §6.5).
    if (pkt[0] != 0x81 || pkt[1] != 201 || pkt[3] != 7 || pkt[32] != 0x81 || pkt[33] != 202 ||
        pkt[35] != 4)
      std::abort();
    if (track.reportIfDue(pkt, t + 1000, 0.5) != 0) std::abort();  // the next is >= 0.5 s away
  }
  return 0;
}
