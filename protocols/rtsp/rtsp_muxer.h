// The "rtsp" output format: each frame becomes its RTP packets, once per stream, each framed as
// RTSP interleaved data ("$", channel, 16-bit length; RFC 2326 §10.12). TCP viewers send these
// bytes as they are; UDP viewers send the same packets without the 4-byte prefix, to their RTP or
// RTCP port by the channel's parity. RTCP sender reports (RFC 3550 §6.4.1) follow the packets of
// a video keyframe and about once a second per track, so players can align audio and video.
#pragma once

#include <cstdint>
#include <memory>
#include <random>

#include "rtp/packetizer.h"
#include "rtp/rtp_packet.h"
#include "xueliang/muxer.h"

namespace xl::rtsp {

// Fixed track numbering, the same in every SDP, SETUP and muxed batch: video is trackID=0 on
// channels 0 (RTP) and 1 (RTCP); audio is trackID=1 on channels 2 and 3.
inline constexpr int kVideoTrack = 0;
inline constexpr int kAudioTrack = 1;
inline int trackOf(MediaKind k) {
  return k == MediaKind::kVideo ? kVideoTrack : kAudioTrack;
}
inline uint8_t rtpChannel(int track) {
  return static_cast<uint8_t>(2 * track);
}

class RtspMuxer : public Muxer {
 public:
  RtspMuxer();
  BufferRef header(const MediaInfo&) override { return {}; }
  BufferRef mux(const Frame& frame, const MediaInfo& info) override;

 private:
  struct Track {
    Codec codec = Codec::kNone;
    std::unique_ptr<rtp::Packetizer> packetizer;
    uint32_t clockRate = 90000;
    uint32_t offset = 0;           // random RTP timestamp origin (RFC 3550 §5.1)
    const void* config = nullptr;  // the configuration record the parameter sets came from
    bool haveLast = false;
    uint32_t lastTs = 0;
    int64_t lastSrMs = 0;
    bool srDue = true;
  };
  bool prepare(Track& t, const Frame& f, const MediaInfo& info);
  uint32_t timestampFor(Track& t, const Frame& f);
  void writeSenderReport(int track, Track& t, uint32_t ts);

  Track tracks_[2];
  BufferWriter out_{64 * 1024};
  std::mt19937 rng_;
  bool clockSet_ = false;
  int64_t wallBaseMicros_ = 0;  // wall clock of media time 0, for the NTP side of reports
};

}  // namespace xl::rtsp
