#include "xueliang/stream_pattern.h"

#include <gtest/gtest.h>

namespace xl {
namespace {

TEST(StreamPattern, StarMatchesEveryStream) {
  EXPECT_TRUE(streamPatternMatches("*", "a/b"));
  EXPECT_TRUE(streamPatternMatches("*", "town1/gate"));
}

TEST(StreamPattern, AppPatternMatchesItsStreamsOnly) {
  EXPECT_TRUE(streamPatternMatches("town1/*", "town1/gate"));
  EXPECT_FALSE(streamPatternMatches("town1/*", "town10/gate"));  // an app merely starting alike
  EXPECT_FALSE(streamPatternMatches("live/*", "liveX/x"));
  EXPECT_FALSE(streamPatternMatches("town1/*", "town1/"));  // a stream name is required
  EXPECT_FALSE(streamPatternMatches("town1/*", "town1"));
}

TEST(StreamPattern, OtherPatternsMatchExactly) {
  EXPECT_TRUE(streamPatternMatches("live/x", "live/x"));
  EXPECT_FALSE(streamPatternMatches("live/x", "live/xy"));
  EXPECT_FALSE(streamPatternMatches("live/x", "live/"));
  EXPECT_FALSE(streamPatternMatches("/*", "a/b"));  // "/*" is no app pattern: exact only
  EXPECT_TRUE(streamPatternMatches("/*", "/*"));
}

}  // namespace
}  // namespace xl
