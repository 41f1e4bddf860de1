// HLS segmenting and serving: the work per stream per frame (cutting parts and segments,
// rendering the playlist snapshot) and per playlist request (the viewer's session id appended).
#include <benchmark/benchmark.h>

#include "bench_util.h"
#include "hls/segmenter.h"
#include "xueliang/codec.h"

namespace xl::bench {
namespace {

MediaInfoPtr h264Info() {
  auto info = std::make_shared<MediaInfo>(*mediaInfo());
  ParameterSets ps;  // libx264 High 1280x720 SPS/PPS
  ps.sps.push_back({0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00,
                    0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x83, 0x19, 0x60});
  ps.pps.push_back({0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0});
  info->video->config = *h264::buildAvcC(ps);
  return info;
}

// One second of a 25 fps, 2 s GOP camera (10 KB frames) with AAC, through the segmenter:
// LL-HLS parts, segments and a playlist snapshot per part.
void segmentSecond(benchmark::State& state, hls::Container c) {
  hls::SegmenterConfig cfg;
  cfg.container = c;
  int64_t wall = 1700000000000;
  hls::Segmenter seg(cfg, [&wall] { return wall; });
  seg.setMediaInfo(h264Info());
  std::vector<Frame> video, audio;
  for (int i = 0; i < 25; ++i) video.push_back(videoFrame(i * 40, false, 10 * 1024));
  for (int i = 0; i < 44; ++i) audio.push_back(audioFrame(i * 23, 400));
  int64_t base = 0;
  size_t snaps = 0;
  for (auto _ : state) {
    size_t a = 0;
    for (int i = 0; i < 25; ++i) {
      Frame v = video[i];
      v.dts = v.pts = base + i * 40;
      v.flags.key = (base + i * 40) % 2000 == 0;
      wall = 1700000000000 + v.dts;
      snaps += seg.onFrame(v) != nullptr;
      for (; a < audio.size() && audio[a].dts <= i * 40; ++a) {
        Frame f = audio[a];
        f.dts = f.pts = base + audio[a].dts;
        snaps += seg.onFrame(f) != nullptr;
      }
    }
    base += 1000;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (25 * 10 * 1024 + 44 * 400)));
  state.counters["snapshots/s_media"] =
      static_cast<double>(snaps) / static_cast<double>(state.iterations());
}

void BM_HlsSegmentSecondTs(benchmark::State& state) {
  segmentSecond(state, hls::Container::kTs);
}
void BM_HlsSegmentSecondFmp4(benchmark::State& state) {
  segmentSecond(state, hls::Container::kFmp4);
}

// The per-request cost of a playlist: the shared rendering with the viewer's session id.
void BM_HlsPlaylistWithSession(benchmark::State& state) {
  hls::SegmenterConfig cfg;
  int64_t wall = 1700000000000;
  hls::Segmenter seg(cfg, [&wall] { return wall; });
  seg.setMediaInfo(h264Info());
  hls::SnapshotPtr last;
  for (int64_t t = 0; t < 15000; t += 40) {
    wall = 1700000000000 + t;
    if (auto s = seg.onFrame(videoFrame(t, t % 2000 == 0, 1000))) last = s;
  }
  if (!last) return state.SkipWithError("no snapshot");
  size_t bytes = 0;
  for (auto _ : state) {
    std::string p = last->playlist.withQuery("hls_session=0123456789abcdef");
    bytes = p.size();
    benchmark::DoNotOptimize(p.data());
  }
  state.counters["playlist_bytes"] = static_cast<double>(bytes);
}

BENCHMARK(BM_HlsSegmentSecondTs);
BENCHMARK(BM_HlsSegmentSecondFmp4);
BENCHMARK(BM_HlsPlaylistWithSession);

}  // namespace
}  // namespace xl::bench
