// Muxing one frame: the work a stream does once per frame per output format.
#include <benchmark/benchmark.h>

#include "bench_util.h"
#include "rtmp/rtmp_muxer.h"

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
BENCHMARK(BM_RtmpMuxVideo10K);
BENCHMARK(BM_RtmpMuxAudio400);
BENCHMARK(BM_FlvMuxVideo10K);
BENCHMARK(BM_FlvMuxAudio400);

}  // namespace
}  // namespace xl::bench
