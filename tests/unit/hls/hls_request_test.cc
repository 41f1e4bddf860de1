#include "hls/hls_request.h"

#include <gtest/gtest.h>

namespace xl::hls {
namespace {

TEST(HlsRequest, Playlist) {
  auto r = parseHlsRequest("/live/demo/index.m3u8", "token=a&container=ts");
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->kind, HlsRequest::Kind::kPlaylist);
  EXPECT_EQ(r->stream, "live/demo");
  EXPECT_EQ(r->container, Container::kTs);
  EXPECT_FALSE(r->hlsMsn);
  EXPECT_FALSE(r->skip);
}

TEST(HlsRequest, SegmentsAndInit) {
  auto r = parseHlsRequest("/live/cam%201/seg42.ts", "");
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->kind, HlsRequest::Kind::kSegment);
  EXPECT_EQ(r->stream, "live/cam 1");
  EXPECT_EQ(r->msn, 42u);
  EXPECT_EQ(r->container, Container::kTs);
  r = parseHlsRequest("/a/b/seg7.m4s", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->container, Container::kFmp4);
  r = parseHlsRequest("/a/b/init.mp4", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, HlsRequest::Kind::kInit);
}

TEST(HlsRequest, DeliveryDirectives) {
  auto r = parseHlsRequest("/a/b/index.m3u8", "_HLS_msn=12&_HLS_part=3&_HLS_skip=YES");
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(*r->hlsMsn, 12u);
  EXPECT_EQ(*r->hlsPart, 3u);
  EXPECT_TRUE(r->skip);
}

TEST(HlsRequest, Rejects) {
  for (auto [path, query] : std::vector<std::pair<std::string, std::string>>{
           {"/demo/index.m3u8", ""},
           {"/a/b/c/index.m3u8", ""},
           {"/a/../index.m3u8", ""},
           {"/a/b/seg.ts", ""},
           {"/a/b/seg-1.ts", ""},
           {"/a/b/seg99999999999999999999999.ts", ""},
           {"/a/b/segx1.ts", ""},
           {"/a/b/seg1.ts", "container=fmp4"},
           {"/a/b/index.m3u8", "container=flv"},
           {"/a/b/index.m3u8", "_HLS_part=1"},
           {"/a/b/index.m3u8", "_HLS_msn=x"},
           {"/a/b/index.m3u8", "_HLS_msn=-1"},
           {"/a/b/index.m3u8", "_HLS_skip=NO"},
           {"/a/b/index.m3u8", "a=%zz"},
           {"/a/b/seg1.ts", "_HLS_msn=1"},
       }) {
    EXPECT_FALSE(parseHlsRequest(path, query)) << path << "?" << query;
  }
}

TEST(HlsRequest, PartsAndSessions) {
  auto r = parseHlsRequest("/live/demo/seg12.3.m4s", "hls_session=Ab-9_z");
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->kind, HlsRequest::Kind::kPart);
  EXPECT_EQ(r->msn, 12u);
  EXPECT_EQ(r->part, 3u);
  EXPECT_EQ(r->container, Container::kFmp4);
  EXPECT_EQ(r->session, "Ab-9_z");
  r = parseHlsRequest("/live/demo/seg12.ts", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, HlsRequest::Kind::kSegment);
  EXPECT_TRUE(r->session.empty());
  r = parseHlsRequest("/live/demo/index.m3u8", "_HLS_msn=4&_HLS_part=2&_HLS_skip=YES");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r->hlsMsn, 4u);
  EXPECT_EQ(*r->hlsPart, 2u);
  EXPECT_TRUE(r->skip);
  for (const char* bad : {"seg1..ts", "seg1.x.ts", "seg1.2.3.ts", "seg.2.ts", "seg1.999999.ts"})
    EXPECT_FALSE(parseHlsRequest(std::string("/a/b/") + bad, "")) << bad;
  for (const char* q : {"hls_session=", "hls_session=a%20b", "hls_session=a%26b",
                        "hls_session=123456789012345678901234567890123"})
    EXPECT_FALSE(parseHlsRequest("/a/b/index.m3u8", q)) << q;
}

TEST(HlsRequest, RouteMatch) {
  EXPECT_TRUE(isHlsPath("/live/demo/seg3.1.ts"));
  EXPECT_TRUE(isHlsPath("/live/demo/index.m3u8"));
  EXPECT_TRUE(isHlsPath("/live/demo/seg3.ts"));
  EXPECT_TRUE(isHlsPath("/live/demo/seg3.m4s"));
  EXPECT_TRUE(isHlsPath("/live/demo/init.mp4"));
  EXPECT_FALSE(isHlsPath("/live/demo.flv"));
  EXPECT_FALSE(isHlsPath("/api/v1/streams"));
}

}  // namespace
}  // namespace xl::hls
