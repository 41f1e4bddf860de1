// H.265 in WHEP answers (RFC 7798 §7.2.2): an H.265 stream is answered with the offer's H265
// payload type that matches its profile and tier (Safari- and Chrome-shaped offers), an offer
// without H265 (Firefox, Chrome without HEVC) gets a clear 406, and an H.264 stream keeps H.264
// even when H265 comes first in the offer.
#include <gtest/gtest.h>

#include "../media/samples.h"
#include "answer_params.h"
#include "test_data.h"
#include "webrtc/sdp_answer.h"

namespace xl::webrtc {
namespace {

using test::readSample;

AnswerParams params() {
  return test::answerParams({"127.0.0.1"}, 2222);
}

// A stream whose video is the libx265 sample (Main, level 4.0; Main 10 with `main10`) and whose
// audio is AAC (answered as Opus).
MediaInfo hevcStream(bool main10) {
  ParameterSets ps;
  ps.vps = {xl::test::kH265Vps};
  ps.sps = {main10 ? xl::test::kH265Main10Sps : xl::test::kH265Sps};
  ps.pps = {xl::test::kH265Pps};
  auto hvcc = h265::buildHvcC(ps);
  EXPECT_TRUE(hvcc) << hvcc.message();
  MediaInfo m;
  VideoTrack v;
  v.codec = Codec::kH265;
  if (hvcc) v.config = *hvcc;
  m.video = v;
  AudioTrack a;
  a.codec = Codec::kAAC;
  a.sampleRate = 44100;
  a.channels = 2;
  m.audio = a;
  return m;
}

StreamCodecs hevc(bool main10 = false) {
  MediaInfo m = hevcStream(main10);
  return streamCodecs(&m);
}

const rtp::SdpMedia* video(const rtp::SessionDescription& s) {
  for (auto& m : s.media)
    if (m.media == "video") return &m;
  return nullptr;
}

// The attribute values named `name` of a section.
std::vector<std::string> all(const rtp::SdpMedia& m, std::string_view name) {
  std::vector<std::string> out;
  for (auto& a : m.attributes)
    if (a.name == name) out.push_back(a.value);
  return out;
}

// A one-section recvonly offer whose video formats are `rtpmaps` ("96 H265/90000") with `fmtps`.
std::string videoOffer(const std::vector<std::pair<std::string, std::string>>& formats) {
  std::string fmt, attrs;
  for (auto& [map, fmtp] : formats) {
    std::string pt = map.substr(0, map.find(' '));
    fmt += " " + pt;
    attrs += "a=rtpmap:" + map + "\r\n";
    if (!fmtp.empty()) attrs += "a=fmtp:" + pt + " " + fmtp + "\r\n";
  }
  return "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
         "m=video 9 UDP/TLS/RTP/SAVPF" +
         fmt +
         "\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\n"
         "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
         "a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=rtcp-mux\r\n" +
         attrs;
}

TEST(SdpH265, StreamCodecsFromHvcC) {
  StreamCodecs c = hevc();
  EXPECT_EQ(c.video, Codec::kH265);
  EXPECT_EQ(c.profileIdc, 1);  // Main
  EXPECT_FALSE(c.tier);
  EXPECT_EQ(c.levelIdc, 120);  // level 4.0
  EXPECT_TRUE(c.profileCompatibility & (1u << 30)) << "Main is compatible with itself";
  EXPECT_EQ(c.audio, Codec::kOpus);  // AAC reaches browsers as Opus
  EXPECT_EQ(hevc(true).profileIdc, 2);

  MediaInfo broken = hevcStream(false);
  broken.video->config = BufferRef::copyOf("\x01\x02", 2);  // not an hvcC record
  EXPECT_EQ(streamCodecs(&broken).video, Codec::kNone);
  EXPECT_EQ(streamCodecs(nullptr).video, Codec::kNone);
}

TEST(SdpH265, SafariOfferPicksTheStreamsProfile) {
  std::string offer = readSample("offer_safari_h265.sdp");
  ASSERT_FALSE(offer.empty());
  auto n = answerOffer(offer, hevc(), params());
  ASSERT_TRUE(n) << n.message();
  EXPECT_EQ(n->videoPayloadType, 96);  // profile-id=1
  EXPECT_EQ(n->audioPayloadType, 111);
  EXPECT_EQ(n->remoteUfrag, "sF3b");
  auto answer = rtp::parseSdp(n->sdp);
  ASSERT_TRUE(answer) << answer.message() << "\n" << n->sdp;
  const rtp::SdpMedia* v = video(*answer);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->formats, std::vector<std::string>{"96"});
  EXPECT_TRUE(v->attribute("sendonly"));
  EXPECT_EQ(*v->attribute("rtpmap"), "96 H265/90000");
  EXPECT_EQ(*v->attribute("fmtp"), "96 profile-id=1");
  EXPECT_EQ(all(*v, "rtcp-fb"),
            (std::vector<std::string>{"96 nack", "96 nack pli", "96 ccm fir", "96 goog-remb"}));
  EXPECT_NE(n->sdp.find("a=ssrc:1111 cname:xueliang"), std::string::npos);

  auto main10 = answerOffer(offer, hevc(true), params());
  ASSERT_TRUE(main10) << main10.message();
  EXPECT_EQ(main10->videoPayloadType, 98);  // profile-id=2
}

TEST(SdpH265, ChromeOfferAnswersItsFmtp) {
  std::string offer = readSample("offer_chrome_h265.sdp");
  ASSERT_FALSE(offer.empty());
  auto n = answerOffer(offer, hevc(), params());
  ASSERT_TRUE(n) << n.message();
  EXPECT_EQ(n->videoPayloadType, 49);
  auto answer = rtp::parseSdp(n->sdp);
  ASSERT_TRUE(answer) << answer.message();
  const rtp::SdpMedia* v = video(*answer);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v->attribute("rtpmap"), "49 H265/90000");
  // Echoed as offered: Chrome matches the answer's codec by profile, tier and tx-mode.
  EXPECT_EQ(*v->attribute("fmtp"), "49 level-id=180;profile-id=1;tier-flag=0;tx-mode=SRST");
  EXPECT_EQ(all(*v, "rtcp-fb").size(), 4u);

  auto main10 = answerOffer(offer, hevc(true), params());
  ASSERT_TRUE(main10) << main10.message();
  EXPECT_EQ(main10->videoPayloadType, 51);
}

TEST(SdpH265, OffersWithoutH265GetAClearRefusal) {
  for (const char* file : {"offer_firefox.sdp", "offer_chrome.sdp"}) {
    std::string offer = readSample(file);
    ASSERT_FALSE(offer.empty()) << file;
    OfferError e;
    auto n = answerOffer(offer, hevc(), params(), &e);
    // The offers have Opus the stream could send, but a session without picture is not what a
    // viewer asked for.
    EXPECT_FALSE(n) << file << ":\n" << (n ? n->sdp : "");
    EXPECT_EQ(e.status, 406) << file;
    EXPECT_NE(e.reason.find("H.265"), std::string::npos) << e.reason;
    EXPECT_NE(e.reason.find("cannot receive H.265"), std::string::npos) << e.reason;
    EXPECT_NE(e.reason.find("profile-id=1"), std::string::npos) << e.reason;
  }
}

TEST(SdpH265, H264StreamKeepsH264WhenH265ComesFirst) {
  StreamCodecs h264;
  h264.video = Codec::kH264;
  h264.profileIdc = 0x64;
  auto safari = answerOffer(readSample("offer_safari_h265.sdp"), h264, params());
  ASSERT_TRUE(safari) << safari.message();
  EXPECT_EQ(safari->videoPayloadType, 100);  // 640c1f, before it 96 and 98 are H265
  EXPECT_NE(safari->sdp.find("a=rtpmap:100 H264/90000"), std::string::npos);
  EXPECT_EQ(safari->sdp.find("H265"), std::string::npos);
  auto chrome = answerOffer(readSample("offer_chrome_h265.sdp"), h264, params());
  ASSERT_TRUE(chrome) << chrome.message();
  EXPECT_EQ(chrome->videoPayloadType, 102);
}

TEST(SdpH265, ProfileTierAndTxModeRules) {
  const StreamCodecs main = hevc();
  auto pick = [](const std::string& offer, const StreamCodecs& c) {
    auto n = answerOffer(offer, c, params());
    return n ? n->videoPayloadType : -1;
  };
  // RFC 7798 §7.1 defaults (Main, Main tier, level 3.1, SRST) when the fmtp is absent.
  EXPECT_EQ(pick(videoOffer({{"96 H265/90000", ""}}), main), 96);
  // One stream, no DON: MRST / MRMT cannot be answered.
  EXPECT_EQ(pick(videoOffer({{"96 H265/90000", "profile-id=1;tx-mode=MRST"}}), main), -1);
  EXPECT_EQ(pick(videoOffer({{"96 H265/90000", "profile-id=1;tx-mode=srst"}}), main), 96);
  EXPECT_EQ(pick(videoOffer({{"96 H265/90000", "profile-id=1;profile-space=1"}}), main), -1);
  EXPECT_EQ(pick(videoOffer({{"96 H265/90000", "profile-id=x"}}), main), -1);
  // The exact profile beats a compatible one; a Main stream plays on a Main 10 decoder.
  EXPECT_EQ(pick(videoOffer({{"96 H265/90000", "profile-id=2"}, {"97 H265/90000", "profile-id=1"}}),
                 main),
            97);
  EXPECT_EQ(pick(videoOffer({{"96 H265/90000", "profile-id=2"}}), main), 96);
  // Main 10 does not play on a Main decoder, nor Range extensions (profile 4) on either.
  EXPECT_EQ(pick(videoOffer({{"96 H265/90000", "profile-id=1"}}), hevc(true)), -1);
  StreamCodecs rext = main;
  rext.profileIdc = 4;
  rext.profileCompatibility = 1u << (31 - 4);
  EXPECT_EQ(pick(videoOffer({{"96 H265/90000", "profile-id=1"}, {"97 H265/90000", "profile-id=2"}}),
                 rext),
            -1);
  // High tier needs a decoder that offered it; Main tier plays on either.
  StreamCodecs high = main;
  high.tier = true;
  EXPECT_EQ(pick(videoOffer({{"96 H265/90000", "profile-id=1;tier-flag=0"}}), high), -1);
  EXPECT_EQ(pick(videoOffer({{"96 H265/90000", "profile-id=1;tier-flag=1"}}), high), 96);
  EXPECT_EQ(pick(videoOffer({{"96 H265/90000", "profile-id=1;tier-flag=1"}}), main), 96);
  // A level that covers the stream's (120) wins over one below it.
  EXPECT_EQ(pick(videoOffer({{"96 H265/90000", "profile-id=1;level-id=93"},
                             {"97 H265/90000", "profile-id=1;level-id=150"}}),
                 main),
            97);
  // H265 at another clock rate is not H.265 video.
  EXPECT_EQ(pick(videoOffer({{"96 H265/48000", "profile-id=1"}}), main), -1);
}

TEST(SdpH265, AudioOnlyOfferForAnH265StreamGetsAudio) {
  std::string offer = readSample("offer_safari_h265.sdp");
  // Drop the video section: what an audio-only player offers.
  size_t v = offer.find("m=video"), a = offer.find("m=audio");
  ASSERT_NE(v, std::string::npos);
  offer.erase(v, a - v);
  offer.replace(offer.find("BUNDLE 0 1"), 10, "BUNDLE 1");
  auto n = answerOffer(offer, hevc(), params());
  ASSERT_TRUE(n) << n.message();
  EXPECT_EQ(n->videoPayloadType, -1);
  EXPECT_EQ(n->audioPayloadType, 111);
}

}  // namespace
}  // namespace xl::webrtc
