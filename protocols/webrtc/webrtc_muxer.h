// The "webrtc" output format: what WHEP sessions send, built once per stream. Video (H.264, RFC
// 6184; H.265, RFC 7798, with the hvcC's parameter sets in-band before each IRAP picture) and the
// audio codecs browsers play (Opus, G.711) are the "rtsp" format's RTP packets, unchanged
// (RtspMuxer: RTSP-interleaved RTP and RTCP sender reports). AAC, which browsers cannot play, is
// transcoded to Opus 48 kHz stereo in 20 ms frames (RFC 7587) and packetized by the same RtspMuxer,
// so the Opus RTP timestamps and sender reports sit on the same clock as the video's and the
// browser keeps lip sync. The stream creates this muxer when its first WebRTC viewer joins and
// destroys it when the last one leaves, so the transcoder runs once per stream and only while
// watched. A stream that carries its publisher's original Opus as alternate audio (a WHIP
// browser's: MediaInfo::alternateAudio) sends that instead, and transcodes nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "rtsp/rtsp_muxer.h"
#include "webrtc/audio_transcoder.h"
#include "xueliang/muxer.h"

namespace xl::webrtc {

// Live transcoders and their lifetime totals, for /metrics. Shared by the format's muxers.
struct TranscoderCounters {
  std::atomic<int64_t> live{0};
  std::atomic<uint64_t> created{0};
  std::atomic<uint64_t> errors{0};  // input frames skipped as undecodable
};

// How AAC is transcoded: set from [webrtc] on the main thread before the workers start, read
// when a stream's transcoder is made on its worker.
struct TranscodeSettings {
  // Opus frame (and RTP packet) duration. 20 ms is WebRTC's usual; 40 or 60 ms send a half or a
  // third of the audio packets, each a sendmmsg message per viewer, for 20-40 ms more latency.
  std::atomic<int> opusFrameMs{20};
};

class WebrtcMuxer : public Muxer {
 public:
  explicit WebrtcMuxer(
      std::shared_ptr<TranscoderCounters> counters,
      std::shared_ptr<const TranscodeSettings> settings = std::make_shared<TranscodeSettings>());
  ~WebrtcMuxer() override;
  BufferRef header(const MediaInfo&) override { return {}; }
  BufferRef mux(const Frame& frame, const MediaInfo& info) override;

  bool transcoding() const { return transcoder_ != nullptr; }

 private:
  BufferRef transcodeAac(const Frame& frame, const MediaInfo& info);
  void dropTranscoder();

  std::shared_ptr<TranscoderCounters> counters_;
  std::shared_ptr<const TranscodeSettings> settings_;
  rtsp::RtspMuxer rtp_;
  std::unique_ptr<AudioTranscoder> transcoder_;
  const void* aacConfig_ = nullptr;  // the AudioSpecificConfig the transcoder was made for
  bool unusable_ = false;            // this configuration cannot be transcoded: skip its audio
  BufferWriter out_{4096};
  uint64_t errorsLogged_ = 0;
  int64_t lastErrorLogMs_ = -1000000;
};

}  // namespace xl::webrtc
