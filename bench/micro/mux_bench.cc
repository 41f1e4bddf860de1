// Muxing one frame: the work a stream does once per frame per output format.
#include <benchmark/benchmark.h>

#include "bench_util.h"
#include "hls/fmp4_writer.h"
#include "rtmp/rtmp_muxer.h"
#include "rtsp/rtsp_muxer.h"
#include "xueliang/codec.h"

namespace xl::bench {
namespace {

template <typename M>
void muxFrame(benchmark::State& state, M& muxer, const Frame& f) {
  MediaInfoPtr info = mediaInfo();
  int64_t dts = f.dts;
  Frame frame = f;
  size_t out = 0;
  for (auto _ : state) {
    frame.dts = frame.pts = dts += 40;
    BufferRef b = muxer.mux(frame, *info);
    out = b.size();
    benchmark::DoNotOptimize(b.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.data.size()));
  state.counters["out_bytes"] = static_cast<double>(out);
}

void BM_RtmpMuxVideo10K(benchmark::State& state) {
  rtmp::RtmpMuxer m(4096);
  muxFrame(state, m, videoFrame(0, false, 10 * 1024));
}
void BM_RtmpMuxAudio400(benchmark::State& state) {
  rtmp::RtmpMuxer m(4096);
  muxFrame(state, m, audioFrame(0, 400));
}
void BM_FlvMuxVideo10K(benchmark::State& state) {
  rtmp::FlvMuxer m;
  muxFrame(state, m, videoFrame(0, false, 10 * 1024));
}
void BM_FlvMuxAudio400(benchmark::State& state) {
  rtmp::FlvMuxer m;
  muxFrame(state, m, audioFrame(0, 400));
}
// RTP packetization (FU-A for a 10 KB frame) plus interleaved framing, shared by RTSP viewers.
void BM_RtspMuxVideo10K(benchmark::State& state) {
  rtsp::RtspMuxer m;
  muxFrame(state, m, videoFrame(0, false, 10 * 1024));
}
void BM_RtspMuxAudio400(benchmark::State& state) {
  rtsp::RtspMuxer m;
  muxFrame(state, m, audioFrame(0, 400));
}
// One LL-HLS part as a CMAF fragment: 8 video frames of 10 KB and 14 AAC frames (~0.33 s).
void BM_Fmp4Part(benchmark::State& state) {
  MediaInfo info = *mediaInfo();
  ParameterSets ps;  // libx264 High 1280x720 SPS/PPS
  ps.sps.push_back({0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00,
                    0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x83, 0x19, 0x60});
  ps.pps.push_back({0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0});
  info.video->config = *h264::buildAvcC(ps);
  hls::Fmp4Writer w;
  if (!w.setMediaInfo(info).isOk()) return state.SkipWithError("setMediaInfo");
  std::vector<Frame> part;
  for (int i = 0; i < 8; ++i) part.push_back(videoFrame(i * 40, i == 0, 10 * 1024));
  for (int i = 0; i < 14; ++i) part.push_back(audioFrame(i * 23, 400));
  uint32_t seq = 0;
  size_t in = 8 * 10 * 1024 + 14 * 400;
  for (auto _ : state) {
    for (Frame& f : part) f.dts = f.pts += 333;
    BufferRef b = w.fragment(part, ++seq);
    benchmark::DoNotOptimize(b.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in));
}
BENCHMARK(BM_Fmp4Part);
BENCHMARK(BM_RtmpMuxVideo10K);
BENCHMARK(BM_RtmpMuxAudio400);
BENCHMARK(BM_FlvMuxVideo10K);
BENCHMARK(BM_FlvMuxAudio400);
BENCHMARK(BM_RtspMuxVideo10K);
BENCHMARK(BM_RtspMuxAudio400);

}  // namespace
}  // namespace xl::bench
