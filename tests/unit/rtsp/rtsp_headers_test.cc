#include "rtsp/rtsp_headers.h"

#include <gtest/gtest.h>

namespace xl::rtsp {
namespace {

TEST(RtspTarget, StreamTrackAndQuery) {
  auto t = parseTarget("rtsp://127.0.0.1:8554/live/cam1");
  ASSERT_TRUE(t) << t.message();
  EXPECT_EQ(t->name(), "live/cam1");
  EXPECT_EQ(t->track, -1);
  EXPECT_EQ(t->base, "rtsp://127.0.0.1:8554/live/cam1");

  t = parseTarget("rtsp://h/live/cam1/trackID=1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->name(), "live/cam1");
  EXPECT_EQ(t->track, 1);
  EXPECT_EQ(t->base, "rtsp://h/live/cam1");

  t = parseTarget("rtsp://h/live/cam1?token=abc&x=1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->query, "token=abc&x=1");
  EXPECT_EQ(t->track, -1);

  t = parseTarget("rtsp://h/live/cam1?token=abc/trackID=0");  // control appended after a query
  ASSERT_TRUE(t);
  EXPECT_EQ(t->query, "token=abc");
  EXPECT_EQ(t->track, 0);

  t = parseTarget("RTSP://h/live/cam%201/");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->stream, "cam 1");
  EXPECT_EQ(t->base, "RTSP://h/live/cam%201");

  t = parseTarget("/live/x");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->name(), "live/x");
}

TEST(RtspTarget, Rejects) {
  for (const char* u : {"rtsp://h", "rtsp://h/", "rtsp://h/one", "rtsp://h/a/b/c", "*",
                        "rtsp://h/a/..", "rtsp://h/a/b%2fc", "rtsp://h/a/b/trackID=99",
                        "rtsp://h/a/b?x/trackID=z", "http://h/a/b"}) {
    EXPECT_FALSE(parseTarget(u)) << u;
  }
}

TEST(Transport, ParsesTheCommonForms) {
  auto t = parseTransport("RTP/AVP/TCP;unicast;interleaved=2-3");
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 1u);
  EXPECT_TRUE((*t)[0].tcp);
  EXPECT_EQ((*t)[0].interleaved[0], 2);
  EXPECT_EQ((*t)[0].interleaved[1], 3);

  t = parseTransport("RTP/AVP;unicast;client_port=5000-5001;mode=\"play\"");
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 1u);
  EXPECT_FALSE((*t)[0].tcp);
  EXPECT_EQ((*t)[0].clientPort[0], 5000);
  EXPECT_EQ((*t)[0].clientPort[1], 5001);
  EXPECT_EQ((*t)[0].mode, "PLAY");

  // A preference list (GStreamer sends several); unknown profiles are skipped.
  t = parseTransport(
      "RTP/SAVP;unicast;client_port=1-2,RTP/AVP/UDP;multicast,RTP/AVP;unicast;client_port=7000");
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 2u);
  EXPECT_TRUE((*t)[0].multicast);
  EXPECT_EQ((*t)[1].clientPort[0], 7000);
  EXPECT_EQ((*t)[1].clientPort[1], 7001);
}

TEST(Transport, RejectsBadRanges) {
  EXPECT_FALSE(parseTransport("RTP/AVP/TCP;interleaved=a-b"));
  EXPECT_FALSE(parseTransport("RTP/AVP;client_port=70000-70001"));
  EXPECT_FALSE(parseTransport("RTP/AVP/TCP;interleaved=255"));  // 256 is past the channel range
  EXPECT_FALSE(parseTransport(std::string(5000, 'x')));
}

TEST(Transport, ParsesMulticastParameters) {
  // ffmpeg asks "RTP/AVP/UDP;multicast"; GStreamer may name a group, ports and ttl.
  auto t = parseTransport("RTP/AVP;multicast;destination=239.1.2.3;port=5002-5003;ttl=7");
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 1u);
  EXPECT_TRUE((*t)[0].multicast);
  EXPECT_EQ((*t)[0].destination, "239.1.2.3");
  EXPECT_EQ((*t)[0].port[0], 5002);
  EXPECT_EQ((*t)[0].port[1], 5003);
  EXPECT_EQ((*t)[0].ttl, 7);
  t = parseTransport("RTP/AVP/UDP;multicast");
  ASSERT_TRUE(t);
  EXPECT_TRUE((*t)[0].multicast);
  EXPECT_EQ((*t)[0].ttl, -1);
  EXPECT_EQ((*t)[0].port[0], -1);
  EXPECT_FALSE(parseTransport("RTP/AVP;multicast;ttl=256"));
  EXPECT_FALSE(parseTransport("RTP/AVP;multicast;ttl=x"));
  EXPECT_FALSE(parseTransport("RTP/AVP;multicast;port=5000-99999"));
  EXPECT_FALSE(parseTransport("RTP/AVP;multicast;destination=" + std::string(300, 'a')));
}

TEST(Transport, FormatsTheMulticastAnswer) {
  std::string s = formatMulticastTransport("239.255.42.7", 9004, 16);
  EXPECT_EQ(s, "RTP/AVP;multicast;destination=239.255.42.7;port=9004-9005;ttl=16");
  // The answer parses back to what it says (a client reads it with the same grammar).
  auto t = parseTransport(s);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 1u);
  EXPECT_EQ((*t)[0].destination, "239.255.42.7");
  EXPECT_EQ((*t)[0].port[0], 9004);
  EXPECT_EQ((*t)[0].port[1], 9005);
  EXPECT_EQ((*t)[0].ttl, 16);
}

TEST(MulticastRange, ParsesPrefixesAndSingleAddresses) {
  auto r = parseMulticastRange("239.255.42.0/24");
  ASSERT_TRUE(r);
  EXPECT_EQ(ipv4String(r->first), "239.255.42.0");
  EXPECT_EQ(r->count, 256u);
  r = parseMulticastRange("239.255.42.77/30");  // host bits are masked
  ASSERT_TRUE(r);
  EXPECT_EQ(ipv4String(r->first), "239.255.42.76");
  EXPECT_EQ(r->count, 4u);
  r = parseMulticastRange("232.1.2.3");
  ASSERT_TRUE(r);
  EXPECT_EQ(ipv4String(r->first), "232.1.2.3");
  EXPECT_EQ(r->count, 1u);
  r = parseMulticastRange("239.0.0.0/8");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->count, 65536u);  // capped
}

TEST(MulticastRange, Rejects) {
  for (const char* s : {"", "10.0.0.0/24", "239.1.1.1/33", "239.1.1.1/", "239.1.1/24", "224.0.0.1",
                        "224.0.0.0/4", "ff02::1", "239.1.1.1/x"}) {
    EXPECT_FALSE(parseMulticastRange(s)) << s;
  }
}

TEST(SessionHeader, Id) {
  EXPECT_EQ(sessionId("12AB;timeout=60"), "12AB");
  EXPECT_EQ(sessionId(" 12AB "), "12AB");
}

}  // namespace
}  // namespace xl::rtsp
