#include "webrtc/whip_audio.h"

#include <spdlog/spdlog.h>

namespace xl::webrtc {
namespace {
constexpr int kAacRate = 48000;  // Opus decodes at 48 kHz: no resampling
constexpr int64_t kAacBitrate = 128000;
}  // namespace

std::shared_ptr<Stream> makeStagingStream(const std::string& name, Worker& owner) {
  static const std::vector<OutputFormat> kNoFormats;  // immutable: no muxers, no viewers
  StreamLimits limits;
  limits.gopCacheMaxBytes = 8 << 20;
  return std::make_shared<Stream>(name, owner, std::vector<Worker*>{&owner}, kNoFormats,
                                  PublisherInfo{"webrtc", "staging"}, limits);
}

void WhipAudioBridge::onMediaInfo(const MediaInfoPtr& info) {
  auto out = std::make_shared<MediaInfo>(*info);
  if (info->audio && info->audio->codec == Codec::kOpus && !failed_) {
    const int channels = info->audio->channels > 0 ? info->audio->channels : 2;
    if (!transcoder_ || channels != inputChannels_) {
      AudioTranscoderConfig c;
      c.decoder = "libopus";
      c.inputSampleRate = 48000;  // RFC 7587 §4.1: the RTP clock is always 48 kHz
      c.inputChannels = channels;
      c.encoder = "aac";
      c.outputSampleRate = kAacRate;
      c.outputChannels = 2;
      c.bitrate = kAacBitrate;
      auto t = AudioTranscoder::create(c);
      if (!t) {
        spdlog::warn("webrtc: {}: Opus to AAC unavailable ({}); audio is dropped", out_.name(),
                     t.message());
        failed_ = true;
      } else {
        transcoder_ = std::move(*t);
        inputChannels_ = channels;
      }
    }
  }
  if (info->audio && info->audio->codec == Codec::kOpus) {
    // The browser's Opus stays with the stream for WebRTC viewers (webrtc_muxer.h).
    out->alternateAudio = info->audio;
    if (transcoder_) {
      auto asc = transcoder_->encoderConfig();
      out->audio = AudioTrack{Codec::kAAC, BufferRef::copyOf(asc.data(), asc.size()), kAacRate, 2};
    } else {
      out->audio.reset();
    }
  }
  out_.setMediaInfo(std::move(out));
}

void WhipAudioBridge::onFrame(const Frame& f) {
  if (f.kind != MediaKind::kAudio || f.codec != Codec::kOpus) return out_.pushFrame(f);
  Frame original = f;  // shares the payload
  original.flags.alternate = true;
  out_.pushFrame(original);
  if (!transcoder_) return;
  // Errors are counted by the transcoder and the frame skipped: the next one may decode.
  (void)transcoder_->push(f.data.span(), f.pts, [this](const TranscodedPacket& p) { publish(p); });
}

void WhipAudioBridge::flush() {
  if (transcoder_) transcoder_->flush([this](const TranscodedPacket& p) { publish(p); });
}

void WhipAudioBridge::publish(const TranscodedPacket& p) {
  Frame f;
  f.kind = MediaKind::kAudio;
  f.codec = Codec::kAAC;
  f.pts = f.dts = p.time * 1000 / kAacRate;
  f.data = BufferRef::copyOf(p.data.data(), p.data.size());
  out_.pushFrame(f);
}

}  // namespace xl::webrtc
