#include "webrtc/sdp_answer.h"

#include <gtest/gtest.h>

#include "answer_params.h"
#include "test_data.h"

namespace xl::webrtc {
namespace {

using test::readSample;

AnswerParams params() {
  return test::answerParams({"127.0.0.1", "203.0.113.7"}, 2222);
}

StreamCodecs h264(uint8_t profile, Codec audio = Codec::kNone) {
  StreamCodecs c;
  c.video = Codec::kH264;
  c.profileIdc = profile;
  c.audio = audio;
  c.audioChannels = 1;
  return c;
}

const rtp::SdpMedia* section(const rtp::SessionDescription& s, std::string_view media) {
  for (auto& m : s.media)
    if (m.media == media) return &m;
  return nullptr;
}

TEST(SdpAnswer, ChromeOfferHighProfileStream) {
  std::string offer = readSample("offer_chrome.sdp");
  ASSERT_FALSE(offer.empty());
  auto n = answerOffer(offer, h264(0x64), params());
  ASSERT_TRUE(n) << n.message();
  // Chrome offers no High profile: the first packetization-mode=1 type with
  // level-asymmetry-allowed=1 (102, 42001f) carries it.
  EXPECT_EQ(n->videoPayloadType, 102);
  EXPECT_EQ(n->audioPayloadType, -1);  // the stream has no audio
  EXPECT_EQ(n->remoteUfrag, "Dmz8");
  EXPECT_EQ(n->remotePwd, "i+9KyHk9uZjAvuobJJgAF+yr");
  EXPECT_EQ(n->remoteFingerprint.substr(0, 8), "EC:9E:70");

  auto answer = rtp::parseSdp(n->sdp);
  ASSERT_TRUE(answer) << answer.message() << "\n" << n->sdp;
  ASSERT_TRUE(answer->attribute("ice-lite"));
  ASSERT_TRUE(answer->attribute("group"));
  EXPECT_EQ(*answer->attribute("group"), "BUNDLE 0 1");
  ASSERT_EQ(answer->media.size(), 2u);
  const rtp::SdpMedia* v = section(*answer, "video");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->formats, std::vector<std::string>{"102"});
  EXPECT_EQ(*v->attribute("mid"), "0");
  EXPECT_TRUE(v->attribute("sendonly"));
  EXPECT_TRUE(v->attribute("rtcp-mux"));
  EXPECT_EQ(*v->attribute("setup"), "passive");
  EXPECT_EQ(*v->attribute("ice-ufrag"), "srvufrag");
  EXPECT_EQ(*v->attribute("fingerprint"), "sha-256 AA:BB:CC");
  EXPECT_EQ(*v->attribute("rtpmap"), "102 H264/90000");
  EXPECT_NE(v->attribute("fmtp")->find("packetization-mode=1"), std::string::npos);
  EXPECT_NE(n->sdp.find("a=candidate:1 1 udp 2130706431 127.0.0.1 8189 typ host"),
            std::string::npos)
      << n->sdp;
  EXPECT_NE(n->sdp.find("203.0.113.7 8189 typ host"), std::string::npos);
  EXPECT_NE(n->sdp.find("a=ssrc:1111 cname:xueliang"), std::string::npos);
  const rtp::SdpMedia* a = section(*answer, "audio");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->attribute("inactive"));
  EXPECT_EQ(*a->attribute("mid"), "1");
}

TEST(SdpAnswer, ExactProfileWins) {
  std::string offer = readSample("offer_chrome.sdp");
  auto main = answerOffer(offer, h264(0x4d), params());
  ASSERT_TRUE(main);
  EXPECT_EQ(main->videoPayloadType, 116);  // 4d001f
  auto baseline = answerOffer(offer, h264(0x42), params());
  ASSERT_TRUE(baseline);
  EXPECT_EQ(baseline->videoPayloadType, 102);  // 42001f, packetization-mode=1
}

TEST(SdpAnswer, ChromeOfferOpusStream) {
  auto n = answerOffer(readSample("offer_chrome.sdp"), h264(0x64, Codec::kOpus), params());
  ASSERT_TRUE(n) << n.message();
  EXPECT_EQ(n->audioPayloadType, 111);
  EXPECT_NE(n->sdp.find("a=rtpmap:111 opus/48000/2"), std::string::npos);
  EXPECT_NE(n->sdp.find("a=ssrc:2222 cname:xueliang"), std::string::npos);
}

TEST(SdpAnswer, FirefoxOfferSessionLevelFingerprintAndPcma) {
  std::string offer = readSample("offer_firefox.sdp");
  ASSERT_FALSE(offer.empty());
  auto n = answerOffer(offer, h264(0x64, Codec::kG711A), params());
  ASSERT_TRUE(n) << n.message();
  EXPECT_EQ(n->videoPayloadType, 126);  // 97 is packetization-mode 0
  EXPECT_EQ(n->audioPayloadType, 8);
  EXPECT_EQ(n->remoteUfrag, "3f8a2c1d");
  EXPECT_EQ(n->remoteFingerprint.substr(0, 8), "5A:1F:3C");
  auto answer = rtp::parseSdp(n->sdp);
  ASSERT_TRUE(answer) << answer.message();
  EXPECT_EQ(*section(*answer, "audio")->attribute("rtpmap"), "8 PCMA/8000");
}

TEST(SdpAnswer, Rejections) {
  OfferError e;
  EXPECT_FALSE(answerOffer("hello", h264(0x64), params(), &e));
  EXPECT_EQ(e.status, 400);
  EXPECT_NE(e.reason.find("not valid SDP"), std::string::npos) << e.reason;

  std::string offer = readSample("offer_chrome.sdp");
  std::string noFp;
  for (size_t at = 0; at < offer.size();) {
    size_t end = offer.find('\n', at);
    std::string line =
        offer.substr(at, end == std::string::npos ? std::string::npos : end - at + 1);
    if (line.find("a=fingerprint") == std::string::npos) noFp += line;
    at = end == std::string::npos ? offer.size() : end + 1;
  }
  EXPECT_FALSE(answerOffer(noFp, h264(0x64), params(), &e));
  EXPECT_EQ(e.status, 400);
  EXPECT_NE(e.reason.find("fingerprint"), std::string::npos) << e.reason;

  // A VP8-only offer has nothing in common with an H.264 stream.
  std::string vp8 =
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\n"
      "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
      "a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=rtcp-mux\r\n"
      "a=rtpmap:96 VP8/90000\r\n";
  EXPECT_FALSE(answerOffer(vp8, h264(0x64), params(), &e));
  EXPECT_EQ(e.status, 406);
  EXPECT_NE(e.reason.find("H.264"), std::string::npos) << e.reason;

  // A publisher's offer (sendonly) is not a WHEP offer.
  std::string send = vp8;
  send.replace(send.find("a=recvonly"), 10, "a=sendonly");
  EXPECT_FALSE(answerOffer(send, h264(0x64), params(), &e));
  EXPECT_EQ(e.status, 400);
}

}  // namespace
}  // namespace xl::webrtc
