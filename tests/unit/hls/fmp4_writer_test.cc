// fMP4 writer: box structure of the init segment and of fragments, checked byte by byte with
// the test box reader.
#include "hls/fmp4_writer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "fmp4_reader.h"
#include "test_media.h"

namespace xl::hls {
namespace {

using test::Mp4Box;
using test::Mp4Reader;

std::vector<Mp4Box> parse(const BufferRef& b, Mp4Reader& r) {
  r.d = b.span();
  std::vector<Mp4Box> boxes;
  EXPECT_TRUE(r.parse(boxes)) << r.error;
  return boxes;
}

std::string fourcc(const Mp4Reader& r, size_t at) {
  return std::string(reinterpret_cast<const char*>(r.d.data() + at), 4);
}

// The reader itself against ffmpeg's fragmented MP4 (tests/data/hls/README.md).
TEST(Fmp4Reader, ReadsFfmpegFragments) {
  std::ifstream in(XL_HLS_DATA_DIR "/ffmpeg_frag.mp4", std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_FALSE(bytes.empty());
  Mp4Reader r;
  r.d = bytes;
  std::vector<Mp4Box> top;
  ASSERT_TRUE(r.parse(top)) << r.error;
  ASSERT_GE(top.size(), 4u);
  EXPECT_EQ(top[0].type, "ftyp");
  ASSERT_EQ(top[1].type, "moov");
  EXPECT_EQ(top[1].count("trak"), 2u);
  EXPECT_NE(top[1].child("trak")->child("mdia")->child("minf")->child("stbl")->child("stsd")->child(
                "avc1"),
            nullptr);
  size_t videoSamples = 0;
  for (const auto& b : top) {
    if (b.type != "moof") continue;
    for (const auto& traf : b.children) {
      if (traf.type != "traf") continue;
      Mp4Reader::Trun t;
      ASSERT_TRUE(r.readTrun(*traf.child("trun"), t)) << r.error;
      if (r.u32(traf.child("tfhd")->body + 4) == 1) videoSamples += t.samples.size();
    }
  }
  EXPECT_EQ(videoSamples, 4u);    // 0.16 s at 25 fps
  bytes[top[1].offset + 3] += 1;  // moov one byte too long: no longer fits the file
  std::vector<Mp4Box> bad;
  EXPECT_FALSE(r.parse(bad));
  EXPECT_FALSE(r.error.empty());
}

TEST(Fmp4Writer, InitSegmentBoxes) {
  auto info = test::h264AacInfo();
  Fmp4Writer w;
  ASSERT_TRUE(w.setMediaInfo(*info).isOk());
  EXPECT_TRUE(w.hasVideo());
  EXPECT_TRUE(w.hasAudio());
  EXPECT_TRUE(w.warning().empty());
  BufferRef init = w.initSegment();
  Mp4Reader r;
  auto top = parse(init, r);
  ASSERT_EQ(top.size(), 2u);
  ASSERT_EQ(top[0].type, "ftyp");
  EXPECT_EQ(fourcc(r, top[0].body), "iso6");
  EXPECT_EQ(top[0].size, 8u + 8 + 3 * 4);
  EXPECT_EQ(fourcc(r, top[0].body + 12), "cmfc");
  const Mp4Box& moov = top[1];
  ASSERT_EQ(moov.type, "moov");
  EXPECT_EQ(top[0].size + moov.size, init.size());
  ASSERT_NE(moov.child("mvhd"), nullptr);
  EXPECT_EQ(r.u32(moov.child("mvhd")->body + 4 + 8), 1000u);  // timescale
  ASSERT_EQ(moov.count("trak"), 2u);

  // Video trak: tkhd id/size, mdhd 90 kHz, hdlr vide, avc1 + avcC equal to the track record.
  const Mp4Box& vt = *moov.child("trak", 0);
  const Mp4Box* tkhd = vt.child("tkhd");
  ASSERT_NE(tkhd, nullptr);
  EXPECT_EQ(r.u32(tkhd->body + 12), kFmp4VideoTrackId);
  auto vtrack = videoTrackFromConfig(Codec::kH264, info->video->config);
  ASSERT_TRUE(vtrack.isOk());
  EXPECT_EQ(r.u32(tkhd->body + 76) >> 16, static_cast<uint32_t>(vtrack->width));
  EXPECT_EQ(r.u32(tkhd->body + 80) >> 16, static_cast<uint32_t>(vtrack->height));
  const Mp4Box* mdia = vt.child("mdia");
  ASSERT_NE(mdia, nullptr);
  EXPECT_EQ(r.u32(mdia->child("mdhd")->body + 12), 90000u);
  EXPECT_EQ(fourcc(r, mdia->child("hdlr")->body + 8), "vide");
  const Mp4Box* stbl = mdia->child("minf")->child("stbl");
  ASSERT_NE(stbl, nullptr);
  for (const char* t : {"stsd", "stts", "stsc", "stsz", "stco"}) EXPECT_NE(stbl->child(t), nullptr);
  const Mp4Box* avc1 = stbl->child("stsd")->child("avc1");
  ASSERT_NE(avc1, nullptr);
  EXPECT_EQ(r.u16(avc1->body + 24), vtrack->width);
  EXPECT_EQ(r.u16(avc1->body + 26), vtrack->height);
  const Mp4Box* avcC = avc1->child("avcC");
  ASSERT_NE(avcC, nullptr);
  ASSERT_EQ(avcC->size - 8, info->video->config.size());
  EXPECT_EQ(std::memcmp(init.data() + avcC->body, info->video->config.data(), avcC->size - 8), 0);

  // Audio trak: mdhd at the sampling rate, mp4a with esds carrying the ASC.
  const Mp4Box& at = *moov.child("trak", 1);
  EXPECT_EQ(r.u32(at.child("tkhd")->body + 12), kFmp4AudioTrackId);
  EXPECT_EQ(r.u32(at.child("mdia")->child("mdhd")->body + 12), 44100u);
  EXPECT_EQ(fourcc(r, at.child("mdia")->child("hdlr")->body + 8), "soun");
  const Mp4Box* mp4a = at.child("mdia")->child("minf")->child("stbl")->child("stsd")->child("mp4a");
  ASSERT_NE(mp4a, nullptr);
  EXPECT_EQ(r.u16(mp4a->body + 16), 2);             // channelcount
  EXPECT_EQ(r.u32(mp4a->body + 24), 44100u << 16);  // samplerate 16.16
  const Mp4Box* esds = mp4a->child("esds");
  ASSERT_NE(esds, nullptr);
  // ES_Descriptor > DecoderConfigDescriptor (0x40 = MPEG-4 audio) > DecoderSpecificInfo (ASC).
  const uint8_t* e = init.data() + esds->body + 4;
  EXPECT_EQ(e[0], 0x03);
  EXPECT_EQ(e[1] + 2u, esds->size - 12);
  EXPECT_EQ(e[5], 0x04);
  EXPECT_EQ(e[7], 0x40);
  EXPECT_EQ(e[20], 0x05);
  ASSERT_EQ(e[21], info->audio->config.size());
  EXPECT_EQ(std::memcmp(e + 22, info->audio->config.data(), e[21]), 0);

  const Mp4Box* mvex = moov.child("mvex");
  ASSERT_NE(mvex, nullptr);
  ASSERT_EQ(mvex->count("trex"), 2u);
  EXPECT_EQ(r.u32(mvex->child("trex", 0)->body + 4), kFmp4VideoTrackId);
  EXPECT_EQ(r.u32(mvex->child("trex", 1)->body + 4), kFmp4AudioTrackId);
}

TEST(Fmp4Writer, H265InitSegmentUsesHvc1) {
  ParameterSets ps;
  ps.vps.push_back(test::kH265Vps);
  ps.sps.push_back(test::kH265Sps);
  ps.pps.push_back(test::kH265Pps);
  auto v = videoTrackFromParameterSets(Codec::kH265, ps);
  ASSERT_TRUE(v.isOk()) << v.message();
  MediaInfo info;
  info.video = *v;
  Fmp4Writer w;
  ASSERT_TRUE(w.setMediaInfo(info).isOk());
  EXPECT_FALSE(w.hasAudio());
  Mp4Reader r;
  auto top = parse(w.initSegment(), r);
  ASSERT_EQ(top.size(), 2u);
  const Mp4Box& moov = top[1];
  ASSERT_EQ(moov.count("trak"), 1u);
  const Mp4Box* hvc1 =
      moov.child("trak")->child("mdia")->child("minf")->child("stbl")->child("stsd")->child("hvc1");
  ASSERT_NE(hvc1, nullptr);
  EXPECT_EQ(r.u16(hvc1->body + 24), v->width);
  const Mp4Box* hvcC = hvc1->child("hvcC");
  ASSERT_NE(hvcC, nullptr);
  EXPECT_EQ(hvcC->size - 8, v->config.size());
  EXPECT_EQ(r.d[hvcC->body + 21] & 3, 3);  // lengthSizeMinusOne
}

TEST(Fmp4Writer, OpusInitCarriesDopsFromOpusHead) {
  // OpusHead: version 1, 2 channels, pre-skip 312, 48 kHz input, gain 0, family 0.
  const uint8_t head[19] = {'O',  'p',  'u',  's',  'H', 'e', 'a', 'd', 1, 2,
                            0x38, 0x01, 0x80, 0xbb, 0,   0,   0,   0,   0};
  MediaInfo info;
  AudioTrack a;
  a.codec = Codec::kOpus;
  a.config = BufferRef::copyOf(head, sizeof head);
  a.sampleRate = 48000;
  a.channels = 2;
  info.audio = a;
  Fmp4Writer w;
  ASSERT_TRUE(w.setMediaInfo(info).isOk());
  Mp4Reader r;
  auto top = parse(w.initSegment(), r);
  const Mp4Box& trak = *top[1].child("trak");
  EXPECT_EQ(r.u32(trak.child("tkhd")->body + 12), kFmp4AudioTrackId);
  EXPECT_EQ(r.u32(trak.child("mdia")->child("mdhd")->body + 12), 48000u);
  const Mp4Box* opus =
      trak.child("mdia")->child("minf")->child("stbl")->child("stsd")->child("Opus");
  ASSERT_NE(opus, nullptr);
  const Mp4Box* dops = opus->child("dOps");
  ASSERT_NE(dops, nullptr);
  ASSERT_EQ(dops->size, 8u + 11);
  EXPECT_EQ(r.d[dops->body], 0);             // Version
  EXPECT_EQ(r.d[dops->body + 1], 2);         // OutputChannelCount
  EXPECT_EQ(r.u16(dops->body + 2), 312);     // PreSkip, now big-endian
  EXPECT_EQ(r.u32(dops->body + 4), 48000u);  // InputSampleRate

  // Opus samples last as long as their TOC says: config 31 (CELT 20 ms), code 0 -> 960;
  // config 1 (SILK 20 ms) code 1 -> 2 frames; code 3 with 3 frames of 10 ms (config 30).
  const uint8_t p20[2] = {31 << 3, 0}, p40[2] = {1 << 3 | 1, 0}, p30[3] = {30 << 3 | 3, 3, 0};
  EXPECT_EQ(opusPacketSamples(p20), 960u);
  EXPECT_EQ(opusPacketSamples(p40), 1920u);
  EXPECT_EQ(opusPacketSamples(p30), 1440u);
  EXPECT_EQ(opusPacketSamples({}), 960u);
}

TEST(Fmp4Writer, RejectsTracksItCannotCarry) {
  MediaInfo bad;
  VideoTrack v;
  v.codec = Codec::kH264;
  v.config = BufferRef::copyOf("\x01\x64", 2);  // truncated avcC
  bad.video = v;
  Fmp4Writer w;
  Status s = w.setMediaInfo(bad);
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("avcC"), std::string::npos) << s.message();
  EXPECT_FALSE(w.initSegment());

  // A bad audio track alone is left out with a warning; video still works.
  MediaInfo partial = *test::h264AacInfo();
  partial.audio->codec = Codec::kG711A;
  ASSERT_TRUE(w.setMediaInfo(partial).isOk());
  EXPECT_TRUE(w.hasVideo());
  EXPECT_FALSE(w.hasAudio());
  EXPECT_FALSE(w.warning().empty());
}

struct FragmentView {
  Mp4Reader r;
  std::vector<Mp4Box> top;
  const Mp4Box* traf(uint32_t id) const {
    for (const auto& t : top[0].children)
      if (t.type == "traf" && r.u32(t.child("tfhd")->body + 4) == id) return &t;
    return nullptr;
  }
};

void view(const BufferRef& b, FragmentView& v) {
  v.r.d = b.span();
  ASSERT_TRUE(v.r.parse(v.top)) << v.r.error;
  ASSERT_EQ(v.top.size(), 2u);
  ASSERT_EQ(v.top[0].type, "moof");
  ASSERT_EQ(v.top[1].type, "mdat");
  ASSERT_EQ(v.top[0].size + v.top[1].size, b.size());
}

TEST(Fmp4Writer, FragmentSamplesMatchFrames) {
  Fmp4Writer w;
  ASSERT_TRUE(w.setMediaInfo(*test::h264AacInfo()).isOk());
  // 1 s at 25 fps with B-frame style composition offsets, AAC at its ms-rounded times.
  std::vector<Frame> frames;
  std::vector<Frame> video, audio;
  for (int i = 0; i < 25; ++i) {
    int64_t t = 1000 + i * 40;
    video.push_back(test::videoFrame(t, i == 0, 500 + i, i % 3 == 0 ? 80 : 0));
    frames.push_back(video.back());
  }
  for (int i = 0; i < 43; ++i) {
    int64_t t = 1000 + (i * 1024 * 1000 + 22050) / 44100;  // rounded to ms, like RTMP
    audio.push_back(test::audioFrame(t, 200 + i));
    frames.push_back(audio.back());
  }
  Frame config = video[0];
  config.flags.config = true;
  frames.push_back(config);  // ignored
  BufferRef frag = w.fragment(frames, 7);
  FragmentView v;
  ASSERT_NO_FATAL_FAILURE(view(frag, v));
  const Mp4Box& moof = v.top[0];
  ASSERT_NE(moof.child("mfhd"), nullptr);
  EXPECT_EQ(v.r.u32(moof.child("mfhd")->body + 4), 7u);
  ASSERT_EQ(moof.count("traf"), 2u);

  size_t mdatBody = v.top[1].body;
  auto checkTrack = [&](uint32_t id, const std::vector<Frame>& src, Mp4Reader::Trun& trun) {
    const Mp4Box* traf = v.traf(id);
    ASSERT_NE(traf, nullptr);
    EXPECT_EQ(v.r.u32(traf->child("tfhd")->body) & 0x020000, 0x020000u);  // default-base-is-moof
    ASSERT_TRUE(v.r.readTrun(*traf->child("trun"), trun)) << v.r.error;
    ASSERT_EQ(trun.samples.size(), src.size());
    // data_offset (from the moof start) lands on the first frame's bytes; samples follow.
    size_t at = moof.offset + static_cast<size_t>(trun.dataOffset);
    ASSERT_GE(at, mdatBody);
    for (size_t i = 0; i < src.size(); ++i) {
      ASSERT_EQ(trun.samples[i].size, src[i].data.size());
      ASSERT_LE(at + src[i].data.size(), frag.size());
      EXPECT_EQ(std::memcmp(frag.data() + at, src[i].data.data(), src[i].data.size()), 0);
      at += src[i].data.size();
    }
  };
  Mp4Reader::Trun vt, at;
  ASSERT_NO_FATAL_FAILURE(checkTrack(kFmp4VideoTrackId, video, vt));
  ASSERT_NO_FATAL_FAILURE(checkTrack(kFmp4AudioTrackId, audio, at));
  uint64_t tv = 0, ta = 0;
  ASSERT_TRUE(v.r.readTfdt(*v.traf(kFmp4VideoTrackId)->child("tfdt"), tv));
  ASSERT_TRUE(v.r.readTfdt(*v.traf(kFmp4AudioTrackId)->child("tfdt"), ta));
  EXPECT_EQ(tv, 90000u);
  EXPECT_EQ(ta, 44100u);
  EXPECT_EQ(vt.flags, 0xf01u);
  for (size_t i = 0; i < video.size(); ++i) {
    EXPECT_EQ(vt.samples[i].duration, 3600u) << i;
    EXPECT_EQ(vt.samples[i].flags, i == 0 ? 0x02000000u : 0x01010000u) << i;
    EXPECT_EQ(vt.samples[i].cto, i % 3 == 0 ? 7200 : 0) << i;
  }
  EXPECT_EQ(at.flags, 0x301u);  // no per-sample flags: tfhd default says sync
  EXPECT_EQ(v.r.u32(v.traf(kFmp4AudioTrackId)->child("tfhd")->body + 8), 0x02000000u);
  for (size_t i = 0; i < audio.size(); ++i) EXPECT_EQ(at.samples[i].duration, 1024u) << i;

  // The next fragment continues: video tfdt from its dts, audio exactly where the last ended.
  std::vector<Frame> next = {test::videoFrame(2000, true), test::audioFrame(1000 + 998)};
  BufferRef frag2 = w.fragment(next, 8);
  FragmentView v2;
  ASSERT_NO_FATAL_FAILURE(view(frag2, v2));
  ASSERT_TRUE(v2.r.readTfdt(*v2.traf(kFmp4VideoTrackId)->child("tfdt"), tv));
  ASSERT_TRUE(v2.r.readTfdt(*v2.traf(kFmp4AudioTrackId)->child("tfdt"), ta));
  EXPECT_EQ(tv, 180000u);
  EXPECT_EQ(ta, 44100u + 43 * 1024);
  Mp4Reader::Trun vt2;
  ASSERT_TRUE(v2.r.readTrun(*v2.traf(kFmp4VideoTrackId)->child("trun"), vt2));
  ASSERT_EQ(vt2.samples.size(), 1u);
  EXPECT_EQ(vt2.samples[0].duration, 3600u);  // a lone last sample keeps the previous duration
  EXPECT_EQ(vt2.samples[0].flags, 0x02000000u);

  // A real gap in the audio (500 ms) resynchronises to the source instead of hiding it.
  std::vector<Frame> gap = {test::audioFrame(2500)};
  BufferRef frag3 = w.fragment(gap, 9);
  FragmentView v3;
  ASSERT_NO_FATAL_FAILURE(view(frag3, v3));
  EXPECT_EQ(v3.top[0].count("traf"), 1u);
  ASSERT_TRUE(v3.r.readTfdt(*v3.traf(kFmp4AudioTrackId)->child("tfdt"), ta));
  EXPECT_EQ(ta, 2500u * 441 / 10);
}

TEST(Fmp4Writer, NothingCarriedGivesEmptyFragment) {
  Fmp4Writer w;
  ASSERT_TRUE(w.setMediaInfo(*test::h264AacInfo()).isOk());
  EXPECT_FALSE(w.fragment({}, 1));
  Frame g711 = test::audioFrame(0);
  g711.codec = Codec::kG711U;
  std::vector<Frame> only = {g711};
  EXPECT_FALSE(w.fragment(only, 1));
}

}  // namespace
}  // namespace xl::hls
