#include "rtsp/rtsp_muxer.h"

#include <chrono>

#include "rtp/rtcp.h"
#include "rtp/sdp_media.h"
#include "xueliang/codec.h"

namespace xl::rtsp {
namespace {

constexpr int64_t kReportIntervalMs = 1000;
constexpr uint32_t kAacFrameSamples = 1024;

int64_t wallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Starts an interleaved frame; returns the offset of its length field.
size_t beginInterleaved(BufferWriter& w, uint8_t channel) {
  w.u8('$');
  w.u8(channel);
  size_t at = w.size();
  w.be16(0);
  return at;
}

void endInterleaved(BufferWriter& w, size_t at) {
  rtp::putBe16(w.data() + at, static_cast<uint16_t>(w.size() - at - 2));
}

}  // namespace

RtspMuxer::RtspMuxer() : rng_(std::random_device{}()) {}

bool RtspMuxer::prepare(Track& t, const Frame& f, const MediaInfo& info) {
  if (t.codec != f.codec || !t.packetizer) {
    rtp::PacketizerConfig c;
    c.ssrc = static_cast<uint32_t>(rng_());
    c.firstSeq = static_cast<uint16_t>(rng_());
    c.payloadType = f.kind == MediaKind::kVideo
                        ? rtp::kVideoPayloadType
                        : rtp::payloadTypeFor(f.codec, rtp::kAudioPayloadType);
    t.packetizer = rtp::makePacketizer(f.codec, c);
    if (!t.packetizer) return false;
    t.codec = f.codec;
    t.offset = static_cast<uint32_t>(rng_());
    t.config = nullptr;
    t.haveLast = false;
    t.srDue = true;
    int rate = info.audio ? info.audio->sampleRate : 0;
    t.clockRate = rtp::clockRateFor(f.codec, rate);
  }
  // H.264/H.265: keep the in-band parameter sets in step with the stream's configuration.
  if (f.kind == MediaKind::kVideo && info.video && info.video->config.data() != t.config) {
    t.config = info.video->config.data();
    ParameterSets ps;
    if (f.codec == Codec::kH264) {
      if (auto avc = h264::parseAvcC(info.video->config.span()))
        ps.sps = avc->sps, ps.pps = avc->pps;
    } else if (auto hvc = h265::parseHvcC(info.video->config.span())) {
      ps = hvc->ps;
    }
    t.packetizer->setParameterSets(ps);
  }
  return true;
}

uint32_t RtspMuxer::timestampFor(Track& t, const Frame& f) {
  // Video: presentation time at 90 kHz (RFC 6184 §5.1). Audio: the sampling instant; frames that
  // arrive within 2 ms of where the previous AAC frame ends continue its sample count exactly, so
  // millisecond source timestamps do not make the RTP timeline jitter.
  int64_t ms = f.kind == MediaKind::kVideo ? f.pts : f.dts;
  uint32_t ts = t.offset + static_cast<uint32_t>(ms * static_cast<int64_t>(t.clockRate) / 1000);
  if (f.kind == MediaKind::kAudio && t.codec == Codec::kAAC && t.haveLast) {
    uint32_t expected = t.lastTs + kAacFrameSamples;
    int32_t diff = static_cast<int32_t>(ts - expected);
    if (std::abs(diff) <= static_cast<int32_t>(t.clockRate / 500)) ts = expected;
  }
  t.haveLast = true;
  t.lastTs = ts;
  return ts;
}

void RtspMuxer::writeSenderReport(int track, Track& t, uint32_t ts) {
  // RFC 3550 §6.4.1: the NTP and RTP timestamps name the same instant. Both tracks derive their
  // NTP time from one wall-clock origin for media time 0, so reports align the two timelines.
  int64_t mediaMicros = static_cast<int64_t>(static_cast<int32_t>(ts - t.offset)) * 1000000 /
                        static_cast<int64_t>(t.clockRate);
  rtp::SenderReport sr;
  sr.ssrc = t.packetizer->ssrc();
  sr.ntp = rtp::ntpFromUnixMicros(static_cast<uint64_t>(wallBaseMicros_ + mediaMicros));
  sr.rtpTimestamp = ts;
  sr.packetCount = t.packetizer->packetCount();
  sr.octetCount = t.packetizer->octetCount();
  size_t at = beginInterleaved(out_, static_cast<uint8_t>(rtpChannel(track) + 1));
  rtp::writeSenderReport(out_, sr);
  rtp::writeSdesCname(out_, sr.ssrc, "xueliang");
  endInterleaved(out_, at);
}

BufferRef RtspMuxer::mux(const Frame& f, const MediaInfo& info) {
  const int k = trackOf(f.kind);
  Track& t = tracks_[k];
  if (!prepare(t, f, info) || f.flags.config) return {};
  if (!clockSet_) {
    clockSet_ = true;
    wallBaseMicros_ = wallMicros() - f.dts * 1000;
  }
  const uint32_t ts = timestampFor(t, f);
  out_.clear();
  const uint8_t channel = rtpChannel(k);
  // The report goes before the frame's packets: a player that starts here maps the very first
  // packet to the common timeline instead of guessing and then jumping (ffmpeg does).
  const bool videoKey = f.kind == MediaKind::kVideo && f.flags.key;
  if (videoKey) tracks_[kAudioTrack].srDue = true;  // a viewer starting here needs both
  if (videoKey || t.srDue || f.dts - t.lastSrMs >= kReportIntervalMs || f.dts < t.lastSrMs) {
    writeSenderReport(k, t, ts);
    t.lastSrMs = f.dts;
    t.srDue = false;
  }
  const size_t reportBytes = out_.size();
  t.packetizer->packetize(f, ts, [&](rtp::ByteSpan head, rtp::ByteSpan body) {
    size_t at = beginInterleaved(out_, channel);
    out_.append(head);
    out_.append(body);
    endInterleaved(out_, at);
  });
  if (out_.size() == reportBytes) return {};
  BufferWriter batch(out_.size());
  batch.append(out_.data(), out_.size());
  return batch.freeze();
}

}  // namespace xl::rtsp
