// HLS VOD of recordings: the fragment index of a fragmented MP4, the playlist of a range, file ids
// in media URLs and Range headers.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "mp4_index.h"
#include "playback_playlist.h"

namespace xl::recorder {
namespace {

// Made by ffmpeg like the recorder's files (frag_keyframe+empty_moov+default_base_moof, fragments
// of at most 1 s): 2.5 s of 10 fps H.264 (keyframe every 10 frames) and AAC.
std::vector<uint8_t> seed() {
  std::ifstream in(XL_SOURCE_DIR "/tests/data/recorder/fragmented.mp4", std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(Mp4Index, FindsInitAndFragments) {
  auto bytes = seed();
  ASSERT_GT(bytes.size(), 1000u);
  auto idx = indexMp4(bytes.data(), bytes.size());
  ASSERT_TRUE(idx) << idx.message();
  EXPECT_EQ(idx->initSize, 1254u);  // ftyp (28) + moov (1226)
  EXPECT_TRUE(idx->hasVideo);
  ASSERT_EQ(idx->fragments.size(), 4u);
  uint64_t next = idx->initSize;
  int64_t total = 0;
  for (const Mp4Fragment& f : idx->fragments) {
    EXPECT_EQ(f.offset, next);  // contiguous moof+mdat pairs
    next = f.offset + f.size;
    EXPECT_EQ(f.startMs, total);
    total += f.durationMs;
  }
  EXPECT_EQ(next, 12452u);  // up to the trailing mfra
  // ffprobe: 25 frames of 100 ms, the first one 228 ms long (the encoder's start delay).
  EXPECT_EQ(total, 2628);
  EXPECT_TRUE(idx->fragments[0].keyframe);
  EXPECT_EQ(idx->fragments[0].durationMs, 1028);  // frames 0-8: cut by frag_duration
  EXPECT_FALSE(idx->fragments[1].keyframe);       // frame 9, then the GOP at 1.128 s
  EXPECT_EQ(idx->fragments[2].startMs, 1128);
  int keys = 0;
  for (const Mp4Fragment& f : idx->fragments) keys += f.keyframe;
  EXPECT_EQ(keys, 3);  // frames 0, 10, 20 start GOPs; one fragment is cut by frag_duration
}

TEST(Mp4Index, TruncatedFileKeepsCompleteFragments) {
  auto bytes = seed();
  // Cut inside the third fragment's mdat: two complete fragments remain.
  auto idx = indexMp4(bytes.data(), 6479 + 100);
  ASSERT_TRUE(idx) << idx.message();
  EXPECT_EQ(idx->fragments.size(), 2u);
}

TEST(Mp4Index, RejectsMalformed) {
  auto bytes = seed();
  EXPECT_FALSE(indexMp4(bytes.data(), 1254));  // no fragment
  EXPECT_FALSE(indexMp4(bytes.data(), 0));
  std::vector<uint8_t> bad = bytes;
  bad[28 + 3] = 7;  // moov size smaller than its header
  EXPECT_FALSE(indexMp4(bad.data(), bad.size()));
  bad = bytes;
  std::fill(bad.begin() + 36, bad.begin() + 1254, 0xff);  // moov's children all garbage
  EXPECT_FALSE(indexMp4(bad.data(), bad.size()));
  const uint8_t junk[] = "not an mp4 file at all, really not";
  EXPECT_FALSE(indexMp4(junk, sizeof junk));
  EXPECT_FALSE(indexMp4File("/nonexistent/x.mp4"));
}

std::shared_ptr<const Mp4Index> indexOfSeed() {
  auto bytes = seed();
  auto idx = indexMp4(bytes.data(), bytes.size());
  return idx ? std::make_shared<const Mp4Index>(*idx) : nullptr;
}

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(Playlist, SpansFilesWithDiscontinuity) {
  auto idx = indexOfSeed();
  ASSERT_TRUE(idx);
  const int64_t t0 = 1796011506000;
  std::vector<PlaybackFile> files = {{"20261130-040506", t0, idx},
                                     {"20261130-040508", t0 + 2700, idx}};
  auto pl = buildPlaylist(files, t0, t0 + 10000);
  ASSERT_TRUE(pl);
  EXPECT_TRUE(pl->starts_with("#EXTM3U\n"));
  EXPECT_NE(pl->find("#EXT-X-PLAYLIST-TYPE:VOD\n"), std::string::npos);
  EXPECT_TRUE(pl->ends_with("#EXT-X-ENDLIST\n"));
  EXPECT_EQ(count(*pl, "#EXT-X-DISCONTINUITY\n"), 1);
  EXPECT_EQ(count(*pl, "#EXT-X-MAP:URI=\"playback/20261130-040506.mp4\",BYTERANGE=\"1254@0\""), 1);
  EXPECT_EQ(count(*pl, "#EXT-X-MAP:URI=\"playback/20261130-040508.mp4\""), 1);
  // Three keyframe-led segments per file; the non-key fragment joins the one before it.
  EXPECT_EQ(count(*pl, "#EXTINF:"), 6);
  // The first GOP: two moof+mdat pairs, 4423 + 550 bytes.
  EXPECT_EQ(count(*pl, "#EXTINF:1.128,\n#EXT-X-BYTERANGE:4973@1254\n"), 2);
  EXPECT_NE(pl->find("#EXT-X-TARGETDURATION:"), std::string::npos);
  EXPECT_NE(pl->find("#EXT-X-PROGRAM-DATE-TIME:2026-11-30T04:05:06.000Z"), std::string::npos);

  // Only the second file's segments from 1 s in.
  auto part = buildPlaylist(files, t0 + 2700 + 1500, t0 + 10000);
  ASSERT_TRUE(part);
  EXPECT_EQ(count(*part, "#EXT-X-DISCONTINUITY"), 0);
  EXPECT_EQ(count(*part, "#EXTINF:"), 2);
  EXPECT_EQ(count(*part, "20261130-040506"), 0);

  EXPECT_FALSE(buildPlaylist(files, t0 + 20000, t0 + 30000));  // nothing recorded there
  EXPECT_FALSE(buildPlaylist({}, t0, t0 + 1000));
}

TEST(FileId, RoundTripsAndRejects) {
  EXPECT_EQ(fileId("/rec/live/cam/2026/11/30/040506.mp4"), "20261130-040506");
  EXPECT_EQ(fileId("/rec/live/cam/2026/11/30/040506-2.mp4"), "20261130-040506-2");
  EXPECT_EQ(fileId("/rec/live/cam/events/x.mp4"), "");
  EXPECT_EQ(fileId("040506.mp4"), "");
  EXPECT_EQ(pathForId("/rec", "live/cam", "20261130-040506-2"),
            "/rec/live/cam/2026/11/30/040506-2.mp4");
  for (const char* bad :
       {"", "20261130-04050", "2026113-0405061", "20261130_040506", "20261130-040506-",
        "20261130-040506-12345", "../../../etc/passwd", "20261130-040506/..", "2026113a-040506"})
    EXPECT_FALSE(pathForId("/rec", "live/cam", bad)) << bad;
}

TEST(ByteRange, Parses) {
  auto r = parseByteRange("bytes=0-99", 1000);
  EXPECT_EQ(r.kind, ByteRange::kRange);
  EXPECT_EQ(r.offset, 0u);
  EXPECT_EQ(r.length, 100u);
  r = parseByteRange("bytes=900-", 1000);
  EXPECT_EQ(r.offset, 900u);
  EXPECT_EQ(r.length, 100u);
  r = parseByteRange("bytes=990-5000", 1000);
  EXPECT_EQ(r.length, 10u);
  r = parseByteRange("bytes=-10", 1000);
  EXPECT_EQ(r.offset, 990u);
  EXPECT_EQ(r.length, 10u);
  EXPECT_EQ(parseByteRange("bytes=1000-", 1000).kind, ByteRange::kUnsatisfiable);
  EXPECT_EQ(parseByteRange("bytes=-0", 1000).kind, ByteRange::kUnsatisfiable);
  for (const char* ignored :
       {"", "items=0-1", "bytes=5-1", "bytes=0-1,5-6", "bytes=x-1", "bytes=-", "bytes=1-2x"})
    EXPECT_EQ(parseByteRange(ignored, 1000).kind, ByteRange::kNone) << ignored;
}

}  // namespace
}  // namespace xl::recorder
