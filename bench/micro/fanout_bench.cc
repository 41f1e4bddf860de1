// Fan-out: one Stream, N viewers of the "rtmp" format, all on the stream's worker so pushFrame
// does the whole delivery synchronously. The worker is not started: the benchmark thread drives
// its loop (uv_run NOWAIT) to run the attach tasks, then calls pushFrame directly, which is what
// the owner worker does for its local viewers. Muxing is counted and timed apart, so the report
// shows it flat in N while the per-viewer part is the rest.
#include <benchmark/benchmark.h>

#include <array>
#include <chrono>

#include "bench_util.h"
#include "rtmp/rtmp_muxer.h"
#include "xueliang/stream.h"
#include "xueliang/worker.h"

namespace xl::bench {
namespace {

struct MuxStats {
  uint64_t calls = 0;
  uint64_t ns = 0;
};

class CountingMuxer : public Muxer {
 public:
  explicit CountingMuxer(MuxStats* stats) : inner_(4096), stats_(stats) {}
  BufferRef header(const MediaInfo& info) override { return inner_.header(info); }
  BufferRef mux(const Frame& f, const MediaInfo& info) override {
    auto t0 = std::chrono::steady_clock::now();
    BufferRef b = inner_.mux(f, info);
    stats_->ns +=
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    ++stats_->calls;
    return b;
  }

 private:
  rtmp::RtmpMuxer inner_;
  MuxStats* stats_;
};

// The minimal work of a real viewer: keep a reference to the batch in a bounded ring (a socket's
// output queue), overwriting the oldest when full.
class RingViewer : public Viewer {
 public:
  void onJoin(const BufferRef& header, const std::vector<MuxedBatch>& gop) override {
    joined = true;
    for (const MuxedBatch& b : gop) onBatch(b);
  }
  void onBatch(const MuxedBatch& b) override {
    ring_[head_++ & (kRing - 1)] = b;
    bytes_ += b.bytes.size();
  }
  void onStreamEnd() override {}
  bool joined = false;

 private:
  static constexpr size_t kRing = 64;
  std::array<MuxedBatch, kRing> ring_;
  size_t head_ = 0;
  uint64_t bytes_ = 0;
};

void BM_FanOutPushFrame(benchmark::State& state) {
  const int viewers = static_cast<int>(state.range(0));
  MuxStats mux;
  std::vector<OutputFormat> formats{
      {.name = "rtmp", .createMuxer = [&mux] { return std::make_unique<CountingMuxer>(&mux); }}};
  Worker w(0);
  auto stream = std::make_shared<Stream>("live/bench", w, std::vector<Worker*>{&w}, formats,
                                         PublisherInfo{"bench", "-"}, StreamLimits{});
  stream->setMediaInfo(mediaInfo());
  std::vector<Frame> frames;
  for (int i = 0; i < 50; ++i) frames.push_back(videoFrame(0, i == 0, 10 * 1024));
  stream->pushFrame(frames[0]);

  std::vector<std::unique_ptr<RingViewer>> vs;
  for (int i = 0; i < viewers; ++i) {
    vs.push_back(std::make_unique<RingViewer>());
    stream->attach(vs.back().get(), 0, w);
  }
  for (int i = 0; i < 1000 && !vs.back()->joined; ++i) uv_run(w.loop(), UV_RUN_NOWAIT);
  if (!vs.back()->joined) {
    state.SkipWithError("viewers did not join");
    return;
  }

  mux = {};
  int64_t dts = 0;
  size_t i = 1;
  for (auto _ : state) {
    Frame& f = frames[i++ % frames.size()];
    f.dts = f.pts = dts += 40;
    stream->pushFrame(f);
  }
  const double frames_pushed = static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * viewers);
  state.counters["viewers"] = viewers;
  state.counters["mux_per_frame"] = static_cast<double>(mux.calls) / frames_pushed;
  state.counters["mux_ns_per_frame"] = static_cast<double>(mux.ns) / frames_pushed;
  // CPU time per frame per viewer, muxing included (amortised); printed in seconds ("20n" = 20 ns).
  state.counters["time_per_viewer"] = benchmark::Counter(
      viewers, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  stream->end();  // posted (the benchmark thread is not the worker): run it before viewers go
  for (int k = 0; k < 10; ++k) uv_run(w.loop(), UV_RUN_NOWAIT);
}
BENCHMARK(BM_FanOutPushFrame)->Arg(1)->Arg(10)->Arg(100)->Arg(1000);

}  // namespace
}  // namespace xl::bench
