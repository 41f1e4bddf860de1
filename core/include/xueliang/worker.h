// Worker: one thread, one uv loop. Sessions live and die on the worker that accepted them; other
// threads talk to a worker only by posting tasks to its inbox (lock-free MPSC queue + uv_async).
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "xueliang/flush_timer.h"
#include "xueliang/handle.h"
#include "xueliang/stats.h"

namespace xl {

class DeferredReads;
class UringWriter;

// A unit of work posted to a worker. Intrusive so the queue needs no extra nodes.

struct Task {
  virtual ~Task() = default;
  virtual void run() = 0;
  std::atomic<Task*> next{nullptr};
};

// Vyukov's intrusive multi-producer single-consumer queue: push is wait-free, pop is done by the
// owning worker only.
class TaskQueue {
 public:
  TaskQueue();
  ~TaskQueue();
  // Returns true if the queue was empty before (the consumer may need a wake-up).
  void push(Task* t);
  Task* pop();

 private:
  struct Stub : Task {
    void run() override {}
  } stub_;
  std::atomic<Task*> head_;
  Task* tail_;
};

class Worker {
 public:
  explicit Worker(int index);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  // Runs `onStop` on the worker, then stops its loop once every handle is closed, and joins.
  void stop(std::function<void()> onStop = {});

  int index() const { return index_; }
  uv_loop_t* loop() { return &loop_; }
  bool inThisThread() const { return std::this_thread::get_id() == threadId_.load(); }
  WorkerStats& stats() { return stats_; }
  // Milliseconds of the loop's clock (cached per iteration).
  uint64_t nowMs() { return uv_now(&loop_); }

  // Thread-safe. The worker takes ownership of the task.
  void post(Task* task);
  void post(std::function<void()> fn);
  // Runs fn now if called on this worker, else posts it.
  void run(std::function<void()> fn);

  // Called once a second on the worker (stall sweeps, stats). Thread: this worker only.
  void addTicker(std::function<void()> fn) { tickers_.push_back(std::move(fn)); }
  // The worker's one timer for merge-mode flushes (ViewerOutput). Thread: this worker only.
  FlushTimer& flushTimer() { return *flushTimer_; }

  // Write engine of this worker's TCP connections: io_uring when `on` (set before start()).
  void setIoUring(bool on) { ioUring_ = on; }
  // The worker's io_uring writer, made on first use on this thread; null with writev, or when no
  // ring can be made (logged once, and the worker writes with writev).
  UringWriter* uringWriter() { return ioUring_ ? makeUringWriter() : nullptr; }

  // The worker's set of connections whose input is read late, in batches (made on first use).
  DeferredReads& deferredReads();

  // A 64 KiB scratch buffer for socket reads, shared by every connection of this worker: a
  // connection's bytes are consumed before the next read, so no per-connection read buffer.
  uint8_t* readScratch() { return readScratch_.get(); }
  static constexpr size_t kReadScratch = 64 * 1024;
  static constexpr int kTasksPerWakeup = 1024;

 private:
  void drain();
  UringWriter* makeUringWriter();

  int index_;
  uv_loop_t loop_{};
  std::thread thread_;
  std::atomic<std::thread::id> threadId_{};
  TaskQueue inbox_;
  UvHandle<uv_async_t> wake_;
  UvHandle<uv_timer_t> tick_;
  std::unique_ptr<FlushTimer> flushTimer_;
  std::vector<std::function<void()>> tickers_;
  WorkerStats stats_;
  std::unique_ptr<uint8_t[]> readScratch_;
  bool ioUring_ = false;
  std::unique_ptr<UringWriter> uring_;
  std::unique_ptr<DeferredReads> deferredReads_;
};

}  // namespace xl
