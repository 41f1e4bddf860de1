// The "webrtc" output format with H.265 video: libx265's access units become RFC 7798 RTP once
// per stream (single NAL unit packets and FUs within the payload limit), the parameter sets from
// the stream's hvcC go in-band before each IRAP picture that lacks them (a browser joining at a
// keyframe or restarting after PLI has no sprop-* in the SDP), and our own depacketizer gets the
// access units back byte for byte.
#include <gtest/gtest.h>

#include "../media/samples.h"
#include "interleaved.h"
#include "rtp/depacketizer.h"
#include "rtp/rtp_packet.h"
#include "rtp/sdp_media.h"
#include "rtsp/rtsp_muxer.h"
#include "webrtc/webrtc_muxer.h"
#include "xueliang/codec.h"

namespace xl::webrtc {
namespace {

struct AccessUnit {
  std::vector<ByteSpan> nals;
  bool irap = false;
};

// The sample's access units: libx265 writes one slice per picture, so each VCL NAL unit closes
// an access unit with the non-VCL units (VPS, SPS, PPS, SEI) before it.
std::vector<AccessUnit> accessUnits(const std::vector<uint8_t>& annexB, ParameterSets& ps) {
  std::vector<AccessUnit> out(1);
  NalIterator it(ByteSpan(annexB), NalFormat::kAnnexB);
  ByteSpan nal;
  while (it.next(nal)) {
    if (nal.size() < 3) continue;
    const uint8_t type = h265::nalType(nal[0]);
    if (type == h265::kNalVps) ps.vps.emplace_back(nal.begin(), nal.end());
    if (type == h265::kNalSps) ps.sps.emplace_back(nal.begin(), nal.end());
    if (type == h265::kNalPps) ps.pps.emplace_back(nal.begin(), nal.end());
    out.back().nals.push_back(nal);
    if (type < 32) {  // VCL
      out.back().irap = h265::isIrap(type);
      out.emplace_back();
    }
  }
  out.pop_back();
  return out;
}

BufferRef lengthPrefixed(const std::vector<ByteSpan>& nals) {
  BufferWriter w(4096);
  for (ByteSpan n : nals) {
    w.be32(static_cast<uint32_t>(n.size()));
    w.append(n.data(), n.size());
  }
  return w.freeze();
}

std::vector<uint8_t> typesOf(const BufferRef& au) {
  std::vector<uint8_t> out;
  NalIterator it(au.span(), NalFormat::kLengthPrefixed, 4);
  ByteSpan n;
  while (it.next(n)) out.push_back(h265::nalType(n[0]));
  return out;
}

TEST(WebrtcMuxerH265, IrapGetsParameterSetsAndRoundTrips) {
  const auto sample = xl::test::readSample("h265_main_1918.h265");
  ASSERT_FALSE(sample.empty());
  ParameterSets ps;
  std::vector<AccessUnit> aus = accessUnits(sample, ps);
  ASSERT_EQ(aus.size(), 5u);  // 0.2 s at 25 fps
  ASSERT_TRUE(aus[0].irap);
  ASSERT_EQ(ps.vps.size(), 1u);
  auto hvcc = h265::buildHvcC(ps);
  ASSERT_TRUE(hvcc) << hvcc.message();
  MediaInfo info;
  VideoTrack v;
  v.codec = Codec::kH265;
  v.config = *hvcc;
  info.video = v;

  // The IRAP access unit as an RTMP or MP4 source delivers it: parameter sets in hvcC only.
  std::vector<ByteSpan> keyNals;
  for (ByteSpan n : aus[0].nals) {
    uint8_t t = h265::nalType(n[0]);
    if (t != h265::kNalVps && t != h265::kNalSps && t != h265::kNalPps) keyNals.push_back(n);
  }
  std::vector<BufferRef> sent;
  for (size_t i = 0; i < aus.size(); ++i) {
    sent.push_back(lengthPrefixed(i == 0 ? keyNals : aus[i].nals));
    EXPECT_EQ(h265::isKeyframe(sent.back().span()), i == 0) << "frame " << i;
  }

  WebrtcMuxer mux(std::make_shared<TranscoderCounters>());
  auto depay = rtp::makeDepacketizer(Codec::kH265);
  std::vector<rtp::DepacketizedFrame> got;
  size_t packets = 0, fragments = 0;
  for (size_t i = 0; i < sent.size(); ++i) {
    Frame f;
    f.kind = MediaKind::kVideo;
    f.codec = Codec::kH265;
    f.dts = f.pts = int64_t(i) * 40;
    f.flags.key = i == 0;
    f.data = sent[i];
    BufferRef b = mux.mux(f, info);
    ASSERT_TRUE(b) << "frame " << i;
    // RTSP-interleaved as the WHEP sessions read it: channel 0 is video RTP, 1 its reports.
    test::forEachInterleaved(b, [&](uint8_t channel, ByteSpan pkt) {
      if (channel != rtsp::rtpChannel(rtsp::kVideoTrack)) return;
      auto r = rtp::parseRtp(pkt);
      ASSERT_TRUE(r) << r.message();
      EXPECT_EQ(r->payloadType, rtp::kVideoPayloadType);
      EXPECT_LE(r->payload.size(), rtp::kDefaultMaxPayload);
      fragments += h265::nalType(r->payload[0]) == 49;  // RFC 7798 §4.4.3 FU
      ++packets;
      depay->push(*r, [&](rtp::DepacketizedFrame&& d) { got.push_back(std::move(d)); });
    });
    ASSERT_FALSE(HasFatalFailure());
  }
  EXPECT_GT(fragments, 0u) << "the 1918x1078 IDR picture does not fit one packet";
  EXPECT_GT(packets, sent.size());
  EXPECT_EQ(depay->stats().lost + depay->stats().malformed, 0u);
  // The marker bit ends each access unit, so the last one is out as well.
  ASSERT_EQ(got.size(), sent.size());
  ASSERT_TRUE(got[0].key);
  std::vector<uint8_t> types = typesOf(got[0].data);
  ASSERT_GE(types.size(), 4u);
  EXPECT_EQ(types[0], h265::kNalVps);
  EXPECT_EQ(types[1], h265::kNalSps);
  EXPECT_EQ(types[2], h265::kNalPps);
  // Everything after the in-band parameter sets is the key frame as sent.
  BufferRef params =
      lengthPrefixed({ByteSpan(ps.vps[0]), ByteSpan(ps.sps[0]), ByteSpan(ps.pps[0])});
  ASSERT_EQ(got[0].data.size(), params.size() + sent[0].size());
  EXPECT_TRUE(std::equal(sent[0].span().begin(), sent[0].span().end(),
                         got[0].data.span().begin() + params.size()));
  for (size_t i = 1; i < sent.size(); ++i) {
    EXPECT_FALSE(got[i].key) << i;
    EXPECT_TRUE(std::ranges::equal(got[i].data.span(), sent[i].span())) << "frame " << i;
    EXPECT_EQ(got[i].timestamp - got[0].timestamp, uint32_t(i * 3600)) << "90 kHz, 40 ms apart";
  }
}

}  // namespace
}  // namespace xl::webrtc
