// H.264 / H.265 over RTP: ffmpeg's packets in, our frames out, and our packets back again.
#include <gtest/gtest.h>

#include <set>

#include "rtp/packetizer.h"
#include "rtp_samples.h"
#include "xueliang/codec.h"

namespace xl::rtp {
namespace {

using test::Packet;

std::vector<ByteSpan> nalsOf(const BufferRef& au) {
  std::vector<ByteSpan> out;
  NalIterator it(au.span(), NalFormat::kLengthPrefixed, 4);
  ByteSpan n;
  while (it.next(n)) out.push_back(n);
  EXPECT_FALSE(it.malformed());
  return out;
}

std::vector<Packet> packetizeAll(Codec codec, const std::vector<DepacketizedFrame>& frames,
                                 size_t maxPayload, uint16_t firstSeq = 65530) {
  auto pz = makePacketizer(codec, {96, 0x1234, firstSeq, maxPayload});
  std::vector<Packet> packets;
  for (auto& f : frames) {
    Frame frame{MediaKind::kVideo, codec, 0, 0, {f.key, false, false}, f.data};
    pz->packetize(frame, f.timestamp, [&](ByteSpan head, ByteSpan body) {
      Packet p(head.begin(), head.end());
      p.insert(p.end(), body.begin(), body.end());
      packets.push_back(std::move(p));
    });
  }
  return packets;
}

struct Case {
  const char* file;
  Codec codec;
};

class H26xCapture : public ::testing::TestWithParam<Case> {};

TEST_P(H26xCapture, DepacketizesEveryAccessUnit) {
  auto packets = test::readCapture(GetParam().file);
  ASSERT_GT(packets.size(), 25u);
  auto d = makeDepacketizer(GetParam().codec);
  auto frames = test::depacketize(*d, packets);
  ASSERT_EQ(frames.size(), 25u);  // 1 s at 25 fps
  EXPECT_EQ(d->stats().lost, 0u);
  EXPECT_EQ(d->stats().malformed, 0u);
  EXPECT_TRUE(frames[0].key);
  std::set<uint32_t> timestamps;
  int keys = 0;
  for (auto& f : frames) {
    keys += f.key;
    timestamps.insert(f.timestamp);
    EXPECT_FALSE(nalsOf(f.data).empty());
    EXPECT_EQ(f.key, isKeyframe(GetParam().codec, f.data.span()));
  }
  EXPECT_EQ(keys, 3);  // keyint 10: x264 IDRs, x265 an IDR and two CRAs
  EXPECT_EQ(timestamps.size(), 25u);
  // The in-band parameter sets describe the 320x240 picture.
  auto ps =
      extractParameterSets(GetParam().codec, frames[0].data.span(), NalFormat::kLengthPrefixed);
  ASSERT_TRUE(ps) << ps.message();
  auto track = videoTrackFromParameterSets(GetParam().codec, *ps);
  ASSERT_TRUE(track) << track.message();
  EXPECT_EQ(track->width, 320);
  EXPECT_EQ(track->height, 240);
}

TEST_P(H26xCapture, PacketizerRoundTrip) {
  auto d = makeDepacketizer(GetParam().codec);
  auto frames = test::depacketize(*d, test::readCapture(GetParam().file));
  for (size_t maxPayload : {size_t(1400), size_t(100)}) {
    auto packets = packetizeAll(GetParam().codec, frames, maxPayload);
    size_t markers = 0;
    uint16_t seq = 65530;
    for (auto& p : packets) {
      auto v = parseRtp(p);
      ASSERT_TRUE(v);
      EXPECT_EQ(v->seq, seq++);  // wraps through 65535 -> 0
      EXPECT_LE(v->payload.size(), maxPayload);
      markers += v->marker;
    }
    EXPECT_EQ(markers, frames.size());
    auto again = makeDepacketizer(GetParam().codec);
    auto out = test::depacketize(*again, packets);
    ASSERT_EQ(out.size(), frames.size());
    for (size_t i = 0; i < out.size(); ++i) {
      EXPECT_EQ(out[i].timestamp, frames[i].timestamp);
      EXPECT_EQ(out[i].key, frames[i].key);
      EXPECT_EQ(out[i].data.view(), frames[i].data.view()) << "frame " << i;
    }
  }
}

// The decode index of the second keyframe in the undamaged capture.
size_t secondKeyframe(const std::vector<DepacketizedFrame>& frames) {
  for (size_t i = 1; i < frames.size(); ++i) {
    if (frames[i].key) return i;
  }
  return frames.size();
}

TEST_P(H26xCapture, LossDropsTheAccessUnitAndWaitsForAKeyframe) {
  auto packets = test::readCapture(GetParam().file);
  auto ref = makeDepacketizer(GetParam().codec);
  auto all = test::depacketize(*ref, packets);
  const size_t k = secondKeyframe(all);
  ASSERT_LT(k, all.size());
  // Lose the first packet of the second access unit (the first new timestamp).
  uint32_t firstTs = parseRtp(packets[0])->timestamp;
  size_t victim = 0;
  while (parseRtp(packets[victim])->timestamp == firstTs) ++victim;
  packets.erase(packets.begin() + victim);
  auto d = makeDepacketizer(GetParam().codec);
  auto frames = test::depacketize(*d, packets);
  EXPECT_EQ(d->stats().lost, 1u);
  // Frame 0, then nothing until the next keyframe, then everything from there.
  ASSERT_EQ(frames.size(), 1 + all.size() - k);
  EXPECT_EQ(frames[0].data.view(), all[0].data.view());
  for (size_t i = 1; i < frames.size(); ++i)
    EXPECT_EQ(frames[i].data.view(), all[k + i - 1].data.view());
  EXPECT_GE(d->stats().framesDropped, k - 2);
}

TEST_P(H26xCapture, LosingTheMarkerPacketDropsTheFrame) {
  auto packets = test::readCapture(GetParam().file);
  auto ref = makeDepacketizer(GetParam().codec);
  auto all = test::depacketize(*ref, packets);
  const size_t k = secondKeyframe(all);
  size_t victim = 0;
  while (!parseRtp(packets[victim])->marker) ++victim;
  packets.erase(packets.begin() + victim);
  auto d = makeDepacketizer(GetParam().codec);
  auto frames = test::depacketize(*d, packets);
  ASSERT_EQ(frames.size(), all.size() - k);
  EXPECT_EQ(frames[0].data.view(), all[k].data.view());
}

INSTANTIATE_TEST_SUITE_P(Captures, H26xCapture,
                         ::testing::Values(Case{"h264.rtp", Codec::kH264},
                                           Case{"h265.rtp", Codec::kH265}),
                         [](const auto& info) {
                           return info.param.codec == Codec::kH264 ? "H264" : "H265";
                         });

TEST(H264Packetizer, SendsParameterSetsBeforeKeyframesThatLackThem) {
  auto pz = makePacketizer(Codec::kH264, {96, 1, 0, 1400});
  ParameterSets ps;
  ps.sps = {{0x67, 0x42, 0xc0, 0x0d, 0xd9}};
  ps.pps = {{0x68, 0xce, 0x3c, 0x80}};
  pz->setParameterSets(ps);
  BufferWriter au;
  au.be32(3);
  au.append(std::vector<uint8_t>{0x65, 0x88, 0x84});
  Frame key{MediaKind::kVideo, Codec::kH264, 0, 0, {true, false, false}, au.freeze()};
  std::vector<uint8_t> types;
  std::vector<bool> markers;
  pz->packetize(key, 3000, [&](ByteSpan head, ByteSpan body) {
    types.push_back(body[0] & 0x1f);
    markers.push_back(head[1] & 0x80);
  });
  EXPECT_EQ(types, (std::vector<uint8_t>{7, 8, 5}));
  EXPECT_EQ(markers, (std::vector<bool>{false, false, true}));
  EXPECT_EQ(pz->packetCount(), 3u);
  EXPECT_EQ(pz->nextSeq(), 3);
}

TEST(H264Depacketizer, SurvivesGarbage) {
  auto d = makeDepacketizer(Codec::kH264);
  std::vector<std::vector<uint8_t>> payloads = {
      {}, {0x1c}, {0x1c, 0x45}, {0x18, 0x00}, {0x18, 0x00, 0x09, 0x67}, {0x19, 1, 2}, {0x1d, 1, 2}};
  uint16_t seq = 0;
  size_t frames = 0;
  for (auto& pl : payloads) {
    std::vector<uint8_t> p(kRtpHeaderSize);
    writeRtpHeader(p.data(), true, 96, seq, seq * 3000u, 1);
    ++seq;
    p.insert(p.end(), pl.begin(), pl.end());
    d->push(*parseRtp(p), [&](DepacketizedFrame&&) { ++frames; });
  }
  EXPECT_EQ(frames, 0u);
  EXPECT_GE(d->stats().malformed, 5u);
}

}  // namespace
}  // namespace xl::rtp
