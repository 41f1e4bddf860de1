#include "xueliang/worker.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <string>

#include "../net/deferred_reads.h"
#include "../net/uring_writer.h"

namespace xl {
namespace {

struct FunctionTask : Task {
  explicit FunctionTask(std::function<void()> f) : fn(std::move(f)) {}
  void run() override { fn(); }
  std::function<void()> fn;
};

}  // namespace

Worker::Worker(int index) : index_(index), readScratch_(new uint8_t[kReadScratch]) {
  uv_loop_init(&loop_);
  uv_async_init(&loop_, wake_.make(),
                [](uv_async_t* a) { static_cast<Worker*>(a->data)->drain(); });
  wake_.get()->data = this;
  uv_timer_init(&loop_, tick_.make());
  tick_.get()->data = this;
  flushTimer_ = std::make_unique<FlushTimer>(&loop_);
}

Worker::~Worker() {
  if (thread_.joinable()) stop();
  wake_.reset();
  tick_.reset();
  flushTimer_.reset();
  uring_.reset();
  deferredReads_.reset();
  ioUring_ = false;
  uv_run(&loop_, UV_RUN_NOWAIT);  // let close callbacks free the handles
  if (uv_loop_close(&loop_) != 0) spdlog::warn("worker {}: loop closed with live handles", index_);
}

void Worker::start() {
  uv_timer_start(
      tick_.get(),
      [](uv_timer_t* t) {
        auto* self = static_cast<Worker*>(t->data);
        for (auto& fn : self->tickers_) fn();
      },
      1000, 1000);
  thread_ = std::thread([this] {
    threadId_.store(std::this_thread::get_id());
    // Named so that top -H, perf and cgroup tools can tell the loops apart (15 characters max).
    pthread_setname_np(pthread_self(), ("xl-worker-" + std::to_string(index_)).c_str());
    uv_run(&loop_, UV_RUN_DEFAULT);
    while (Task* t = inbox_.pop()) {  // whatever was posted during shutdown
      t->run();
      delete t;
    }
  });
}

void Worker::stop(std::function<void()> onStop) {
  if (!thread_.joinable()) return;
  post([this, onStop = std::move(onStop)] {
    if (onStop) onStop();
    tickers_.clear();
    uv_timer_stop(tick_.get());
    // The inbox stays usable (unreferenced) so late posts from other threads are safe; the loop
    // ends once every handle the sessions own is closed, which their owners do in onStop.
    uv_unref(reinterpret_cast<uv_handle_t*>(wake_.get()));
    uv_unref(reinterpret_cast<uv_handle_t*>(tick_.get()));
    flushTimer_->unref();
    if (deferredReads_) deferredReads_->unref();
  });
  thread_.join();
}

void Worker::post(Task* task) {
  inbox_.push(task);
  uv_async_send(wake_.get());
}

void Worker::post(std::function<void()> fn) {
  post(new FunctionTask(std::move(fn)));
}

void Worker::run(std::function<void()> fn) {
  if (inThisThread())
    fn();
  else
    post(std::move(fn));
}

UringWriter* Worker::makeUringWriter() {
  if (!uring_) {
    uring_ = UringWriter::create(&loop_, index_);
    if (!uring_) ioUring_ = false;  // create() logged why; writev from now on
  }
  return uring_.get();
}

DeferredReads& Worker::deferredReads() {
  if (!deferredReads_) deferredReads_ = std::make_unique<DeferredReads>(&loop_);
  return *deferredReads_;
}

void Worker::drain() {
  // A bounded batch per wake-up, so a busy producer cannot starve this loop's I/O and timers.
  for (int i = 0; i < kTasksPerWakeup; ++i) {
    Task* t = inbox_.pop();
    if (!t) return;
    t->run();
    delete t;
  }
  uv_async_send(wake_.get());  // more may be waiting: come back after the next I/O poll
}

}  // namespace xl
