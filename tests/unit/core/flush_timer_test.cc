// FlushTimer: one worker timer waking entries at their due time, in due order, with entries
// cancelled, rescheduled or destroyed from inside a callback.
#include "xueliang/flush_timer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "test_util.h"

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

}  // namespace
}  // namespace xl
