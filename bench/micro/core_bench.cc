// Buffers and the workers' inbox.
#include <benchmark/benchmark.h>

#include "xueliang/buffer.h"
#include "xueliang/worker.h"

namespace xl::bench {
namespace {

void BM_BufferRefCopyRelease(benchmark::State& state) {
  BufferRef r = BufferRef::copyOf(std::string(1024, 'x'));
  for (auto _ : state) {
    BufferRef c = r;
    benchmark::DoNotOptimize(c.data());
  }
}
BENCHMARK(BM_BufferRefCopyRelease);

// Several threads sharing one buffer's refcount, as viewers on different workers do.
void BM_BufferRefCopyReleaseShared(benchmark::State& state) {
  static BufferRef shared = BufferRef::copyOf(std::string(1024, 'x'));
  for (auto _ : state) {
    BufferRef c = shared;
    benchmark::DoNotOptimize(c.data());
  }
}
BENCHMARK(BM_BufferRefCopyReleaseShared)->Threads(1)->Threads(2);

void BM_BufferWriterFreeze10K(benchmark::State& state) {
  std::string payload(10 * 1024, 'p');
  for (auto _ : state) {
    BufferWriter w(payload.size() + 16);
    w.be32(static_cast<uint32_t>(payload.size()));
    w.append(payload);
    BufferRef r = w.freeze();
    benchmark::DoNotOptimize(r.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * payload.size()));
}
BENCHMARK(BM_BufferWriterFreeze10K);

struct NopTask : Task {
  void run() override {}
};

void BM_TaskQueuePushPop(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  TaskQueue q;
  std::vector<NopTask> tasks(batch);
  for (auto _ : state) {
    for (auto& t : tasks) q.push(&t);
    for (int i = 0; i < batch; ++i) benchmark::DoNotOptimize(q.pop());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * batch);
}
BENCHMARK(BM_TaskQueuePushPop)->Arg(1)->Arg(64);

}  // namespace
}  // namespace xl::bench
