#include "webrtc/webrtc_muxer.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace xl::webrtc {
namespace {

// RFC 7587 §4.1 / §7: WebRTC offers opus/48000/2, and 20 ms frames are what browsers send.
constexpr int kOpusRate = 48000;
constexpr int64_t kOpusBitrate = 64000;
constexpr int64_t kErrorLogIntervalMs = 10000;

int64_t floorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

WebrtcMuxer::WebrtcMuxer(std::shared_ptr<TranscoderCounters> counters,
                         std::shared_ptr<const TranscodeSettings> settings)
    : counters_(std::move(counters)), settings_(std::move(settings)) {}

WebrtcMuxer::~WebrtcMuxer() {
  dropTranscoder();
}

void WebrtcMuxer::dropTranscoder() {
  if (!transcoder_) return;
  transcoder_.reset();
  counters_->live.fetch_sub(1);
}

BufferRef WebrtcMuxer::mux(const Frame& f, const MediaInfo& info) {
  if (f.kind == MediaKind::kAudio && info.alternateAudio) {
    // The publisher's own Opus (a WHIP browser's) goes out as it came; the stream's main audio,
    // transcoded from it for the other formats, is not transcoded back. The Opus RTP clock is
    // 48 kHz whatever `info.audio` says (RFC 7587 §4.1).
    if (info.alternateAudio->codec == Codec::kOpus)
      return f.flags.alternate ? rtp_.mux(f, info) : BufferRef();
  }
  if (f.flags.alternate) return {};
  if (f.kind == MediaKind::kAudio && f.codec == Codec::kAAC) return transcodeAac(f, info);
  return rtp_.mux(f, info);
}

BufferRef WebrtcMuxer::transcodeAac(const Frame& f, const MediaInfo& info) {
  if (!info.audio || info.audio->codec != Codec::kAAC) return {};
  // New AudioSpecificConfig (a publisher changed its audio): a new decoder for it.
  if (info.audio->config.data() != aacConfig_) {
    dropTranscoder();
    aacConfig_ = info.audio->config.data();
    unusable_ = false;
  }
  if (unusable_ || f.flags.config || !f.data) return {};
  if (!transcoder_) {
    AudioTranscoderConfig c;
    c.decoder = "aac";
    auto asc = info.audio->config.span();
    c.decoderConfig.assign(asc.begin(), asc.end());
    c.inputSampleRate = info.audio->sampleRate;
    c.inputChannels = info.audio->channels;
    c.encoder = "libopus";
    c.outputSampleRate = kOpusRate;
    c.outputChannels = 2;
    c.bitrate = kOpusBitrate;
    c.encoderOptions = {{"frame_duration", std::to_string(settings_->opusFrameMs.load())},
                        {"application", "audio"}};
    auto t = AudioTranscoder::create(c);
    if (!t) {
      spdlog::warn("webrtc: cannot transcode AAC to Opus ({}); WebRTC viewers get no audio",
                   t.message());
      unusable_ = true;
      return {};
    }
    transcoder_ = std::move(*t);
    counters_->live.fetch_add(1);
    counters_->created.fetch_add(1);
  }
  out_.clear();
  Status s = transcoder_->push(f.data.span(), f.dts, [&](const TranscodedPacket& p) {
    Frame o;
    o.kind = MediaKind::kAudio;
    o.codec = Codec::kOpus;
    // Milliseconds on the stream's clock; 20 ms frames keep exact 960-tick RTP steps.
    o.dts = o.pts = floorDiv(p.time * 1000, kOpusRate);
    o.data = BufferRef::copyOf(p.data.data(), p.data.size());
    BufferRef b = rtp_.mux(o, info);
    if (b) out_.append(b.data(), b.size());
  });
  if (!s) {
    counters_->errors.fetch_add(1);
    ++errorsLogged_;
    int64_t now = steadyMs();
    if (now - lastErrorLogMs_ >= kErrorLogIntervalMs) {  // at most one line per 10 s
      spdlog::warn("webrtc: AAC frame skipped ({}); {} skipped so far", s.message(), errorsLogged_);
      lastErrorLogMs_ = now;
    }
  }
  if (out_.size() == 0) return {};
  BufferWriter batch(out_.size());
  batch.append(out_.data(), out_.size());
  return batch.freeze();
}

}  // namespace xl::webrtc
