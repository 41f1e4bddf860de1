#include "rtmp/flv_tag.h"

#include <algorithm>

#include "rtmp/amf0.h"

namespace xl::rtmp {
namespace {

// Enhanced RTMP packet types (v1 "ExVideoTagHeader", v2 adds Multitrack and ModEx).
enum : uint8_t {
  kExSequenceStart = 0,
  kExCodedFrames = 1,
  kExSequenceEnd = 2,
  kExCodedFramesX = 3,
  kExMetadata = 4,
  kExMpeg2TsSequenceStart = 5,
  kExMultitrack = 6,
  kExModEx = 7,
};
constexpr uint8_t kFrameKey = 1;
constexpr uint8_t kFrameInter = 2;
constexpr uint8_t kFrameCommand = 5;

uint32_t be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
int32_t si24(const uint8_t* p) {
  int32_t v = int32_t(p[0]) << 16 | int32_t(p[1]) << 8 | p[2];
  return (v & 0x800000) ? v - 0x1000000 : v;
}

Status truncated(const char* what, size_t need, size_t have) {
  return Status::error(std::string("flv: ") + what + " needs " + std::to_string(need) +
                       " bytes, tag has " + std::to_string(have));
}

// Enhanced RTMP v2 ModEx: size-prefixed modifier data, then a byte whose low nibble is the real
// packet type. We skip the data (only TimestampOffsetNano is defined so far).
Status skipModEx(std::span<const uint8_t> body, size_t& pos, uint8_t& packetType) {
  while (packetType == kExModEx) {
    if (body.size() - pos < 1) return truncated("ModEx size", pos + 1, body.size());
    size_t size = size_t(body[pos++]) + 1;
    if (size == 256) {
      if (body.size() - pos < 2) return truncated("ModEx size", pos + 2, body.size());
      size = (size_t(body[pos]) << 8 | body[pos + 1]) + 1;
      pos += 2;
    }
    if (body.size() - pos < size + 1) return truncated("ModEx data", pos + size + 1, body.size());
    pos += size;
    packetType = body[pos++] & 0x0F;
  }
  return Status::ok();
}

Codec videoCodecOf(uint32_t fc) {
  if (fc == fourcc("avc1")) return Codec::kH264;
  if (fc == fourcc("hvc1")) return Codec::kH265;
  return Codec::kNone;
}

Result<FlvVideoTag> parseEnhancedVideo(std::span<const uint8_t> body) {
  FlvVideoTag t;
  t.enhanced = true;
  t.frameType = (body[0] >> 4) & 0x07;
  t.keyframe = t.frameType == kFrameKey;
  uint8_t packetType = body[0] & 0x0F;
  size_t pos = 1;
  if (Status s = skipModEx(body, pos, packetType); !s) return s;
  // Command frames (a UI8 command, no media) and multitrack bodies carry nothing we play.
  if ((t.frameType == kFrameCommand && packetType != kExMetadata) || packetType == kExMultitrack) {
    t.packet = FlvPacket::kIgnored;
    return t;
  }
  if (body.size() - pos < 4) return truncated("video FourCC", pos + 4, body.size());
  t.fourCc = be32(body.data() + pos);
  pos += 4;
  t.codec = videoCodecOf(t.fourCc);
  switch (packetType) {
    case kExSequenceStart:
      t.packet = FlvPacket::kSequenceHeader;
      break;
    case kExCodedFrames:
      t.packet = FlvPacket::kCodedFrames;
      // Only AVC and HEVC carry an SI24 composition time here (Enhanced RTMP v1).
      if (t.codec != Codec::kNone) {
        if (body.size() - pos < 3) return truncated("composition time", pos + 3, body.size());
        t.compositionTime = si24(body.data() + pos);
        pos += 3;
      }
      break;
    case kExCodedFramesX:
      t.packet = FlvPacket::kCodedFrames;
      break;
    case kExSequenceEnd:
      t.packet = FlvPacket::kEndOfSequence;
      break;
    case kExMetadata:
    case kExMpeg2TsSequenceStart:
      t.packet = FlvPacket::kIgnored;
      break;
    default:
      return Status::error("flv: unknown enhanced video packet type " + std::to_string(packetType));
  }
  t.data = body.subspan(pos);
  return t;
}

void writeSi24(BufferWriter& w, int64_t v) {
  v = std::clamp<int64_t>(v, -0x800000, 0x7FFFFF);
  w.be24(static_cast<uint32_t>(v) & 0xFFFFFF);
}

// One video tag body in the form the codec/form pair asks for (E.4.3.1 or Enhanced RTMP).
Status writeVideoBody(BufferWriter& w, Codec codec, HevcTagForm form, bool key, FlvPacket packet,
                      int64_t cts, std::span<const uint8_t> data) {
  uint8_t frameType = key ? kFrameKey : kFrameInter;
  bool enhanced = codec == Codec::kH265 && form == HevcTagForm::kEnhanced;
  if (codec != Codec::kH264 && codec != Codec::kH265) {
    return Status::error("flv: codec " + std::string(codecName(codec)) +
                         " cannot be carried in a video tag");
  }
  w.reserve(data.size() + 8);
  if (enhanced) {
    uint8_t pt = packet == FlvPacket::kSequenceHeader  ? kExSequenceStart
                 : packet == FlvPacket::kEndOfSequence ? kExSequenceEnd
                 : cts != 0                            ? kExCodedFrames
                                                       : kExCodedFramesX;  // saves 3 bytes
    w.u8(static_cast<uint8_t>(0x80 | frameType << 4 | pt));
    w.be32(fourcc("hvc1"));
    if (pt == kExCodedFrames) writeSi24(w, cts);
  } else {
    uint8_t codecId = codec == Codec::kH264 ? kFlvCodecAvc : kFlvCodecHevcLegacy;
    w.u8(static_cast<uint8_t>(frameType << 4 | codecId));
    w.u8(packet == FlvPacket::kSequenceHeader  ? 0
         : packet == FlvPacket::kEndOfSequence ? 2
                                               : 1);  // AVCPacketType
    writeSi24(w, packet == FlvPacket::kCodedFrames ? cts : 0);
  }
  if (!data.empty()) w.append(data);  // memcpy must not see a null source
  return Status::ok();
}

}  // namespace

Result<FlvVideoTag> parseVideoTag(std::span<const uint8_t> body) {
  if (body.empty()) return truncated("video header", 1, 0);
  if (body[0] & 0x80) return parseEnhancedVideo(body);
  FlvVideoTag t;
  t.frameType = body[0] >> 4;
  t.codecId = body[0] & 0x0F;
  t.keyframe = t.frameType == kFrameKey;
  if (t.frameType == kFrameCommand) {  // E.4.3.1: a seek marker byte, no picture
    t.packet = FlvPacket::kIgnored;
    return t;
  }
  if (t.codecId != kFlvCodecAvc && t.codecId != kFlvCodecHevcLegacy) {
    t.packet = FlvPacket::kCodedFrames;  // Sorenson, VP6, ...: passed as opaque data
    t.data = body.subspan(1);
    return t;
  }
  t.codec = t.codecId == kFlvCodecAvc ? Codec::kH264 : Codec::kH265;
  if (body.size() < 5) return truncated("AVC video header", 5, body.size());
  switch (body[1]) {  // AVCPacketType
    case 0:
      t.packet = FlvPacket::kSequenceHeader;
      break;
    case 1:
      t.packet = FlvPacket::kCodedFrames;
      break;
    case 2:
      t.packet = FlvPacket::kEndOfSequence;
      break;
    default:
      return Status::error("flv: invalid AVCPacketType " + std::to_string(body[1]));
  }
  t.compositionTime = si24(body.data() + 2);
  t.data = body.subspan(5);
  return t;
}

Result<FlvAudioTag> parseAudioTag(std::span<const uint8_t> body) {
  if (body.empty()) return truncated("audio header", 1, 0);
  FlvAudioTag t;
  t.soundFormat = body[0] >> 4;
  if (t.soundFormat == kFlvSoundExHeader) {
    // Enhanced RTMP v2 ExAudioTagHeader: packet type nibble, optional ModEx, FourCC.
    uint8_t packetType = body[0] & 0x0F;
    size_t pos = 1;
    if (Status s = skipModEx(body, pos, packetType); !s) return s;
    if (packetType == 5) {  // Multitrack
      t.packet = FlvPacket::kIgnored;
      return t;
    }
    if (body.size() - pos < 4) return truncated("audio FourCC", pos + 4, body.size());
    t.fourCc = be32(body.data() + pos);
    pos += 4;
    if (t.fourCc == fourcc("mp4a")) t.codec = Codec::kAAC;
    if (t.fourCc == fourcc("Opus")) t.codec = Codec::kOpus;
    switch (packetType) {
      case 0:
        t.packet = FlvPacket::kSequenceHeader;
        break;
      case 1:
        t.packet = FlvPacket::kCodedFrames;
        break;
      case 2:
        t.packet = FlvPacket::kEndOfSequence;
        break;
      case 4:  // MultichannelConfig
        t.packet = FlvPacket::kIgnored;
        break;
      default:
        return Status::error("flv: unknown enhanced audio packet type " +
                             std::to_string(packetType));
    }
    t.data = body.subspan(pos);
    return t;
  }
  static constexpr int kRates[4] = {5512, 11025, 22050, 44100};
  t.sampleRate = kRates[(body[0] >> 2) & 3];
  t.bitsPerSample = (body[0] & 0x02) ? 16 : 8;
  t.channels = (body[0] & 0x01) ? 2 : 1;
  t.packet = FlvPacket::kCodedFrames;
  switch (t.soundFormat) {
    case kFlvSoundAac:
      t.codec = Codec::kAAC;
      if (body.size() < 2) return truncated("AAC header", 2, body.size());
      if (body[1] > 1)
        return Status::error("flv: invalid AACPacketType " + std::to_string(body[1]));
      t.packet = body[1] == 0 ? FlvPacket::kSequenceHeader : FlvPacket::kCodedFrames;
      t.data = body.subspan(2);
      return t;
    case kFlvSoundG711A:
    case kFlvSoundG711U:
      // The rate flags cannot express 8 kHz; G.711 in FLV is 8 kHz by convention.
      t.codec = t.soundFormat == kFlvSoundG711A ? Codec::kG711A : Codec::kG711U;
      t.sampleRate = 8000;
      break;
    default:
      break;  // MP3, Nellymoser, Speex, ...: opaque
  }
  t.data = body.subspan(1);
  return t;
}

Status writeVideoTag(BufferWriter& w, const Frame& f, HevcTagForm form) {
  FlvPacket packet = f.flags.config ? FlvPacket::kSequenceHeader : FlvPacket::kCodedFrames;
  return writeVideoBody(w, f.codec, form, f.flags.key || f.flags.config, packet, f.pts - f.dts,
                        f.data.span());
}

Status writeVideoConfigTag(BufferWriter& w, Codec codec, std::span<const uint8_t> record,
                           HevcTagForm form) {
  return writeVideoBody(w, codec, form, true, FlvPacket::kSequenceHeader, 0, record);
}

Status writeVideoEndOfSequenceTag(BufferWriter& w, Codec codec, HevcTagForm form) {
  return writeVideoBody(w, codec, form, true, FlvPacket::kEndOfSequence, 0, {});
}

Status writeAacConfigTag(BufferWriter& w, std::span<const uint8_t> asc) {
  w.u8(0xAF);  // AAC, "44 kHz", 16-bit, stereo: E.4.2.1 says these are fixed for AAC
  w.u8(0);
  if (!asc.empty()) w.append(asc);
  return Status::ok();
}

Status writeAudioTag(BufferWriter& w, const Frame& f) {
  switch (f.codec) {
    case Codec::kAAC:
      if (f.flags.config) return writeAacConfigTag(w, f.data.span());
      w.reserve(f.data.size() + 2);
      w.u8(0xAF);
      w.u8(1);
      break;
    case Codec::kG711A:
    case Codec::kG711U:
      // 5.5 kHz rate code, 16-bit, mono: how ffmpeg and most encoders flag 8 kHz G.711.
      w.reserve(f.data.size() + 1);
      w.u8(static_cast<uint8_t>((f.codec == Codec::kG711A ? kFlvSoundG711A : kFlvSoundG711U) << 4 |
                                0x02));
      break;
    default:
      return Status::error("flv: codec " + std::string(codecName(f.codec)) +
                           " cannot be carried in an audio tag");
  }
  if (f.data.size()) w.append(f.data.span());
  return Status::ok();
}

void writeFlvFileHeader(BufferWriter& w, bool hasAudio, bool hasVideo) {
  w.append("FLV", 3);
  w.u8(1);  // version
  w.u8(static_cast<uint8_t>((hasAudio ? 0x04 : 0) | (hasVideo ? 0x01 : 0)));
  w.be32(9);  // DataOffset: header size
  w.be32(0);  // PreviousTagSize0
}

void writeFlvTagHeader(BufferWriter& w, uint8_t tagType, uint32_t timestamp, uint32_t bodySize) {
  w.u8(tagType & 0x1F);  // reserved and Filter bits zero: not encrypted
  w.be24(bodySize);
  w.be24(timestamp & 0xFFFFFF);
  w.u8(static_cast<uint8_t>(timestamp >> 24));  // TimestampExtended: upper 8 bits
  w.be24(0);                                    // StreamID
}

Status writeFlvTag(BufferWriter& w, uint8_t tagType, uint32_t timestamp,
                   std::span<const uint8_t> body) {
  if (body.size() > 0xFFFFFF) {
    return Status::error("flv: tag body of " + std::to_string(body.size()) +
                         " bytes exceeds the 24-bit DataSize");
  }
  w.reserve(kFlvTagHeaderSize + body.size() + 4);
  writeFlvTagHeader(w, tagType, timestamp, static_cast<uint32_t>(body.size()));
  if (!body.empty()) w.append(body);
  w.be32(static_cast<uint32_t>(kFlvTagHeaderSize + body.size()));
  return Status::ok();
}

void writeOnMetaDataBody(BufferWriter& w, const FlvMetadata& m) {
  struct Field {
    const char* key;
    double value;
  };
  const Field fields[] = {{"width", m.width},
                          {"height", m.height},
                          {"framerate", m.framerate},
                          {"videocodecid", m.videoCodecId},
                          {"audiocodecid", m.audioCodecId},
                          {"audiosamplerate", m.audioSampleRate},
                          {"audiochannels", m.audioChannels}};
  uint32_t count = m.encoder.empty() ? 0 : 1;
  for (const auto& f : fields) count += f.value != 0;
  if (m.audioChannels != 0) ++count;  // "stereo"
  amf0::writeString(w, "onMetaData");
  amf0::writeEcmaArrayBegin(w, count);
  for (const auto& f : fields) {
    if (f.value == 0) continue;
    amf0::writeKey(w, f.key);
    amf0::writeNumber(w, f.value);
  }
  if (m.audioChannels != 0) {  // the E.5 field players read; audiochannels is a common extra
    amf0::writeKey(w, "stereo");
    amf0::writeBoolean(w, m.audioChannels >= 2);
  }
  if (!m.encoder.empty()) {
    amf0::writeKey(w, "encoder");
    amf0::writeString(w, m.encoder);
  }
  amf0::writeObjectEnd(w);
}

}  // namespace xl::rtmp
