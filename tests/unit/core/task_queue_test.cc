#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "xueliang/worker.h"

namespace xl {
namespace {

struct SeqTask : Task {
  SeqTask(int p, int s) : producer(p), seq(s) {}
  void run() override {}
  int producer;
  int seq;
};

TEST(TaskQueue, EmptyPopsNull) {
  TaskQueue q;
  EXPECT_EQ(q.pop(), nullptr);
  EXPECT_EQ(q.pop(), nullptr);
}

TEST(TaskQueue, SingleThreadFifo) {
  TaskQueue q;
  std::vector<std::unique_ptr<SeqTask>> tasks;
  for (int i = 0; i < 100; ++i) tasks.push_back(std::make_unique<SeqTask>(0, i));
  // Interleave pushes and pops so the stub node is recycled several times.
  int next = 0;
  for (int round = 0; round < 10; ++round) {
    for (int i = round * 10; i < round * 10 + 10; ++i) q.push(tasks[i].get());
    for (int i = 0; i < (round % 2 ? 10 : 7); ++i) {
      Task* t = q.pop();
      ASSERT_NE(t, nullptr);
      EXPECT_EQ(static_cast<SeqTask*>(t)->seq, next++);
    }
  }
  while (Task* t = q.pop()) EXPECT_EQ(static_cast<SeqTask*>(t)->seq, next++);
  EXPECT_EQ(next, 100);
  EXPECT_EQ(q.pop(), nullptr);
  // A task may be pushed again once popped.
  q.push(tasks[0].get());
  EXPECT_EQ(q.pop(), tasks[0].get());
  EXPECT_EQ(q.pop(), nullptr);
}

TEST(TaskQueue, DestructorDeletesLeftovers) {
  static std::atomic<int> destroyed{0};
  struct Counted : Task {
    ~Counted() override { ++destroyed; }
    void run() override {}
  };
  destroyed = 0;
  {
    TaskQueue q;
    for (int i = 0; i < 5; ++i) q.push(new Counted);
  }
  EXPECT_EQ(destroyed.load(), 5);
}

TEST(TaskQueue, FourProducersOneConsumer) {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 100000;
  TaskQueue q;
  std::vector<std::vector<std::unique_ptr<SeqTask>>> tasks(kProducers);
  for (int p = 0; p < kProducers; ++p) {
    tasks[p].reserve(kPerProducer);
    for (int i = 0; i < kPerProducer; ++i) tasks[p].push_back(std::make_unique<SeqTask>(p, i));
  }
  std::atomic<bool> go{false};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      while (!go.load()) std::this_thread::yield();
      for (auto& t : tasks[p]) q.push(t.get());
    });
  }
  std::vector<int> nextSeq(kProducers, 0);
  std::vector<int> timesSeen(kProducers * kPerProducer, 0);
  int popped = 0;
  bool orderOk = true;
  go = true;
  while (popped < kProducers * kPerProducer) {
    Task* t = q.pop();
    if (!t) continue;  // empty, or a producer is between its two stores
    auto* s = static_cast<SeqTask*>(t);
    ++timesSeen[s->producer * kPerProducer + s->seq];
    if (s->seq != nextSeq[s->producer]) orderOk = false;
    nextSeq[s->producer] = s->seq + 1;
    ++popped;
  }
  for (auto& th : producers) th.join();
  EXPECT_TRUE(orderOk) << "per-producer order not preserved";
  EXPECT_EQ(q.pop(), nullptr);
  int bad = 0;
  for (int n : timesSeen) bad += n != 1;
  EXPECT_EQ(bad, 0) << "tasks not popped exactly once";
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(nextSeq[p], kPerProducer);
}

}  // namespace
}  // namespace xl
