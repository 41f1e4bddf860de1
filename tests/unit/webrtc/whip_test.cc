// WHIP: the recvonly answer to a real Chromium sendonly offer (camera + microphone), refused
// offers, trickle ICE PATCH bodies and their answers, loss detection and Generic NACK.
#include <gtest/gtest.h>

#include "answer_params.h"
#include "rtp/sdp.h"
#include "test_data.h"
#include "webrtc/rtcp_feedback.h"
#include "webrtc/trickle.h"
#include "webrtc/whip_answer.h"
#include "webrtc/whip_nack.h"

namespace xl::webrtc {
namespace {

using test::readSample;

AnswerParams params() {
  return test::answerParams({"127.0.0.1"}, 1111);
}

TEST(WhipAnswer, ChromeSendonlyOfferGetsRecvonlyH264AndOpus) {
  std::string offer = readSample("offer_chrome_whip.sdp");
  ASSERT_FALSE(offer.empty());
  OfferError err;
  auto n = answerWhipOffer(offer, params(), &err);
  ASSERT_TRUE(n) << n.message();
  EXPECT_EQ(n->remoteUfrag, "IB4O");
  EXPECT_EQ(n->remotePwd, "RfuEDqng2INDC82JqQnfBTwS");
  EXPECT_TRUE(n->remoteFingerprint.starts_with("96:EE:ED:92"));
  ASSERT_EQ(n->tracks.size(), 2u);
  // Video first whatever the offer's order (audio is m-line 0 there).
  EXPECT_EQ(n->tracks[0].kind, MediaKind::kVideo);
  EXPECT_EQ(n->tracks[0].codec, Codec::kH264);
  EXPECT_EQ(n->tracks[0].payloadType, 102);  // packetization-mode=1, profile 0x42
  EXPECT_EQ(n->tracks[0].clockRate, 90000u);
  EXPECT_EQ(n->tracks[1].kind, MediaKind::kAudio);
  EXPECT_EQ(n->tracks[1].codec, Codec::kOpus);
  EXPECT_EQ(n->tracks[1].payloadType, 111);

  auto a = rtp::parseSdp(n->sdp);
  ASSERT_TRUE(a) << a.message() << "\n" << n->sdp;
  EXPECT_TRUE(a->attribute("ice-lite"));
  ASSERT_TRUE(a->attribute("group"));
  EXPECT_EQ(*a->attribute("group"), "BUNDLE 0 1");
  ASSERT_EQ(a->media.size(), 2u);
  EXPECT_EQ(a->media[0].media, "audio");
  EXPECT_EQ(a->media[0].formats, std::vector<std::string>{"111"});
  EXPECT_EQ(a->media[1].formats, std::vector<std::string>{"102"});
  for (const auto& m : a->media) {
    EXPECT_TRUE(m.attribute("recvonly")) << m.media;
    EXPECT_FALSE(m.attribute("sendonly")) << m.media;
    EXPECT_EQ(*m.attribute("setup"), "passive");
    EXPECT_EQ(*m.attribute("ice-ufrag"), "srvufrag");
    EXPECT_TRUE(m.attribute("rtcp-mux"));
    EXPECT_EQ(*m.attribute("candidate"), "1 1 udp 2130706431 127.0.0.1 8189 typ host");
  }
  EXPECT_NE(n->sdp.find("a=rtcp-fb:102 nack pli\r\n"), std::string::npos);
  EXPECT_NE(n->sdp.find("a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;"
                        "profile-level-id=42001f\r\n"),
            std::string::npos);
  EXPECT_NE(n->sdp.find("a=rtpmap:111 opus/48000/2\r\n"), std::string::npos);
}

TEST(WhipAnswer, RecvonlyOfferIsRefused) {
  // A WHEP (playback) offer sent to WHIP: nothing to ingest.
  OfferError err;
  auto n = answerWhipOffer(readSample("offer_chrome.sdp"), params(), &err);
  ASSERT_FALSE(n);
  EXPECT_EQ(err.status, 400);
  EXPECT_NE(err.reason.find("send media"), std::string::npos) << err.reason;
}

TEST(WhipAnswer, NoUsableCodecIs406) {
  std::string offer =
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n"
      "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
      "a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=rtpmap:96 VP8/90000\r\n";
  OfferError err;
  EXPECT_FALSE(answerWhipOffer(offer, params(), &err));
  EXPECT_EQ(err.status, 406);
  // Only packetization-mode=0 H.264: not ingestible either.
  std::string pm0 = offer;
  pm0.replace(pm0.find("VP8"), 3, "H264");
  pm0 += "a=fmtp:96 packetization-mode=0;profile-level-id=42e01f\r\n";
  EXPECT_FALSE(answerWhipOffer(pm0, params(), &err));
  EXPECT_EQ(err.status, 406);
  // With packetization-mode=1 it is.
  std::string pm1 = offer;
  pm1.replace(pm1.find("VP8"), 3, "H264");
  pm1 += "a=fmtp:96 packetization-mode=1;profile-level-id=42e01f\r\n";
  auto n = answerWhipOffer(pm1, params(), &err);
  ASSERT_TRUE(n) << n.message();
  EXPECT_EQ(n->tracks.size(), 1u);
}

TEST(WhipAnswer, MalformedOffersAre400) {
  OfferError err;
  EXPECT_FALSE(answerWhipOffer("hello", params(), &err));
  EXPECT_EQ(err.status, 400);
  std::string offer = readSample("offer_chrome_whip.sdp");
  std::string noFp = offer;
  for (size_t at; (at = noFp.find("a=fingerprint:")) != std::string::npos;)
    noFp.erase(at, noFp.find("\r\n", at) + 2 - at);
  EXPECT_FALSE(answerWhipOffer(noFp, params(), &err));
  EXPECT_EQ(err.status, 400);
  EXPECT_NE(err.reason.find("fingerprint"), std::string::npos);
}

constexpr std::string_view kFrag =
    "a=ice-ufrag:IB4O\r\n"
    "a=ice-pwd:RfuEDqng2INDC82JqQnfBTwS\r\n"
    "m=audio 9 RTP/AVP 0\r\n"
    "a=mid:0\r\n"
    "a=candidate:911264905 1 udp 2122194687 192.0.2.2 49035 typ host generation 0\r\n"
    "a=end-of-candidates\r\n";

TEST(Trickle, ParsesAFragment) {
  auto f = parseTrickleFragment(kFrag);
  ASSERT_TRUE(f) << f.message();
  EXPECT_EQ(f->ufrag, "IB4O");
  EXPECT_EQ(f->pwd, "RfuEDqng2INDC82JqQnfBTwS");
  ASSERT_EQ(f->mids.size(), 1u);
  EXPECT_EQ(f->mids[0], "0");
  ASSERT_EQ(f->candidates.size(), 1u);
  EXPECT_TRUE(f->candidates[0].starts_with("911264905 1 udp"));
  EXPECT_TRUE(f->endOfCandidates);
  // LF line endings too.
  EXPECT_TRUE(parseTrickleFragment("a=ice-ufrag:x\na=end-of-candidates\n"));
}

TEST(Trickle, RejectsMalformedFragments) {
  EXPECT_FALSE(parseTrickleFragment("not sdp"));
  EXPECT_FALSE(parseTrickleFragment("a=candidate:1 1 udp\r\n"));  // too few fields
  EXPECT_FALSE(parseTrickleFragment("a=candidate:1 1 udp 5 1.2.3.4 99999 typ host\r\n"));
  EXPECT_FALSE(parseTrickleFragment("a=candidate:1 1 udp x 1.2.3.4 9 typ host\r\n"));
  EXPECT_FALSE(parseTrickleFragment("a=candidate:1 1 udp 5 1.2.3.4 9 type host\r\n"));
  EXPECT_FALSE(parseTrickleFragment("a=ice-ufrag:bad ufrag\r\n"));
  EXPECT_FALSE(parseTrickleFragment(std::string(20000, 'a')));
  std::string many;
  for (int i = 0; i < 300; ++i) many += "a=end-of-candidates\r\n";
  EXPECT_FALSE(parseTrickleFragment(many));
}

TEST(Trickle, PatchAnswers) {
  const std::string_view type = kTrickleContentType, etag = "\"00abc\"";
  const std::string_view ufrag = "IB4O", pwd = "RfuEDqng2INDC82JqQnfBTwS";
  EXPECT_EQ(answerTricklePatch(type, etag, kFrag, etag, ufrag, pwd).status, 204);
  EXPECT_EQ(answerTricklePatch(type, "", kFrag, etag, ufrag, pwd).status, 204);
  EXPECT_EQ(answerTricklePatch("application/trickle-ice-sdpfrag; charset=utf-8", "*", kFrag, etag,
                               ufrag, pwd)
                .status,
            204);
  EXPECT_EQ(answerTricklePatch("application/sdp", etag, kFrag, etag, ufrag, pwd).status, 415);
  auto wrong = answerTricklePatch(type, "\"other\"", kFrag, etag, ufrag, pwd);
  EXPECT_EQ(wrong.status, 412);
  EXPECT_NE(wrong.reason.find("ETag"), std::string::npos);
  EXPECT_EQ(answerTricklePatch(type, etag, "garbage", etag, ufrag, pwd).status, 400);
  // New credentials: an ICE restart, not implemented.
  std::string restart(kFrag);
  restart.replace(restart.find("IB4O"), 4, "NEWU");
  EXPECT_EQ(answerTricklePatch(type, "*", restart, etag, ufrag, pwd).status, 501);
}

}  // namespace
}  // namespace xl::webrtc

namespace xl::webrtc {
namespace {

TEST(WhipNack, GapsAreReportedOnceAndWrapAround) {
  NackTracker t;
  std::vector<uint16_t> missing;
  t.onPacket(65533, missing);
  t.onPacket(65534, missing);
  EXPECT_TRUE(missing.empty());
  t.onPacket(2, missing);  // 65535, 0, 1 lost across the wrap
  EXPECT_EQ(missing, (std::vector<uint16_t>{65535, 0, 1}));
  missing.clear();
  t.onPacket(0, missing);  // the retransmission arrives late: nothing new
  t.onPacket(2, missing);  // duplicate
  t.onPacket(3, missing);
  EXPECT_TRUE(missing.empty());
  t.onPacket(3 + 1000, missing);  // a restart of the numbering, not 999 losses
  EXPECT_TRUE(missing.empty());
  EXPECT_EQ(t.lost(), 3u);
}

TEST(WhipNack, GenericNackPacksPidAndBitmask) {
  uint8_t out[64];
  const uint16_t seqs[] = {100, 101, 103, 116, 117, 65535, 0};
  size_t n = writeGenericNack(0x11111111, 0x22222222, seqs, out, sizeof out);
  // 100 + {101, 103, 116} in one entry (bits 0, 2, 15), then 117, then 65535 + {0}.
  ASSERT_EQ(n, 12u + 3 * 4);
  EXPECT_EQ(out[0], 0x81);
  EXPECT_EQ(out[1], 205);
  EXPECT_EQ((out[2] << 8 | out[3]), 5);  // length in words minus one
  EXPECT_EQ(out[4], 0x11);
  EXPECT_EQ(out[8], 0x22);
  EXPECT_EQ((out[12] << 8 | out[13]), 100);
  EXPECT_EQ((out[14] << 8 | out[15]), 0x8005);
  EXPECT_EQ((out[16] << 8 | out[17]), 117);
  EXPECT_EQ((out[18] << 8 | out[19]), 0);
  EXPECT_EQ((out[20] << 8 | out[21]), 65535);
  EXPECT_EQ((out[22] << 8 | out[23]), 1);
  // It must also parse as NACK with our own reader of browser feedback.
  Feedback fb;
  ASSERT_TRUE(readFeedback(std::span<const uint8_t>(out, n), fb));
  EXPECT_EQ(fb.nacked, (std::vector<uint16_t>{100, 101, 103, 116, 117, 65535, 0}));
  EXPECT_EQ(writeGenericNack(1, 2, {}, out, sizeof out), 0u);
  EXPECT_EQ(writeGenericNack(1, 2, seqs, out, 16), 0u);  // no room for three entries
}

}  // namespace
}  // namespace xl::webrtc
