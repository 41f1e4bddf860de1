// The stream patterns every plugin's rules accept ("*", "app/*", an exact name), checked the same
// way against each plugin's own matcher.
#pragma once

#include <gtest/gtest.h>

namespace xl::test {

// `matches(pattern, stream)` is the plugin's matcher.
template <typename Match>
void expectCommonStreamPatterns(Match matches) {
  EXPECT_TRUE(matches("*", "a/b"));
  EXPECT_TRUE(matches("live/*", "live/x"));
  EXPECT_FALSE(matches("live/*", "liveX/x"));  // an app whose name merely starts alike
  EXPECT_TRUE(matches("live/x", "live/x"));
  EXPECT_FALSE(matches("live/x", "live/xy"));
}

}  // namespace xl::test
