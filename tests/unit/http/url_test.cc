// Percent-decoding, query strings and stream paths.
#include "http/url.h"

#include <gtest/gtest.h>

namespace xl::http {
namespace {

TEST(Url, PercentDecode) {
  EXPECT_EQ(*percentDecode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(*percentDecode("a+b"), "a+b");
  EXPECT_EQ(*percentDecode("a+b", true), "a b");
  EXPECT_FALSE(percentDecode("%"));
  EXPECT_FALSE(percentDecode("%4"));
  EXPECT_FALSE(percentDecode("%zz"));
  EXPECT_FALSE(percentDecode("a%00b"));
  EXPECT_EQ(percentEncode("a b/c~"), "a%20b%2Fc~");
  EXPECT_EQ(percentEncode("a b/c", true), "a%20b/c");
}

TEST(Url, PathSegments) {
  auto segs = decodePathSegments("/live//cam%201/");
  ASSERT_TRUE(segs);
  EXPECT_EQ(*segs, (std::vector<std::string>{"live", "cam 1"}));
  EXPECT_EQ(*decodePath("/"), "/");
  EXPECT_EQ(*decodePath("/a/%62"), "/a/b");
  EXPECT_FALSE(decodePath("/a/../etc/passwd"));
  EXPECT_FALSE(decodePath("/a/%2e%2E/x"));
  EXPECT_FALSE(decodePath("/a/./x"));
  EXPECT_FALSE(decodePath("/a%2fb"));
  EXPECT_FALSE(decodePath("/a%00"));
  EXPECT_FALSE(decodePath("relative"));
  EXPECT_TRUE(decodePath("/a/..b"));  // only whole dot segments are special
}

TEST(Url, Query) {
  auto q = parseQuery("token=abc&x=1&&flag&name=a%20b+c&x=2");
  ASSERT_TRUE(q);
  ASSERT_EQ(q->size(), 5u);
  EXPECT_EQ(queryValue(*q, "token"), "abc");
  EXPECT_EQ(queryValue(*q, "x"), "1");
  EXPECT_EQ(queryValue(*q, "name"), "a b c");
  EXPECT_TRUE(hasQueryKey(*q, "flag"));
  EXPECT_EQ(queryValue(*q, "flag"), "");
  EXPECT_FALSE(hasQueryKey(*q, "missing"));
  EXPECT_TRUE(parseQuery("")->empty());
  EXPECT_FALSE(parseQuery("a=%g1"));
}

TEST(Url, StreamPath) {
  auto p = parseStreamPath("/live/cam1.flv");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->app, "live");
  EXPECT_EQ(p->stream, "cam1");
  EXPECT_EQ(p->extension, "flv");
  EXPECT_EQ(p->name(), "live/cam1");
  auto noExt = parseStreamPath("/town1/gate.v2.flv");
  ASSERT_TRUE(noExt);
  EXPECT_EQ(noExt->stream, "gate.v2");
  EXPECT_EQ(parseStreamPath("/live/demo")->extension, "");
  EXPECT_FALSE(parseStreamPath("/live"));
  EXPECT_FALSE(parseStreamPath("/a/b/c.flv"));
  EXPECT_FALSE(parseStreamPath("/live/..flv/.."));
  EXPECT_FALSE(parseStreamPath("/live/.flv"));
  EXPECT_FALSE(parseStreamPath("/.hidden/x.flv"));
}

}  // namespace
}  // namespace xl::http
