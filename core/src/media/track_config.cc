// Turns configuration records into the track descriptions streams publish (track.h).
#include "xueliang/codec.h"

namespace xl {

Result<VideoTrack> videoTrackFromConfig(Codec codec, BufferRef record) {
  VideoTrack t;
  t.codec = codec;
  if (codec == Codec::kH264) {
    Result<h264::AvcConfig> c = h264::parseAvcC(record.span());
    if (!c) return c.status();
    if (c->sps.empty()) return Status::error("avcC: no SPS");
    Result<h264::Sps> sps = h264::parseSps(c->sps.front());
    if (!sps) return sps.status();
    t.width = sps->width;
    t.height = sps->height;
    t.profile = std::string(h264::profileName(sps->profileIdc, sps->constraintFlags));
    t.level = sps->levelIdc;
  } else if (codec == Codec::kH265) {
    Result<h265::HevcConfig> c = h265::parseHvcC(record.span());
    if (!c) return c.status();
    if (c->ps.sps.empty()) return Status::error("hvcC: no SPS");
    Result<h265::Sps> sps = h265::parseSps(c->ps.sps.front());
    if (!sps) return sps.status();
    t.width = sps->width;
    t.height = sps->height;
    t.profile = std::string(h265::profileName(sps->ptl));
    t.level = sps->ptl.levelIdc / 3;  // general_level_idc is 30 x level; track.h wants 10 x
  } else {
    return Status::error("video track: unsupported codec");
  }
  t.config = std::move(record);
  return t;
}

Result<VideoTrack> videoTrackFromParameterSets(Codec codec, const ParameterSets& ps) {
  Result<BufferRef> record = codec == Codec::kH264 ? h264::buildAvcC(ps)
                             : codec == Codec::kH265
                                 ? h265::buildHvcC(ps)
                                 : Status::error("video track: unsupported codec");
  if (!record) return record.status();
  return videoTrackFromConfig(codec, std::move(*record));
}

Result<AudioTrack> audioTrackFromConfig(Codec codec, BufferRef asc) {
  AudioTrack t;
  t.codec = codec;
  switch (codec) {
    case Codec::kAAC: {
      Result<aac::AudioSpecificConfig> c = aac::parseAsc(asc.span());
      if (!c) return c.status();
      t.sampleRate = c->outputSampleRate();
      t.channels = c->channels;
      t.config = std::move(asc);
      return t;
    }
    case Codec::kG711A:
    case Codec::kG711U:
      t.sampleRate = 8000;
      t.channels = 1;
      return t;
    case Codec::kOpus: {
      // RTP and every container clock Opus at 48 kHz (RFC 7587 4.1). OpusHead (RFC 7845 5.1)
      // carries the channel count at offset 9.
      t.sampleRate = 48000;
      t.channels = 2;
      ByteSpan d = asc.span();
      if (!d.empty()) {
        if (d.size() < 19 || asc.view().substr(0, 8) != "OpusHead")
          return Status::error("opus: bad OpusHead");
        if (d[9] == 0) return Status::error("opus: zero channels");
        t.channels = d[9];
        t.config = std::move(asc);
      }
      return t;
    }
    default:
      return Status::error("audio track: unsupported codec");
  }
}

}  // namespace xl
