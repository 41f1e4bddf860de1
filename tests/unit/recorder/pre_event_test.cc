// The pre-event buffer: bounded by whole GOPs of time and by a frame count.
#include <gtest/gtest.h>

#include <vector>

#include "pre_event_buffer.h"

namespace xl::recorder {
namespace {

Frame video(int64_t dts, bool key) {
  Frame f;
  f.kind = MediaKind::kVideo;
  f.codec = Codec::kH264;
  f.dts = f.pts = dts;
  f.flags.key = key;
  f.data = BufferRef::copyOf("x");
  return f;
}

// 25 fps, a keyframe every 2 s, for `seconds`.
void feed(PreEventBuffer& b, int seconds) {
  for (int64_t t = 0; t < seconds * 1000; t += 40) {
    Frame f = video(t, t % 2000 == 0);
    b.push(f, f.flags.key);
  }
}

std::vector<int64_t> replayed(const PreEventBuffer& b, int64_t preMs) {
  std::vector<int64_t> out;
  b.replay(preMs, [&](const Frame& f) { out.push_back(f.dts); });
  return out;
}

TEST(PreEventBuffer, KeepsWholeGopsCoveringTheWindow) {
  PreEventBuffer b(5000, 10000);
  feed(b, 20);  // last frame at 19960
  auto all = replayed(b, 5000);
  ASSERT_FALSE(all.empty());
  // Starts on the latest keyframe at or before 19960 - 5000 = 14960: 14000.
  EXPECT_EQ(all.front(), 14000);
  EXPECT_EQ(all.back(), 19960);
  // Nothing older than one GOP beyond the window is kept.
  EXPECT_LE(b.size(), size_t((19960 - 12000) / 40 + 1));
  // A shorter pre-roll starts later, still on a keyframe.
  EXPECT_EQ(replayed(b, 1000).front(), 18000);
}

TEST(PreEventBuffer, StartsOnlyOnAKeyframe) {
  PreEventBuffer b(5000, 10000);
  Frame f = video(0, false);
  b.push(f, false);
  EXPECT_EQ(b.size(), 0u);
  f = video(40, true);
  b.push(f, true);
  EXPECT_EQ(replayed(b, 5000), std::vector<int64_t>{40});
}

TEST(PreEventBuffer, FrameCapBoundsAStreamWithoutKeyframes) {
  PreEventBuffer b(60000, 100);
  Frame k = video(0, true);
  b.push(k, true);
  for (int i = 1; i < 1000; ++i) {
    Frame f = video(i * 40, false);
    b.push(f, false);
    EXPECT_LE(b.size(), 101u);
  }
}

}  // namespace
}  // namespace xl::recorder
