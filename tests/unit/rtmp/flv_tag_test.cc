#include "rtmp/flv_tag.h"

#include <gtest/gtest.h>

#include <vector>

#include "rtmp/amf0.h"

namespace xl::rtmp {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes take(BufferWriter& w) {
  BufferRef b = w.freeze();
  return Bytes(b.data(), b.data() + b.size());
}
Bytes view(std::span<const uint8_t> s) {
  return Bytes(s.begin(), s.end());
}

// Two length-prefixed NAL units, as frame.h and FLV carry them.
const Bytes kNalus = {0, 0, 0, 2, 0x65, 0x88, 0, 0, 0, 3, 0x06, 0x05, 0x01};
const Bytes kAvcC = {0x01, 0x64, 0x00, 0x1F, 0xFF, 0xE1, 0x00, 0x00, 0x01, 0x00, 0x00};

Frame videoFrame(Codec c, bool key, int64_t dts, int64_t pts, const Bytes& data,
                 bool config = false) {
  Frame f;
  f.codec = c;
  f.dts = dts;
  f.pts = pts;
  f.flags.key = key;
  f.flags.config = config;
  f.data = BufferRef::copyOf(data.data(), data.size());
  return f;
}

TEST(FlvTag, H264RoundTrip) {
  BufferWriter w;
  ASSERT_TRUE(writeVideoTag(w, videoFrame(Codec::kH264, true, 1000, 1080, kNalus)));
  Bytes body = take(w);
  EXPECT_EQ(Bytes(body.begin(), body.begin() + 5), (Bytes{0x17, 0x01, 0x00, 0x00, 80}));
  auto t = parseVideoTag(body);
  ASSERT_TRUE(t) << t.message();
  EXPECT_EQ(t->codec, Codec::kH264);
  EXPECT_TRUE(t->keyframe);
  EXPECT_FALSE(t->enhanced);
  EXPECT_EQ(t->packet, FlvPacket::kCodedFrames);
  EXPECT_EQ(t->compositionTime, 80);
  EXPECT_EQ(view(t->data), kNalus);

  BufferWriter w2;  // inter frame with negative composition time (B-frame reordering quirk)
  ASSERT_TRUE(writeVideoTag(w2, videoFrame(Codec::kH264, false, 1000, 990, kNalus)));
  Bytes inter = take(w2);
  EXPECT_EQ(inter[0], 0x27);
  auto t2 = parseVideoTag(inter);
  ASSERT_TRUE(t2);
  EXPECT_FALSE(t2->keyframe);
  EXPECT_EQ(t2->compositionTime, -10);
}

TEST(FlvTag, H264SequenceHeader) {
  BufferWriter w;
  ASSERT_TRUE(writeVideoTag(w, videoFrame(Codec::kH264, false, 0, 0, kAvcC, true)));
  Bytes body = take(w);
  EXPECT_EQ(Bytes(body.begin(), body.begin() + 5), (Bytes{0x17, 0x00, 0, 0, 0}));
  auto t = parseVideoTag(body);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->packet, FlvPacket::kSequenceHeader);
  EXPECT_EQ(view(t->data), kAvcC);

  BufferWriter w2;
  ASSERT_TRUE(writeVideoConfigTag(w2, Codec::kH264, kAvcC));
  EXPECT_EQ(take(w2), body);
  BufferWriter w3;
  ASSERT_TRUE(writeVideoEndOfSequenceTag(w3, Codec::kH264));
  auto eos = parseVideoTag(take(w3));
  ASSERT_TRUE(eos);
  EXPECT_EQ(eos->packet, FlvPacket::kEndOfSequence);
}

TEST(FlvTag, H265Enhanced) {
  Bytes hvcC = {0x01, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 0x5D};
  BufferWriter w;
  ASSERT_TRUE(writeVideoConfigTag(w, Codec::kH265, hvcC));
  Bytes seq = take(w);
  EXPECT_EQ(Bytes(seq.begin(), seq.begin() + 5), (Bytes{0x90, 'h', 'v', 'c', '1'}));
  auto s = parseVideoTag(seq);
  ASSERT_TRUE(s) << s.message();
  EXPECT_TRUE(s->enhanced);
  EXPECT_EQ(s->fourCc, fourcc("hvc1"));
  EXPECT_EQ(s->codec, Codec::kH265);
  EXPECT_EQ(s->packet, FlvPacket::kSequenceHeader);
  EXPECT_EQ(view(s->data), hvcC);

  BufferWriter w2;  // cts != 0: CodedFrames with SI24
  ASSERT_TRUE(writeVideoTag(w2, videoFrame(Codec::kH265, true, 40, 120, kNalus)));
  Bytes coded = take(w2);
  EXPECT_EQ(coded[0], 0x91);
  auto c = parseVideoTag(coded);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->compositionTime, 80);
  EXPECT_TRUE(c->keyframe);
  EXPECT_EQ(view(c->data), kNalus);

  BufferWriter w3;  // cts == 0: CodedFramesX, no SI24
  ASSERT_TRUE(writeVideoTag(w3, videoFrame(Codec::kH265, false, 40, 40, kNalus)));
  Bytes x = take(w3);
  EXPECT_EQ(x[0], 0xA3);
  EXPECT_EQ(x.size(), 5 + kNalus.size());
  auto cx = parseVideoTag(x);
  ASSERT_TRUE(cx);
  EXPECT_EQ(cx->packet, FlvPacket::kCodedFrames);
  EXPECT_EQ(cx->compositionTime, 0);
  EXPECT_FALSE(cx->keyframe);
  EXPECT_EQ(view(cx->data), kNalus);
}

TEST(FlvTag, H265LegacyCodecId12) {
  BufferWriter w;
  ASSERT_TRUE(
      writeVideoTag(w, videoFrame(Codec::kH265, true, 0, 33, kNalus), HevcTagForm::kLegacy12));
  Bytes body = take(w);
  EXPECT_EQ(body[0], 0x1C);
  auto t = parseVideoTag(body);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->codec, Codec::kH265);
  EXPECT_EQ(t->codecId, 12);
  EXPECT_FALSE(t->enhanced);
  EXPECT_EQ(t->compositionTime, 33);
  EXPECT_EQ(view(t->data), kNalus);
}

TEST(FlvTag, EnhancedModExAndIgnoredPackets) {
  // ModEx (v2): size-1 = 2 -> 3 bytes of TimestampOffsetNano, then CodedFrames.
  Bytes b = {0x97, 0x02, 0xAA, 0xBB, 0xCC, 0x01, 'h', 'v', 'c', '1', 0x00, 0x00, 0x05, 0x42};
  auto t = parseVideoTag(b);
  ASSERT_TRUE(t) << t.message();
  EXPECT_EQ(t->packet, FlvPacket::kCodedFrames);
  EXPECT_EQ(t->compositionTime, 5);
  EXPECT_EQ(view(t->data), Bytes{0x42});
  EXPECT_FALSE(parseVideoTag(std::span(b.data(), 4)));  // ModEx data cut short

  auto meta = parseVideoTag(Bytes{0x94, 'h', 'v', 'c', '1', 0x02});
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->packet, FlvPacket::kIgnored);
  auto ts = parseVideoTag(Bytes{0x95, 'h', 'v', 'c', '1'});
  ASSERT_TRUE(ts);
  EXPECT_EQ(ts->packet, FlvPacket::kIgnored);
  auto cmd = parseVideoTag(Bytes{0xD1, 0x00});
  ASSERT_TRUE(cmd);
  EXPECT_EQ(cmd->packet, FlvPacket::kIgnored);
  auto legacyCmd = parseVideoTag(Bytes{0x57, 0x00});
  ASSERT_TRUE(legacyCmd);
  EXPECT_EQ(legacyCmd->packet, FlvPacket::kIgnored);
  auto av1 = parseVideoTag(Bytes{0x90, 'a', 'v', '0', '1', 0x81});
  ASSERT_TRUE(av1);
  EXPECT_EQ(av1->codec, Codec::kNone);
  EXPECT_EQ(av1->fourCc, fourcc("av01"));
  EXPECT_FALSE(parseVideoTag(Bytes{0x9F, 'h', 'v', 'c', '1'}));  // unknown packet type
}

TEST(FlvTag, TruncatedVideoRejected) {
  BufferWriter w;
  ASSERT_TRUE(writeVideoTag(w, videoFrame(Codec::kH264, true, 0, 0, kNalus)));
  Bytes avc = take(w);
  for (size_t n = 0; n < 5; ++n) EXPECT_FALSE(parseVideoTag(std::span(avc.data(), n))) << n;
  BufferWriter w2;
  ASSERT_TRUE(writeVideoTag(w2, videoFrame(Codec::kH265, true, 0, 5, kNalus)));
  Bytes hevc = take(w2);
  for (size_t n = 0; n < 8; ++n) EXPECT_FALSE(parseVideoTag(std::span(hevc.data(), n))) << n;
  EXPECT_FALSE(parseVideoTag(Bytes{0x17, 0x03, 0, 0, 0}));  // AVCPacketType 3
}

TEST(FlvTag, AacRoundTrip) {
  Bytes asc = {0x12, 0x10};
  BufferWriter w;
  ASSERT_TRUE(writeAacConfigTag(w, asc));
  Bytes cfg = take(w);
  EXPECT_EQ(cfg, (Bytes{0xAF, 0x00, 0x12, 0x10}));
  auto c = parseAudioTag(cfg);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->codec, Codec::kAAC);
  EXPECT_EQ(c->packet, FlvPacket::kSequenceHeader);
  EXPECT_EQ(view(c->data), asc);

  Frame f;
  f.kind = MediaKind::kAudio;
  f.codec = Codec::kAAC;
  Bytes raw = {0x21, 0x10, 0x05};
  f.data = BufferRef::copyOf(raw.data(), raw.size());
  BufferWriter w2;
  ASSERT_TRUE(writeAudioTag(w2, f));
  Bytes body = take(w2);
  EXPECT_EQ(body[0], 0xAF);
  EXPECT_EQ(body[1], 0x01);
  auto a = parseAudioTag(body);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->packet, FlvPacket::kCodedFrames);
  EXPECT_EQ(a->channels, 2);
  EXPECT_EQ(a->sampleRate, 44100);
  EXPECT_EQ(view(a->data), raw);

  EXPECT_FALSE(parseAudioTag(Bytes{0xAF}));
  EXPECT_FALSE(parseAudioTag(Bytes{}));
  EXPECT_FALSE(parseAudioTag(Bytes{0xAF, 0x02}));
}

TEST(FlvTag, G711) {
  for (Codec c : {Codec::kG711A, Codec::kG711U}) {
    Frame f;
    f.kind = MediaKind::kAudio;
    f.codec = c;
    Bytes pcm(160, 0xD5);
    f.data = BufferRef::copyOf(pcm.data(), pcm.size());
    BufferWriter w;
    ASSERT_TRUE(writeAudioTag(w, f));
    Bytes body = take(w);
    EXPECT_EQ(body[0], c == Codec::kG711A ? 0x72 : 0x82);
    auto a = parseAudioTag(body);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->codec, c);
    EXPECT_EQ(a->sampleRate, 8000);
    EXPECT_EQ(a->channels, 1);
    EXPECT_EQ(view(a->data), pcm);
  }
}

TEST(FlvTag, EnhancedAudio) {
  const Bytes opusBody = {0x91, 'O', 'p', 'u', 's', 0xFC};  // views point into this
  auto opus = parseAudioTag(opusBody);
  ASSERT_TRUE(opus) << opus.message();
  EXPECT_EQ(opus->codec, Codec::kOpus);
  EXPECT_EQ(opus->packet, FlvPacket::kCodedFrames);
  EXPECT_EQ(view(opus->data), Bytes{0xFC});
  auto aac = parseAudioTag(Bytes{0x90, 'm', 'p', '4', 'a', 0x12, 0x10});
  ASSERT_TRUE(aac);
  EXPECT_EQ(aac->codec, Codec::kAAC);
  EXPECT_EQ(aac->packet, FlvPacket::kSequenceHeader);
  EXPECT_FALSE(parseAudioTag(Bytes{0x91, 'O', 'p'}));
}

TEST(FlvTag, UnsupportedCodecsInBuilders) {
  Frame f;
  f.codec = Codec::kOpus;
  BufferWriter w;
  EXPECT_FALSE(writeVideoTag(w, f));
  EXPECT_FALSE(writeAudioTag(w, f));
}

TEST(FlvTag, FileHeaderAndTag) {
  BufferWriter w;
  writeFlvFileHeader(w, true, true);
  EXPECT_EQ(take(w), (Bytes{'F', 'L', 'V', 1, 0x05, 0, 0, 0, 9, 0, 0, 0, 0}));
  BufferWriter w1;
  writeFlvFileHeader(w1, false, true);
  EXPECT_EQ(take(w1)[4], 0x01);

  BufferWriter w2;
  ASSERT_TRUE(writeFlvTag(w2, kFlvTagVideo, 0x12345678, Bytes{0xAA, 0xBB, 0xCC}));
  EXPECT_EQ(take(w2),
            (Bytes{9, 0, 0, 3, 0x34, 0x56, 0x78, 0x12, 0, 0, 0, 0xAA, 0xBB, 0xCC, 0, 0, 0, 14}));
  Bytes huge(0x1000000, 0);
  BufferWriter w3;
  EXPECT_FALSE(writeFlvTag(w3, kFlvTagVideo, 0, huge));
}

TEST(FlvTag, OnMetaData) {
  FlvMetadata m;
  m.width = 1920;
  m.height = 1080;
  m.framerate = 25;
  m.videoCodecId = fourcc("hvc1");
  m.audioCodecId = 10;
  m.audioSampleRate = 48000;
  m.audioChannels = 2;
  m.encoder = "Xueliang";
  BufferWriter w;
  writeOnMetaDataBody(w, m);
  Bytes body = take(w);
  auto v = amf0::decodeAll(body);
  ASSERT_TRUE(v) << v.message();
  ASSERT_EQ(v->size(), 2u);
  EXPECT_EQ((*v)[0].asString(), "onMetaData");
  const Amf0Value& a = (*v)[1];
  EXPECT_EQ(a.type, Amf0Type::kEcmaArray);
  EXPECT_EQ(a.get("width")->asNumber(), 1920);
  EXPECT_EQ(a.get("height")->asNumber(), 1080);
  EXPECT_EQ(a.get("videocodecid")->asNumber(), double(0x68766331));
  EXPECT_EQ(a.get("audiosamplerate")->asNumber(), 48000);
  EXPECT_TRUE(a.get("stereo")->asBoolean());
  EXPECT_EQ(a.get("encoder")->asString(), "Xueliang");
  // The ECMA count hint matches the properties written.
  EXPECT_EQ(body[13 + 4], a.properties()->size());

  FlvMetadata videoOnly;
  videoOnly.width = 640;
  BufferWriter w2;
  writeOnMetaDataBody(w2, videoOnly);
  Bytes b2 = take(w2);
  auto v2 = amf0::decodeAll(b2);
  ASSERT_TRUE(v2);
  EXPECT_EQ((*v2)[1].properties()->size(), 1u);
  EXPECT_EQ((*v2)[1].get("audiocodecid"), nullptr);
}

}  // namespace
}  // namespace xl::rtmp
