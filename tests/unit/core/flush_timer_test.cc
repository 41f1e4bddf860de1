// FlushTimer: one worker timer waking entries at their due time, in due order, with entries
// cancelled, rescheduled or destroyed from inside a callback; the end-of-iteration pass cut into
// slices that let the loop run in between, continuing where the last slice stopped.
#include "xueliang/flush_timer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "test_util.h"
#include "xueliang/handle.h"

namespace xl {
namespace {

using namespace std::chrono_literals;
using test::runOn;

class Probe : public FlushTimer::Entry {
 public:
  Probe(int id, std::vector<int>& log) : id_(id), log_(log) {}
  std::function<void()> then;

 protected:
  void onDue() override {
    log_.push_back(id_);
    if (then) then();
  }

 private:
  int id_;
  std::vector<int>& log_;
};

class FlushTimerTest : public ::testing::Test {
 protected:
  void SetUp() override { w.start(); }
  void TearDown() override {
    runOn(w, [&] { probes.clear(); });
    w.stop();
  }
  Probe& probe(int id) {
    probes.push_back(std::make_unique<Probe>(id, log));
    return *probes.back();
  }
  std::vector<int> logNow() {
    std::vector<int> copy;
    runOn(w, [&] { copy = log; });
    return copy;
  }
  // The log once it has `n` entries (or after 3 s): timers may run late on a busy machine.
  std::vector<int> waitLog(size_t n) {
    for (int i = 0; i < 300; ++i) {
      auto l = logNow();
      if (l.size() >= n) return l;
      std::this_thread::sleep_for(10ms);
    }
    return logNow();
  }
  Worker w{0};
  std::vector<int> log;  // worker thread only
  std::vector<std::unique_ptr<Probe>> probes;
};

TEST_F(FlushTimerTest, FiresInDueOrderWhateverTheInsertionOrder) {
  runOn(w, [&] {
    uint64_t now = w.nowMs();
    auto& timer = w.flushTimer();
    timer.schedule(probe(1), now + 300);
    timer.schedule(probe(2), now + 100);
    timer.schedule(probe(3), now + 200);
    EXPECT_EQ(timer.size(), 3u);
  });
  EXPECT_TRUE(logNow().empty()) << "fired before due";
  EXPECT_EQ(waitLog(3), (std::vector<int>{2, 3, 1}));
  size_t left = 1;
  runOn(w, [&] { left = w.flushTimer().size(); });
  EXPECT_EQ(left, 0u);
}

TEST_F(FlushTimerTest, CancelledAndRescheduledEntriesFireOnceAtTheirNewTime) {
  runOn(w, [&] {
    uint64_t now = w.nowMs();
    auto& timer = w.flushTimer();
    Probe& a = probe(1);
    Probe& b = probe(2);
    Probe& c = probe(3);
    timer.schedule(a, now + 20);
    timer.schedule(b, now + 30);
    timer.schedule(c, now + 40);
    b.cancel();
    EXPECT_FALSE(b.scheduled());
    timer.schedule(a, now + 80);  // moved behind c
    EXPECT_EQ(timer.size(), 2u);
  });
  EXPECT_EQ(waitLog(2), (std::vector<int>{3, 1}));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(logNow(), (std::vector<int>{3, 1})) << "an entry fired twice";
}

TEST_F(FlushTimerTest, CallbackMayDestroyOrRescheduleEntries) {
  runOn(w, [&] {
    uint64_t now = w.nowMs();
    auto& timer = w.flushTimer();
    Probe& a = probe(1);
    probe(2);
    Probe& c = probe(3);
    // a, due first, destroys b (due at the same time) and reschedules itself once.
    a.then = [&, now, n = 0]() mutable {
      probes[1].reset();
      if (n++ == 0) w.flushTimer().schedule(*probes[0], now + 50);
    };
    timer.schedule(a, now + 10);
    timer.schedule(*probes[1], now + 10);
    timer.schedule(c, now + 30);
  });
  EXPECT_EQ(waitLog(3), (std::vector<int>{1, 3, 1}));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(logNow().size(), 3u) << "the destroyed entry fired";
}

TEST_F(FlushTimerTest, DestroyedEntryLeavesTheList) {
  runOn(w, [&] {
    probe(1);
    w.flushTimer().schedule(*probes[0], w.nowMs() + 20);
    probes.clear();
    EXPECT_EQ(w.flushTimer().size(), 0u);
  });
  std::this_thread::sleep_for(60ms);
  EXPECT_TRUE(logNow().empty());
}

TEST_F(FlushTimerTest, SoonEntriesRunAtTheEndOfTheIterationInOrder) {
  std::vector<int> during;
  runOn(w, [&] {
    auto& timer = w.flushTimer();
    Probe& a = probe(1);
    Probe& b = probe(2);
    Probe& c = probe(3);
    timer.schedule(c, w.nowMs() + 10000);
    timer.scheduleSoon(a);
    timer.scheduleSoon(b);
    timer.scheduleSoon(c);  // moved from the timed list
    timer.scheduleSoon(a);  // already there: keeps its place
    b.cancel();
    EXPECT_EQ(timer.size(), 2u);
    during = log;
  });
  EXPECT_TRUE(during.empty()) << "ran before the end of the iteration";
  EXPECT_EQ(waitLog(2), (std::vector<int>{1, 3}));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(logNow(), (std::vector<int>{1, 3})) << "an entry ran twice";
  size_t left = 1;
  runOn(w, [&] { left = w.flushTimer().size(); });
  EXPECT_EQ(left, 0u);
}

TEST_F(FlushTimerTest, SoonEntryScheduledFromItsCallbackRunsOnceMore) {
  runOn(w, [&] {
    Probe& a = probe(1);
    a.then = [&, n = 0]() mutable {
      if (n++ == 0) w.flushTimer().scheduleSoon(*probes[0]);
    };
    w.flushTimer().scheduleSoon(a);
  });
  EXPECT_EQ(waitLog(2), (std::vector<int>{1, 1}));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(logNow().size(), 2u);
}

// Slicing. A uv_prepare on the worker's loop counts iterations (it runs once per iteration,
// before the poll), so each run can be placed in the iteration that ran it.
class FlushTimerSliceTest : public FlushTimerTest {
 protected:
  void SetUp() override {
    FlushTimerTest::SetUp();
    runOn(w, [&] {
      uv_prepare_init(w.loop(), prepare.make());
      prepare.get()->data = &iteration;
      uv_prepare_start(prepare.get(), [](uv_prepare_t* p) { ++*static_cast<int*>(p->data); });
      uv_unref(reinterpret_cast<uv_handle_t*>(prepare.get()));
    });
  }
  void TearDown() override {
    runOn(w, [&] {
      w.flushTimer().setSliceBudgetNs(FlushTimer::kSliceBudgetNs);
      prepare.reset();
    });
    FlushTimerTest::TearDown();
  }
  // `n` probes with ids 1..n, each logging the iteration it ran in, and the slice budget (0: every
  // slice ends at the first clock check, after kSliceCheckEvery entries). Worker thread.
  void makeProbes(int n, uint64_t budgetNs = 0) {
    w.flushTimer().setSliceBudgetNs(budgetNs);
    for (int id = 1; id <= n; ++id) {
      Probe& p = probe(id);
      p.then = [this] { iterations.push_back(iteration); };
    }
  }
  // Run counts per iteration, in iteration order (entries of `iterations` are non-decreasing).
  std::vector<size_t> slices() {
    std::vector<size_t> out;
    runOn(w, [&] {
      for (size_t i = 0; i < iterations.size(); ++i) {
        if (i == 0 || iterations[i] != iterations[i - 1]) out.push_back(0);
        ++out.back();
      }
    });
    return out;
  }
  UvHandle<uv_prepare_t> prepare;
  int iteration = 0;            // worker thread only
  std::vector<int> iterations;  // iteration of each log entry
};

constexpr size_t kEvery = FlushTimer::kSliceCheckEvery;

std::vector<int> ids(std::initializer_list<std::pair<int, int>> ranges) {
  std::vector<int> out;
  for (auto [from, to] : ranges)
    for (int i = from; i <= to; ++i) out.push_back(i);
  return out;
}

TEST_F(FlushTimerSliceTest, EntriesBeyondTheBudgetRunInTheNextIteration) {
  const int n = 2 * kEvery + 3;
  runOn(w, [&] {
    makeProbes(n);
    for (auto& p : probes) w.flushTimer().scheduleSoon(*p);
  });
  EXPECT_EQ(waitLog(n), ids({{1, n}}));
  EXPECT_EQ(slices(), (std::vector<size_t>{kEvery, kEvery, 3}));
  size_t left = 1;
  runOn(w, [&] { left = w.flushTimer().soonSize(); });
  EXPECT_EQ(left, 0u);
}

TEST_F(FlushTimerSliceTest, TimeBudgetEndsASliceThatRunsLong) {
  const int n = 3 * kEvery;
  runOn(w, [&] {
    makeProbes(n, FlushTimer::kSliceBudgetNs);
    // Each entry takes 200 µs (a slow writev): the first clock check sees 1.6 ms > 1 ms.
    for (auto& p : probes) {
      p->then = [this, inner = p->then] {
        uint64_t until = uv_hrtime() + 200'000;
        while (uv_hrtime() < until) {
        }
        inner();
      };
      w.flushTimer().scheduleSoon(*p);
    }
  });
  EXPECT_EQ(waitLog(n).size(), size_t(n));
  EXPECT_EQ(slices(), (std::vector<size_t>{kEvery, kEvery, kEvery}));
}

TEST_F(FlushTimerSliceTest, LoopRunsOtherWorkBetweenSlices) {
  const int n = 2 * kEvery;
  runOn(w, [&] {
    makeProbes(n);
    // The first entry posts a task (as an accept or a request would arrive): it runs in the
    // poll after the first slice, not after the whole pass.
    probes[0]->then = [this, inner = probes[0]->then] {
      w.post([this] { log.push_back(-1); });
      inner();
    };
    for (auto& p : probes) w.flushTimer().scheduleSoon(*p);
  });
  std::vector<int> want = ids({{1, int(kEvery)}});
  want.push_back(-1);
  for (int i : ids({{int(kEvery) + 1, n}})) want.push_back(i);
  EXPECT_EQ(waitLog(n + 1), want);
}

TEST_F(FlushTimerSliceTest, NextSliceContinuesWhereTheLastStopped) {
  const int n = 2 * kEvery + 2;
  runOn(w, [&] {
    makeProbes(n);
    // Every entry is scheduled again once it ran (the next frame): it queues behind those that
    // have not run yet, so each slice takes up the round where the previous one stopped.
    for (auto& p : probes) {
      p->then = [this, e = p.get(), inner = p->then, again = true]() mutable {
        inner();
        if (std::exchange(again, false)) w.flushTimer().scheduleSoon(*e);
      };
      w.flushTimer().scheduleSoon(*p);
    }
  });
  std::vector<int> want = ids({{1, n}, {1, n}});
  EXPECT_EQ(waitLog(2 * n), want);
  std::vector<size_t> s = slices();
  EXPECT_EQ(s, (std::vector<size_t>{kEvery, kEvery, kEvery, kEvery, 2 * n - 4 * kEvery}));
}

TEST_F(FlushTimerSliceTest, WaitingEntriesCancelledOrScheduledAgainRunAtMostOnce) {
  const int n = 2 * kEvery;
  runOn(w, [&] {
    makeProbes(n);
    // While entries 9..16 wait for the second slice, a task run between the slices (a viewer
    // leaving, a frame for a viewer still waiting) cancels 10, destroys 11 and schedules 12
    // again, which keeps its place.
    probes[0]->then = [this, inner = probes[0]->then] {
      inner();
      w.post([this] {
        probes[9]->cancel();
        probes[10].reset();
        w.flushTimer().scheduleSoon(*probes[11]);
      });
    };
    for (auto& p : probes) w.flushTimer().scheduleSoon(*p);
    EXPECT_EQ(w.flushTimer().soonSize(), size_t(n));
  });
  std::vector<int> want = ids({{1, 9}, {12, n}});
  EXPECT_EQ(waitLog(want.size()), want);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(logNow(), want) << "a cancelled or destroyed entry ran, or one ran twice";
  EXPECT_EQ(slices(), (std::vector<size_t>{kEvery, want.size() - kEvery}));
  size_t left = 1;
  runOn(w, [&] { left = w.flushTimer().size(); });
  EXPECT_EQ(left, 0u);
}

}  // namespace
}  // namespace xl
