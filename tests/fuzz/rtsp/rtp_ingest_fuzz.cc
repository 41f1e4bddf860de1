// Arbitrary RTP and RTCP packets into an RtpIngest publishing to a real Stream (the path every
// RTSP publisher and pulled camera feeds): reordering, loss, wrap, in-band parameter sets and
// sender reports must never crash, and published video timestamps must stay monotonic.
// Input: one byte choosing the session (H.264 + AAC, H.265, or H.264 with sprop), then records
// of a 2-byte big-endian length (top bit: RTCP; next bit: second track) and the packet, the
// format of tests/data/rtsp/*.rtp.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "rtp/sdp.h"
#include "rtsp/rtp_ingest.h"
#include "rtsp/udp_ingest_port.h"

namespace {

const char* const kSdps[] = {
    "v=0\r\ns=-\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    "a=fmtp:96 packetization-mode=1\r\nm=audio 0 RTP/AVP 97\r\n"
    "a=rtpmap:97 MPEG4-GENERIC/44100/2\r\na=fmtp:97 profile-level-id=1;mode=AAC-hbr;"
    "sizelength=13;indexlength=3;indexdeltalength=3;config=1210\r\n",
    "v=0\r\ns=-\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\n"
    "m=audio 0 RTP/AVP 0\r\n",
    "v=0\r\ns=-\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    "a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAHtkDxWhAAAADAEAAAAwDxYuS,aMuMsg==\r\n",
};

class Checker : public xl::FrameSink {
 public:
  void onFrame(const xl::Frame& f) override {
    if (f.kind != xl::MediaKind::kVideo || f.flags.config) return;
    if (seen_ && f.dts <= last_) __builtin_trap();
    seen_ = true;
    last_ = f.dts;
  }

 private:
  bool seen_ = false;
  int64_t last_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xl;
  if (size < 1) return 0;
  static Worker worker(0);
  static const std::vector<OutputFormat> formats;
  auto sdp = rtp::parseSdp(kSdps[data[0] % 3]);
  if (!sdp) __builtin_trap();
  std::vector<rtp::RtpTrackInfo> tracks;
  for (auto& m : sdp->media) {
    auto t = rtp::trackFromMedia(m);
    if (!t) __builtin_trap();
    tracks.push_back(*t);
  }
  Stream stream("fuzz/ingest", worker, {&worker}, formats, PublisherInfo{"rtsp", "fuzz"}, {});
  stream.addFrameSink(std::make_unique<Checker>());
  {
    rtsp::RtpIngest ingest(std::move(tracks), stream, rtsp::RtpIngestOptions{8, 0});
    size_t i = 1;
    while (i + 2 <= size) {
      uint16_t head = static_cast<uint16_t>(data[i] << 8 | data[i + 1]);
      size_t n = head & 0x3fff;
      i += 2;
      if (i + n > size) n = size - i;
      int track = head & 0x4000 ? 1 : 0;
      uint32_t ssrc;  // what the shared UDP ports read of a stray datagram (udp_ingest_port.h)
      (void)rtsp::ssrcOf(data + i, n, head & 0x8000, ssrc);
      if (head & 0x8000)
        ingest.onRtcp(track, data + i, n);
      else
        ingest.onRtp(track, data + i, n);
      i += n;
    }
  }
  return 0;
}
