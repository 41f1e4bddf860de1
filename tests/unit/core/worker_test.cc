#include "xueliang/worker.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <thread>
#include <vector>

#include "test_util.h"

namespace xl {
namespace {

using namespace std::chrono_literals;
using test::runOn;

TEST(Worker, PostFromOtherThreadsRunsOnWorkerThread) {
  Worker w(0);
  w.start();
  constexpr int kThreads = 4, kPosts = 1000;
  std::latch done(kThreads * kPosts);
  std::atomic<int> onWorker{0}, offWorker{0};
  std::thread::id workerId;
  runOn(w, [&] { workerId = std::this_thread::get_id(); });
  EXPECT_NE(workerId, std::this_thread::get_id());
  EXPECT_FALSE(w.inThisThread());
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&] {
      for (int i = 0; i < kPosts; ++i) {
        w.post([&] {
          if (w.inThisThread() && std::this_thread::get_id() == workerId)
            ++onWorker;
          else
            ++offWorker;
          done.count_down();
        });
      }
    });
  }
  for (auto& t : posters) t.join();
  done.wait();
  EXPECT_EQ(onWorker.load(), kThreads * kPosts);
  EXPECT_EQ(offWorker.load(), 0);
  w.stop();
}

// The benchmarks find the loops by name (bench/compare/scaling.py caps each one's CPU).
TEST(Worker, ThreadIsNamedAfterItsIndex) {
  Worker w(12);
  w.start();
  char name[16] = {};
  runOn(w, [&] { pthread_getname_np(pthread_self(), name, sizeof name); });
  EXPECT_STREQ(name, "xl-worker-12");
  w.stop();
}

TEST(Worker, PostsFromOneThreadRunInOrder) {
  Worker w(0);
  w.start();
  std::vector<int> seen;
  for (int i = 0; i < 10000; ++i) w.post([&seen, i] { seen.push_back(i); });
  runOn(w, [] {});
  ASSERT_EQ(seen.size(), 10000u);
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(seen[i], i);
  w.stop();
}

TEST(Worker, PostBeforeStartRunsOnceStarted) {
  Worker w(0);
  std::promise<bool> ran;
  w.post([&] { ran.set_value(w.inThisThread()); });
  w.start();
  auto f = ran.get_future();
  ASSERT_EQ(f.wait_for(2s), std::future_status::ready);
  EXPECT_TRUE(f.get());
  w.stop();
}

TEST(Worker, RunIsInlineOnTheWorkerAndPostedElsewhere) {
  Worker w(0);
  w.start();
  bool inlineRan = false;
  bool ranBeforeReturn = false;
  runOn(w, [&] {
    w.run([&] { inlineRan = true; });
    ranBeforeReturn = inlineRan;  // run() on the worker executes before returning
  });
  EXPECT_TRUE(ranBeforeReturn);

  std::promise<bool> onWorker;
  w.run([&] { onWorker.set_value(w.inThisThread()); });  // from the test thread: posted
  auto f = onWorker.get_future();
  ASSERT_EQ(f.wait_for(2s), std::future_status::ready);
  EXPECT_TRUE(f.get());
  w.stop();
}

TEST(Worker, StopRunsOnStopOnWorkerAndJoins) {
  Worker w(0);
  w.start();
  std::atomic<int> earlier{0};
  for (int i = 0; i < 100; ++i) w.post([&] { ++earlier; });
  bool onStopOnWorker = false;
  int earlierAtStop = -1;
  w.stop([&] {
    onStopOnWorker = w.inThisThread();
    earlierAtStop = earlier.load();
  });
  // stop() has joined: everything it ran is visible without further synchronisation.
  EXPECT_TRUE(onStopOnWorker);
  EXPECT_EQ(earlierAtStop, 100);
  EXPECT_FALSE(w.inThisThread());
  w.stop();  // idempotent
}

TEST(Worker, StopWaitsForHandlesTheSessionsClose) {
  Worker w(0);
  w.start();
  // A handle that stays open keeps the loop alive; stop's onStop closes it (as sessions do).
  UvHandle<uv_timer_t> timer;
  runOn(w, [&] {
    uv_timer_init(w.loop(), timer.make());
    uv_timer_start(
        timer.get(), [](uv_timer_t*) {}, 100000, 0);
  });
  bool closedOnWorker = false;
  w.stop([&] {
    closedOnWorker = w.inThisThread();
    timer.reset();
  });
  EXPECT_TRUE(closedOnWorker);
  EXPECT_FALSE(timer);
}

TEST(Worker, TickersRunOnceASecondOnTheWorker) {
  Worker w(0);
  w.start();
  std::atomic<int> ticks{0};
  std::atomic<bool> wrongThread{false};
  runOn(w, [&] {
    w.addTicker([&] {
      if (!w.inThisThread()) wrongThread = true;
      ++ticks;
    });
  });
  auto start = std::chrono::steady_clock::now();
  while (ticks.load() == 0 && std::chrono::steady_clock::now() - start < 1500ms)
    std::this_thread::sleep_for(10ms);
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(ticks.load(), 1);
  EXPECT_LE(ticks.load(), 2);
  EXPECT_LT(waited, 1500ms);
  EXPECT_FALSE(wrongThread.load());
  w.stop();
}

TEST(Worker, NowMsFollowsTheLoopClock) {
  Worker w(0);
  w.start();
  uint64_t t0 = 0, t1 = 0;
  runOn(w, [&] { t0 = w.nowMs(); });
  std::this_thread::sleep_for(50ms);
  runOn(w, [&] {
    uv_update_time(w.loop());
    t1 = w.nowMs();
  });
  EXPECT_GE(t1 - t0, 45u);
  EXPECT_LT(t1 - t0, 1000u);
  w.stop();
}

}  // namespace
}  // namespace xl
