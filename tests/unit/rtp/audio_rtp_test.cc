// AAC (RFC 3640) and G.711 over RTP.
#include <gtest/gtest.h>

#include "rtp/packetizer.h"
#include "rtp_samples.h"

namespace xl::rtp {
namespace {

using test::Packet;

std::vector<Packet> packetizeAll(Codec codec, const std::vector<DepacketizedFrame>& frames,
                                 size_t maxPayload) {
  auto pz = makePacketizer(codec, {97, 0x99, 100, maxPayload});
  std::vector<Packet> packets;
  for (auto& f : frames) {
    Frame frame{MediaKind::kAudio, codec, 0, 0, {}, f.data};
    pz->packetize(frame, f.timestamp, [&](ByteSpan head, ByteSpan body) {
      Packet p(head.begin(), head.end());
      p.insert(p.end(), body.begin(), body.end());
      packets.push_back(std::move(p));
    });
  }
  return packets;
}

TEST(AacRtp, DepacketizesSeveralAusPerPacket) {
  auto packets = test::readCapture("aac.rtp");
  auto d = makeDepacketizer(Codec::kAAC);
  auto frames = test::depacketize(*d, packets);
  EXPECT_GT(frames.size(), packets.size());  // ffmpeg aggregates AUs
  EXPECT_GE(frames.size(), 40u);             // ~1 s of 1024-sample frames at 44.1 kHz
  EXPECT_EQ(d->stats().malformed, 0u);
  for (size_t i = 1; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].timestamp - frames[i - 1].timestamp, 1024u) << i;
    EXPECT_GT(frames[i].data.size(), 0u);
  }
}

TEST(AacRtp, RoundTripIncludingFragmentedAus) {
  auto d = makeDepacketizer(Codec::kAAC);
  auto frames = test::depacketize(*d, test::readCapture("aac.rtp"));
  for (size_t maxPayload : {size_t(1400), size_t(64)}) {
    auto packets = packetizeAll(Codec::kAAC, frames, maxPayload);
    if (maxPayload == 64) {
      EXPECT_GT(packets.size(), frames.size());
    }
    auto again = makeDepacketizer(Codec::kAAC);
    auto out = test::depacketize(*again, packets);
    ASSERT_EQ(out.size(), frames.size());
    for (size_t i = 0; i < out.size(); ++i) {
      EXPECT_EQ(out[i].timestamp, frames[i].timestamp);
      EXPECT_EQ(out[i].data.view(), frames[i].data.view());
    }
  }
}

TEST(AacRtp, LostFragmentDropsOnlyThatFrame) {
  auto d = makeDepacketizer(Codec::kAAC);
  auto frames = test::depacketize(*d, test::readCapture("aac.rtp"));
  auto packets = packetizeAll(Codec::kAAC, frames, 64);
  packets.erase(packets.begin() + 1);  // a fragment of the first AU
  auto again = makeDepacketizer(Codec::kAAC);
  auto out = test::depacketize(*again, packets);
  ASSERT_EQ(out.size(), frames.size() - 1);
  EXPECT_EQ(out[0].timestamp, frames[1].timestamp);
  EXPECT_EQ(again->stats().framesDropped, 1u);
}

TEST(AacRtp, RejectsBadHeaders) {
  auto d = makeDepacketizer(Codec::kAAC);
  std::vector<std::vector<uint8_t>> payloads = {
      {}, {0x00}, {0x00, 0x10}, {0x00, 0x10, 0xff, 0xf8, 1, 2}, {0xff, 0xff, 0, 0}};
  uint16_t seq = 0;
  size_t frames = 0;
  for (auto& pl : payloads) {
    std::vector<uint8_t> p(kRtpHeaderSize);
    writeRtpHeader(p.data(), true, 97, seq, seq * 1024u, 1);
    ++seq;
    p.insert(p.end(), pl.begin(), pl.end());
    d->push(*parseRtp(p), [&](DepacketizedFrame&&) { ++frames; });
  }
  EXPECT_EQ(frames, 0u);
  EXPECT_GE(d->stats().malformed, 4u);
}

TEST(G711Rtp, CaptureAndSplitting) {
  auto packets = test::readCapture("pcmu.rtp");
  auto d = makeDepacketizer(Codec::kG711U);
  auto frames = test::depacketize(*d, packets);
  ASSERT_EQ(frames.size(), packets.size());
  size_t samples = 0;
  for (auto& f : frames) samples += f.data.size();
  EXPECT_EQ(samples, 4000u);  // 0.5 s at 8 kHz, one byte per sample
  // One big frame split at 160-byte packets with advancing timestamps.
  std::vector<uint8_t> big(1000, 0xff);
  auto pz = makePacketizer(Codec::kG711U, {0, 5, 0, 160});
  Frame f{MediaKind::kAudio, Codec::kG711U, 0, 0, {}, BufferRef::copyOf(big.data(), big.size())};
  std::vector<uint32_t> ts;
  pz->packetize(f, 8000, [&](ByteSpan head, ByteSpan body) { ts.push_back(be32(&head[4])); });
  EXPECT_EQ(ts, (std::vector<uint32_t>{8000, 8160, 8320, 8480, 8640, 8800, 8960}));
}

}  // namespace
}  // namespace xl::rtp
