// WHIP answers to publishers that offer H.265 (RFC 7798 §7.2.2): Safari 18 and Chrome 136+ with a
// hardware HEVC encoder (their offers, made sendonly), GStreamer webrtcbin with x265enc (an
// rtpmap and no fmtp). H.265 is taken when the offer has no usable H.264, H.264 is kept when both
// are offered, and video with neither is refused with a 406 that names what was offered.
#include <gtest/gtest.h>

#include <string>

#include "answer_params.h"
#include "rtp/sdp.h"
#include "test_data.h"
#include "webrtc/whip_answer.h"

namespace xl::webrtc {
namespace {

using test::readSample;

// A browser's offer as a WHIP client sends it: every section sendonly.
std::string sendonly(std::string offer) {
  for (size_t at; (at = offer.find("a=recvonly")) != std::string::npos;)
    offer.replace(at, 10, "a=sendonly");
  return offer;
}

// The offer without the lines that contain `needle` (a codec left out with setCodecPreferences:
// its payload types stay in the m= line without an rtpmap, so nothing maps them).
std::string without(std::string offer, std::string_view needle) {
  for (size_t at; (at = offer.find(needle)) != std::string::npos;) {
    size_t begin = offer.rfind('\n', at);
    begin = begin == std::string::npos ? 0 : begin + 1;
    offer.erase(begin, offer.find('\n', at) + 1 - begin);
  }
  return offer;
}

Result<WhipNegotiated> answer(const std::string& offer, OfferError* err) {
  return answerWhipOffer(offer, test::answerParams({"127.0.0.1"}, 2222), err);
}

const rtp::SdpMedia* videoOf(const rtp::SessionDescription& sdp) {
  for (const auto& m : sdp.media)
    if (m.media == "video") return &m;
  return nullptr;
}

// The answered video section: recvonly with the chosen type's rtpmap, feedback as for H.264.
void expectVideoAnswer(const WhipNegotiated& n, int pt, std::string_view rtpmap) {
  auto a = rtp::parseSdp(n.sdp);
  ASSERT_TRUE(a) << a.message() << "\n" << n.sdp;
  const rtp::SdpMedia* v = videoOf(*a);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->formats, std::vector<std::string>{std::to_string(pt)});
  EXPECT_TRUE(v->attribute("recvonly"));
  EXPECT_EQ(*v->attribute("rtpmap"), std::to_string(pt) + " " + std::string(rtpmap));
  const std::string t = "a=rtcp-fb:" + std::to_string(pt);
  for (const char* fb : {" nack\r\n", " nack pli\r\n", " ccm fir\r\n"})
    EXPECT_NE(n.sdp.find(t + fb), std::string::npos) << fb << "\n" << n.sdp;
}

TEST(WhipH265, SafariOfferWithBothKeepsH264) {
  // Safari 18 lists H265 (96 Main, 98 Main 10) before H264: H.264 is still answered, so that
  // browsers without HEVC decoding can watch over WHEP.
  OfferError err;
  auto n = answer(sendonly(readSample("offer_safari_h265.sdp")), &err);
  ASSERT_TRUE(n) << n.message();
  ASSERT_EQ(n->tracks.size(), 2u);
  EXPECT_EQ(n->tracks[0].codec, Codec::kH264);
  EXPECT_EQ(n->tracks[0].payloadType, 102);  // 42e01f, packetization-mode=1
  EXPECT_EQ(n->tracks[1].codec, Codec::kOpus);
  expectVideoAnswer(*n, 102, "H264/90000");
  EXPECT_EQ(n->sdp.find("H265"), std::string::npos);
}

TEST(WhipH265, SafariOfferWithOnlyH265GetsMain) {
  OfferError err;
  auto n = answer(without(sendonly(readSample("offer_safari_h265.sdp")), "H264/90000"), &err);
  ASSERT_TRUE(n) << n.message();
  ASSERT_EQ(n->tracks.size(), 2u);
  EXPECT_EQ(n->tracks[0].kind, MediaKind::kVideo);
  EXPECT_EQ(n->tracks[0].codec, Codec::kH265);
  EXPECT_EQ(n->tracks[0].payloadType, 96);  // profile-id=1 (Main) before 98 (Main 10)
  EXPECT_EQ(n->tracks[0].clockRate, 90000u);
  EXPECT_FALSE(n->tracks[0].video);  // parameter sets come in-band
  expectVideoAnswer(*n, 96, "H265/90000");
  EXPECT_NE(n->sdp.find("a=fmtp:96 profile-id=1\r\n"), std::string::npos) << n->sdp;
  EXPECT_EQ(n->sdp.find("H264"), std::string::npos);
}

TEST(WhipH265, ChromeOfferWithOnlyH265EchoesItsFmtp) {
  OfferError err;
  std::string offer = without(sendonly(readSample("offer_chrome_h265.sdp")), "H264/90000");
  auto n = answer(offer, &err);
  ASSERT_TRUE(n) << n.message();
  EXPECT_EQ(n->tracks[0].codec, Codec::kH265);
  EXPECT_EQ(n->tracks[0].payloadType, 49);
  expectVideoAnswer(*n, 49, "H265/90000");
  EXPECT_NE(n->sdp.find("a=fmtp:49 level-id=180;profile-id=1;tier-flag=0;tx-mode=SRST\r\n"),
            std::string::npos)
      << n->sdp;
  // Only Main 10 offered: taken too.
  auto main10 = answer(without(offer, "a=rtpmap:49 "), &err);
  ASSERT_TRUE(main10) << main10.message();
  EXPECT_EQ(main10->tracks[0].payloadType, 51);
  // The whole Chrome offer (H.264 too): H.264, Constrained Baseline first.
  auto both = answer(sendonly(readSample("offer_chrome_h265.sdp")), &err);
  ASSERT_TRUE(both) << both.message();
  EXPECT_EQ(both->tracks[0].codec, Codec::kH264);
  EXPECT_EQ(both->tracks[0].payloadType, 102);
}

TEST(WhipH265, GStreamerOfferWithoutFmtp) {
  OfferError err;
  // What webrtcbin offers for videotestsrc ! x265enc ! rtph265pay: an rtpmap, no fmtp.
  auto n = answer(readSample("offer_gst_whip_h265.sdp"), &err);
  ASSERT_TRUE(n) << n.message();
  ASSERT_EQ(n->tracks.size(), 1u);
  EXPECT_EQ(n->tracks[0].codec, Codec::kH265);
  EXPECT_EQ(n->tracks[0].payloadType, 96);
  EXPECT_EQ(n->mids, std::vector<std::string>{"video0"});
  EXPECT_EQ(n->remoteUfrag, "LTcnyqgZLbpAVTgFRRgPzK+SXWkM8ycS");
  expectVideoAnswer(*n, 96, "H265/90000");
  EXPECT_EQ(n->sdp.find("a=fmtp:"), std::string::npos) << n->sdp;
}

TEST(WhipH265, H265FormatsWeCannotIngestAreRefused) {
  OfferError err;
  const std::string base = readSample("offer_gst_whip_h265.sdp");
  ASSERT_FALSE(base.empty());
  // Multi-stream transmission, profile-space != 0, a profile we do not take (RExt).
  for (const char* fmtp : {"tx-mode=MRST", "profile-space=1", "profile-id=4"}) {
    EXPECT_FALSE(answer(base + "a=fmtp:96 " + fmtp + "\r\n", &err)) << fmtp;
    EXPECT_EQ(err.status, 406) << fmtp;
    EXPECT_NE(err.reason.find("H265"), std::string::npos) << err.reason;
  }
  // DON fields (RFC 7798 §4.4.1) are not depacketized: the reason says so.
  EXPECT_FALSE(answer(base + "a=fmtp:96 sprop-max-don-diff=2\r\n", &err));
  EXPECT_EQ(err.status, 406);
  EXPECT_NE(err.reason.find("sprop-max-don-diff"), std::string::npos) << err.reason;
  // Main tier and High tier both ingest.
  EXPECT_TRUE(answer(base + "a=fmtp:96 profile-id=1;tier-flag=1;level-id=153\r\n", &err));
}

TEST(WhipH265, H264OfAnyProfileIsKeptOverH265) {
  // An encoder's H.264 (webrtcbin's x264enc: packetization-mode=1 and no profile-level-id, or a
  // High profile without level-asymmetry-allowed) next to its H.265: H.264 is taken.
  const std::string gst = readSample("offer_gst_whip_h265.sdp");
  std::string both = gst;
  both.replace(both.find("SAVPF 96"), 8, "SAVPF 96 97");
  for (const char* fmtp :
       {"packetization-mode=1", "packetization-mode=1;profile-level-id=640028"}) {
    OfferError err;
    auto n = answer(both + "a=rtpmap:97 H264/90000\r\na=fmtp:97 " + fmtp + "\r\n", &err);
    ASSERT_TRUE(n) << n.message();
    EXPECT_EQ(n->tracks[0].codec, Codec::kH264) << fmtp;
    expectVideoAnswer(*n, 97, "H264/90000");
    EXPECT_NE(n->sdp.find("a=fmtp:97 " + std::string(fmtp) + "\r\n"), std::string::npos);
  }
  // packetization-mode=0 (single NAL units only) is not usable: H.265 is taken instead.
  OfferError err;
  auto n = answer(both + "a=rtpmap:97 H264/90000\r\na=fmtp:97 profile-level-id=42e01f\r\n", &err);
  ASSERT_TRUE(n) << n.message();
  EXPECT_EQ(n->tracks[0].codec, Codec::kH265);
}

TEST(WhipH265, VideoWithNeitherH264NorH265IsRefused) {
  // Chrome without H.264 and H.265 (VP8, AV1, VP9 in its order) and with Opus: refused rather than
  // taken as audio only, so that the publisher learns that its camera would be dropped.
  std::string offer = readSample("offer_chrome_whip.sdp");
  offer = without(without(offer, "H264/90000"), "H265/90000");
  OfferError err;
  auto n = answer(offer, &err);
  ASSERT_FALSE(n);
  EXPECT_EQ(err.status, 406);
  EXPECT_NE(err.reason.find("H.264"), std::string::npos) << err.reason;
  EXPECT_NE(err.reason.find("H.265"), std::string::npos) << err.reason;
  EXPECT_NE(err.reason.find("VP8, AV1, VP9"), std::string::npos) << err.reason;
  EXPECT_EQ(err.reason.find("rtx"), std::string::npos) << err.reason;
  // Video that is not sent (recvonly) is no reason to refuse the microphone.
  std::string audioOnly = offer;
  const size_t video = audioOnly.find("m=video");
  audioOnly.replace(audioOnly.find("a=sendonly", video), 10, "a=recvonly");
  auto a = answer(audioOnly, &err);
  ASSERT_TRUE(a) << a.message();
  ASSERT_EQ(a->tracks.size(), 1u);
  EXPECT_EQ(a->tracks[0].codec, Codec::kOpus);
}

}  // namespace
}  // namespace xl::webrtc
