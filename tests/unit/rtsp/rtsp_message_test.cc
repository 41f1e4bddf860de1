#include "rtsp/rtsp_message.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace xl::rtsp {
namespace {

struct Collected {
  std::vector<RtspMessage> messages;
  std::vector<std::pair<uint8_t, std::string>> frames;
};

Status feedAll(RtspParser& p, std::string_view bytes, Collected& c, size_t piece = SIZE_MAX) {
  for (size_t i = 0; i < bytes.size(); i += piece) {
    size_t n = std::min(piece, bytes.size() - i);
    Status s = p.feed(
        reinterpret_cast<const uint8_t*>(bytes.data() + i), n,
        [&](RtspMessage&& m) {
          c.messages.push_back(std::move(m));
          return Status::ok();
        },
        [&](uint8_t ch, const uint8_t* d, size_t len) {
          c.frames.emplace_back(ch, std::string(reinterpret_cast<const char*>(d), len));
          return Status::ok();
        });
    if (!s) return s;
  }
  return Status::ok();
}

const std::string kAnnounce =
    "ANNOUNCE rtsp://127.0.0.1:8554/live/cam RTSP/1.0\r\n"
    "CSeq: 2\r\n"
    "Content-Type: application/sdp\r\n"
    "User-Agent: Lavf59.27.100\r\n"
    "Content-Length: 10\r\n"
    "\r\n"
    "v=0\r\ns=x\r\n";

TEST(RtspParser, RequestWithBodyInEveryPieceSize) {
  std::string stream = "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n" + kAnnounce +
                       std::string(
                           "$\x01\x00\x03"
                           "abc",
                           7) +
                       "GET_PARAMETER rtsp://h/a/b RTSP/1.0\nCSeq: 3\n\n";
  for (size_t piece : {size_t(1), size_t(2), size_t(7), SIZE_MAX}) {
    RtspParser p;
    Collected c;
    ASSERT_TRUE(feedAll(p, stream, c, piece));
    ASSERT_EQ(c.messages.size(), 3u) << piece;
    EXPECT_EQ(c.messages[0].method, "OPTIONS");
    EXPECT_EQ(c.messages[0].uri, "*");
    EXPECT_EQ(c.messages[0].cseq(), 1);
    const RtspMessage& a = c.messages[1];
    EXPECT_TRUE(a.isRequest);
    EXPECT_EQ(a.method, "ANNOUNCE");
    EXPECT_EQ(a.uri, "rtsp://127.0.0.1:8554/live/cam");
    EXPECT_EQ(a.header("content-type"), "application/sdp");
    EXPECT_EQ(a.body, "v=0\r\ns=x\r\n");
    EXPECT_EQ(c.messages[2].cseq(), 3);  // bare LF line ends are tolerated
    ASSERT_EQ(c.frames.size(), 1u);
    EXPECT_EQ(c.frames[0].first, 1);
    EXPECT_EQ(c.frames[0].second, "abc");
    EXPECT_EQ(p.buffered(), 0u);
  }
}

TEST(RtspParser, ResponsesAndContinuationLines) {
  RtspParser p;
  Collected c;
  ASSERT_TRUE(feedAll(p,
                      "RTSP/1.0 200 OK\r\nCSeq: 5\r\nSession: abc;\r\n timeout=60\r\n"
                      "Public: OPTIONS, DESCRIBE\r\n\r\n",
                      c));
  ASSERT_EQ(c.messages.size(), 1u);
  const RtspMessage& r = c.messages[0];
  EXPECT_FALSE(r.isRequest);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.reason, "OK");
  EXPECT_EQ(r.header("Session"), "abc; timeout=60");
}

TEST(RtspParser, RejectsMalformedInput) {
  const char* bad[] = {
      "OPTIONS\r\n\r\n",
      "OPTIONS * HTTP/1.1\r\nCSeq: 1\r\n\r\n",
      "RTSP/1.0 2000 OK\r\n\r\n",
      "OPTIONS * RTSP/1.0\r\nno colon here\r\n\r\n",
      "OPTIONS * RTSP/1.0\r\n continuation first\r\n\r\n",
      "OPTIONS * RTSP/1.0\r\nContent-Length: x\r\n\r\n",
      "OPTIONS * RTSP/1.0\r\nContent-Length: 999999999\r\n\r\n",
      "OP(TIONS * RTSP/1.0\r\n\r\n",
  };
  for (const char* b : bad) {
    RtspParser p;
    Collected c;
    EXPECT_FALSE(feedAll(p, b, c)) << b;
    EXPECT_TRUE(c.messages.empty()) << b;
    EXPECT_FALSE(feedAll(p, "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n", c)) << "errors stick";
  }
}

TEST(RtspParser, EnforcesLimits) {
  {
    RtspParser p;
    Collected c;
    EXPECT_FALSE(feedAll(p, "OPTIONS * RTSP/1.0\r\nX: " + std::string(20000, 'a'), c, 1000));
  }
  {
    RtspParser p(RtspLimits{16 * 1024, 4, 100});
    Collected c;
    EXPECT_FALSE(
        feedAll(p, "OPTIONS * RTSP/1.0\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\n\r\n", c));
  }
  {
    RtspParser p;
    Collected c;
    EXPECT_FALSE(feedAll(p, "OPTIONS * RTSP/1.0\r\nContent-Length: 70000\r\n\r\n", c));
  }
}

TEST(RtspParser, CallbackErrorsStopParsing) {
  RtspParser p;
  std::string two = "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\n";
  int seen = 0;
  Status s = p.feed(
      reinterpret_cast<const uint8_t*>(two.data()), two.size(),
      [&](RtspMessage&&) {
        ++seen;
        return Status::error("stop");
      },
      [](uint8_t, const uint8_t*, size_t) { return Status::ok(); });
  EXPECT_FALSE(s);
  EXPECT_EQ(seen, 1);
}

TEST(RtspResponse, Format) {
  EXPECT_EQ(formatResponse(200, 7, {{"Public", "OPTIONS"}}),
            "RTSP/1.0 200 OK\r\nCSeq: 7\r\nPublic: OPTIONS\r\n\r\n");
  EXPECT_EQ(formatResponse(404, 3, {}, "gone\n"),
            "RTSP/1.0 404 Not Found\r\nCSeq: 3\r\nContent-Length: 5\r\n\r\ngone\n");
  EXPECT_EQ(formatResponse(461, -1, {}), "RTSP/1.0 461 Unsupported Transport\r\n\r\n");
}

}  // namespace
}  // namespace xl::rtsp
