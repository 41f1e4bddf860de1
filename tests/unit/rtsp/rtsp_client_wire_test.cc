#include "rtsp/rtsp_client_wire.h"

#include <gtest/gtest.h>

namespace xl::rtsp {
namespace {

TEST(CameraUrl, CredentialsAreDecodedAndRemoved) {
  auto u = parseCameraUrl("rtsp://admin:p%40ss%3Aw@192.168.1.64:8554/Streaming/101?x=1");
  ASSERT_TRUE(u) << u.message();
  EXPECT_EQ(u->user, "admin");
  EXPECT_EQ(u->password, "p@ss:w");
  EXPECT_EQ(u->host, "192.168.1.64");
  EXPECT_EQ(u->port, 8554);
  EXPECT_EQ(u->url, "rtsp://192.168.1.64:8554/Streaming/101?x=1");
}

TEST(CameraUrl, DefaultsAndIpv6) {
  auto u = parseCameraUrl("RTSP://cam.local");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 554);
  EXPECT_EQ(u->url, "rtsp://cam.local:554/");
  EXPECT_TRUE(u->user.empty());
  auto v6 = parseCameraUrl("rtsp://u@[fe80::1]:10554/a");
  ASSERT_TRUE(v6) << v6.message();
  EXPECT_EQ(v6->host, "[fe80::1]");
  EXPECT_EQ(v6->port, 10554);
  EXPECT_EQ(v6->user, "u");
  EXPECT_EQ(v6->password, "");
}

TEST(CameraUrl, RejectsMalformed) {
  for (const char* bad :
       {"http://h/a", "rtsp://", "rtsp://:554/a", "rtsp://h:0/a", "rtsp://h:99999/a",
        "rtsp://h:12x/a", "rtsp://u:%zz@h/a", "rtsp://[::1/a", "rtsp://h/a b"}) {
    EXPECT_FALSE(parseCameraUrl(bad)) << bad;
  }
}

TEST(Request, Format) {
  EXPECT_EQ(formatRequest("SETUP", "rtsp://h/a/track1", 3, {{"Transport", "RTP/AVP/TCP"}}),
            "SETUP rtsp://h/a/track1 RTSP/1.0\r\nCSeq: 3\r\nUser-Agent: Xueliang\r\n"
            "Transport: RTP/AVP/TCP\r\n\r\n");
}

TEST(SessionHeader, IdAndTimeout) {
  auto s = parseSessionHeader("6E21D5C4;timeout=30");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->id, "6E21D5C4");
  EXPECT_EQ(s->timeoutSec, 30);
  auto d = parseSessionHeader(" abc ");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->id, "abc");
  EXPECT_EQ(d->timeoutSec, 60);
  EXPECT_FALSE(parseSessionHeader(""));
  EXPECT_FALSE(parseSessionHeader(";timeout=5"));
  EXPECT_FALSE(parseSessionHeader("a;timeout=0"));
  EXPECT_FALSE(parseSessionHeader("a;timeout=x"));
}

TEST(Control, Resolution) {
  EXPECT_EQ(resolveControl("rtsp://h:554/cam/", "track1"), "rtsp://h:554/cam/track1");
  EXPECT_EQ(resolveControl("rtsp://h:554/cam", "track1"), "rtsp://h:554/cam/track1");
  EXPECT_EQ(resolveControl("rtsp://h:554/cam", "*"), "rtsp://h:554/cam");
  EXPECT_EQ(resolveControl("rtsp://h:554/cam", ""), "rtsp://h:554/cam");
  EXPECT_EQ(resolveControl("rtsp://h:554/cam", "rtsp://other/x"), "rtsp://other/x");
  EXPECT_EQ(resolveControl("rtsp://h:554/cam/a", "/live/t0"), "rtsp://h:554/live/t0");
}

TEST(TransportReply, TcpAndUdp) {
  auto t = parseTransportReply("RTP/AVP/TCP;unicast;interleaved=2-3;ssrc=1F2E3D4C;mode=\"PLAY\"");
  ASSERT_TRUE(t) << t.message();
  EXPECT_TRUE(t->tcp);
  EXPECT_EQ(t->interleaved[0], 2);
  EXPECT_EQ(t->interleaved[1], 3);
  EXPECT_TRUE(t->hasSsrc);
  EXPECT_EQ(t->ssrc, 0x1F2E3D4Cu);
  auto u = parseTransportReply("RTP/AVP;unicast;client_port=5000-5001;server_port=6970");
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->tcp);
  EXPECT_EQ(u->serverPort[0], 6970);
  EXPECT_EQ(u->serverPort[1], 6971);
  EXPECT_FALSE(parseTransportReply("RTP/SAVP;unicast"));
  EXPECT_FALSE(parseTransportReply("RTP/AVP/TCP;interleaved=x-1"));
  EXPECT_FALSE(parseTransportReply("RTP/AVP/TCP;interleaved=0-300"));
  EXPECT_FALSE(parseTransportReply("RTP/AVP;server_port=70000"));
  EXPECT_FALSE(parseTransportReply("RTP/AVP;ssrc=zz"));
}

}  // namespace
}  // namespace xl::rtsp
