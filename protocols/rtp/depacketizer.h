// Depacketizers: RTP packets of one track in, core frames out (the RTSP server's RECORD and the
// camera pull client share them). Losses are found from sequence numbers (RFC 3550 §A.1): a video
// access unit that lost a packet is dropped whole and output resumes at the next keyframe, so a
// decoder never sees a damaged picture; audio simply loses the damaged frames.
//   H.264  RFC 6184: single NAL unit (§5.6), STAP-A (§5.7.1), FU-A (§5.8)
//   H.265  RFC 7798: single NAL unit (§4.4.1), AP (§4.4.2), FU (§4.4.3); no DONL fields
//   AAC    RFC 3640 mpeg4-generic AU-headers (§3.2.1), including fragmented AUs (§3.2.3)
//   G.711 / Opus  RFC 3551 / RFC 7587: each payload is a frame
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "rtp/rtp_packet.h"
#include "xueliang/buffer.h"
#include "xueliang/frame.h"

namespace xl::rtp {

struct DepacketizedFrame {
  uint32_t timestamp = 0;  // RTP timestamp of the frame
  BufferRef data;          // video: 4-byte length-prefixed access unit; audio: the raw frame
  bool key = false;        // video: IDR (H.264) / IRAP (H.265)
};
using FrameFn = std::function<void(DepacketizedFrame&&)>;

struct DepacketizerStats {
  uint64_t packets = 0;        // accepted
  uint64_t lost = 0;           // missing sequence numbers
  uint64_t late = 0;           // duplicate or reordered packets, dropped
  uint64_t malformed = 0;      // payloads that did not parse
  uint64_t framesDropped = 0;  // damaged frames, or video waiting for a keyframe
};

// RFC 3640 fmtp parameters (§4.1) for mode AAC-hbr / AAC-lbr.
struct AacRtpParams {
  int sizeLength = 13;
  int indexLength = 3;
  int indexDeltaLength = 3;
  uint32_t frameSamples = 1024;  // per AU, for the timestamps of later AUs in a packet
};

class Depacketizer {
 public:
  virtual ~Depacketizer() = default;
  // One packet of this track in arrival order; complete frames go to `out`. Never fails: bad
  // payloads are counted and dropped.
  void push(const RtpPacket& p, const FrameFn& out);
  const DepacketizerStats& stats() const { return stats_; }

 protected:
  // `loss`: packets are missing right before this one.
  virtual void onPacket(const RtpPacket& p, bool loss, const FrameFn& out) = 0;
  DepacketizerStats stats_;

 private:
  bool started_ = false;
  uint16_t expected_ = 0;
};

// nullptr for codecs without RTP support.
std::unique_ptr<Depacketizer> makeDepacketizer(Codec codec, const AacRtpParams& aac = {});

}  // namespace xl::rtp
