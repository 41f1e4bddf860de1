// WhipAudioBridge: what a WHIP publisher's RTP ingest produces, made playable everywhere. The
// ingest publishes into a private staging Stream (never registered, no viewers) whose only sink
// is this bridge: video goes on to the published stream untouched; Opus (which RTMP, HTTP-FLV
// and HLS-TS cannot carry) is transcoded once, at ingest, to AAC-LC 48 kHz with libavcodec
// (audio_transcoder.h) and published as the stream's audio track; the Opus frames go on too, as
// the stream's alternate audio (MediaInfo::alternateAudio), which only WebRTC viewers get, so
// that they hear the browser's own Opus and no transcoder runs for them. G.711 passes through.
#pragma once

#include <memory>
#include <vector>

#include "webrtc/audio_transcoder.h"
#include "xueliang/sink.h"
#include "xueliang/stream.h"

namespace xl::webrtc {

class WhipAudioBridge : public FrameSink {
 public:
  explicit WhipAudioBridge(Stream& out) : out_(out) {}

  void onMediaInfo(const MediaInfoPtr& info) override;
  void onFrame(const Frame& frame) override;
  // Encodes the audio still buffered in the transcoder into the published stream.
  void flush();

  uint64_t transcodeErrors() const { return transcoder_ ? transcoder_->errors() : 0; }

 private:
  void publish(const TranscodedPacket& p);

  Stream& out_;
  std::unique_ptr<AudioTranscoder> transcoder_;
  int inputChannels_ = 0;
  bool failed_ = false;  // no transcoder could be made: audio is dropped
};

// A staging Stream for the ingest, on `owner`: no output formats, no viewers.
std::shared_ptr<Stream> makeStagingStream(const std::string& name, Worker& owner);

}  // namespace xl::webrtc
