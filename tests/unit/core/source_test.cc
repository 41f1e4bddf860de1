#include <gtest/gtest.h>

#include "xueliang/source.h"

namespace xl {
namespace {

TEST(Backoff, DoublesFromMinToMax) {
  // With random01 = 1 the delay is the nominal one.
  EXPECT_EQ(backoffDelayMs(0, 1000, 30000, 1.0), 1000u);
  EXPECT_EQ(backoffDelayMs(1, 1000, 30000, 1.0), 2000u);
  EXPECT_EQ(backoffDelayMs(4, 1000, 30000, 1.0), 16000u);
  EXPECT_EQ(backoffDelayMs(5, 1000, 30000, 1.0), 30000u);
  EXPECT_EQ(backoffDelayMs(1000, 1000, 30000, 1.0), 30000u);  // no overflow
}

TEST(Backoff, JitterStaysInTheUpperHalf) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    uint64_t nominal = backoffDelayMs(attempt, 1000, 30000, 1.0);
    EXPECT_EQ(backoffDelayMs(attempt, 1000, 30000, 0.0), nominal / 2);
    for (double r : {0.1, 0.5, 0.9}) {
      uint64_t d = backoffDelayMs(attempt, 1000, 30000, r);
      EXPECT_GE(d, nominal / 2);
      EXPECT_LE(d, nominal);
    }
  }
  // Different random draws give different delays: sources that failed together spread out.
  EXPECT_NE(backoffDelayMs(3, 1000, 30000, 0.2), backoffDelayMs(3, 1000, 30000, 0.7));
}

TEST(Backoff, MaxBelowMinIsMin) {
  EXPECT_EQ(backoffDelayMs(3, 5000, 100, 1.0), 5000u);
}

TEST(SourceUrl, SchemeAndRedaction) {
  EXPECT_EQ(urlScheme("RTSP://h/a"), "rtsp");
  EXPECT_EQ(urlScheme("file:///x.mp4"), "file");
  EXPECT_EQ(urlScheme("h/a"), "");
  EXPECT_EQ(urlScheme("://h"), "");
  EXPECT_EQ(redactUrl("rtsp://admin:secret@10.0.0.2:554/cam"), "rtsp://admin:***@10.0.0.2:554/cam");
  EXPECT_EQ(redactUrl("rtsp://admin@10.0.0.2/cam"), "rtsp://admin@10.0.0.2/cam");
  EXPECT_EQ(redactUrl("rtsp://10.0.0.2/cam?u=a@b"), "rtsp://10.0.0.2/cam?u=a@b");
  EXPECT_EQ(redactUrl("rtsp://a:b@c@10.0.0.2/x"), "rtsp://a:***@10.0.0.2/x");
}

TEST(SourceSettings, Validation) {
  SourceSettings s;
  s.name = "town1/gate";
  s.url = "rtsp://10.0.0.2/cam";
  EXPECT_TRUE(validateSourceSettings(s));
  auto bad = [&](auto edit) {
    SourceSettings c = s;
    edit(c);
    return !validateSourceSettings(c);
  };
  EXPECT_TRUE(bad([](SourceSettings& c) { c.name = "gate"; }));
  EXPECT_TRUE(bad([](SourceSettings& c) { c.name = "/gate"; }));
  EXPECT_TRUE(bad([](SourceSettings& c) { c.name = "town1/"; }));
  EXPECT_TRUE(bad([](SourceSettings& c) { c.url = "10.0.0.2/cam"; }));
  EXPECT_TRUE(bad([](SourceSettings& c) { c.transport = "sctp"; }));
  EXPECT_TRUE(bad([](SourceSettings& c) { c.retryMaxMs = 500; }));
  EXPECT_TRUE(bad([](SourceSettings& c) { c.retryMinMs = 10; }));
  EXPECT_TRUE(bad([](SourceSettings& c) { c.noMediaTimeoutMs = 10; }));
  EXPECT_TRUE(bad([](SourceSettings& c) { c.idleTimeoutMs = 0; }));
}

}  // namespace
}  // namespace xl
