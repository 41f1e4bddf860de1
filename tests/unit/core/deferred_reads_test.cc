// TcpConnection::deferReads over real sockets: deferred input arrives, in order and complete, and
// a closed peer is noticed, but the peer's writes do not each wake the worker's loop; a
// connection destroyed from inside another's read in the same batch is never touched again.
#include "net/deferred_reads.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "test_util.h"
#include "xueliang/connection.h"

namespace xl {
namespace {

using namespace std::chrono_literals;
using test::runOn;
using test::waitFor;

class Recorder : public ConnectionHandler {
 public:
  void onData(const uint8_t* d, size_t n) override {
    got.append(reinterpret_cast<const char*>(d), n);
    ++reads;
    if (onRead) onRead();
  }
  void onClosed() override { closed = true; }
  std::string got;  // worker thread
  std::atomic<int> reads{0};
  std::atomic<bool> closed{false};
  std::function<void()> onRead;
};

class DeferredReadsTest : public ::testing::Test {
 protected:
  struct Pair {
    std::unique_ptr<TcpConnection> conn;
    Recorder handler;
    int peer = -1;
  };
  void SetUp() override { w.start(); }
  void TearDown() override {
    for (auto& p : pairs) {
      if (!p) continue;
      runOn(w, [&] { p->conn.reset(); });
      ::close(p->peer);
    }
    w.stop();
  }
  Pair& open(bool deferred) {
    auto p = std::make_unique<Pair>();
    int sv[2];
    EXPECT_EQ(0, ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    p->peer = sv[1];
    Pair* raw = p.get();
    runOn(w, [&] {
      raw->conn = std::make_unique<TcpConnection>(w, sv[0], "unix");
      raw->conn->start(&raw->handler);
      raw->conn->deferReads(deferred);
    });
    pairs.push_back(std::move(p));
    return *raw;
  }
  // Loop iterations (uv_prepare runs once per iteration) while the peer writes `writes` small
  // messages 1 ms apart, then until every byte has been read.
  uint64_t iterationsWhileWriting(Pair& p, int writes) {
    struct Counter {
      uv_prepare_t prep;
      std::atomic<uint64_t> iterations{0};
    };
    auto* c = new Counter;  // freed by its close callback, which may run after runOn returns
    runOn(w, [&] {
      uv_prepare_init(w.loop(), &c->prep);
      c->prep.data = c;
      uv_prepare_start(&c->prep,
                       [](uv_prepare_t* h) { ++static_cast<Counter*>(h->data)->iterations; });
    });
    for (int i = 0; i < writes; ++i) {
      EXPECT_EQ(::write(p.peer, "rr", 2), 2);
      std::this_thread::sleep_for(1ms);
    }
    EXPECT_TRUE(waitFor([&] {
      size_t n = 0;
      runOn(w, [&] { n = p.handler.got.size(); });
      return n == static_cast<size_t>(2 * writes);
    }));
    uint64_t n = c->iterations;
    runOn(w, [&] {
      uv_close(reinterpret_cast<uv_handle_t*>(&c->prep),
               [](uv_handle_t* h) { delete static_cast<Counter*>(h->data); });
    });
    return n;
  }

  Worker w{0};
  std::vector<std::unique_ptr<Pair>> pairs;
};

TEST_F(DeferredReadsTest, InputArrivesInOrderWithinTheDelay) {
  Pair& p = open(true);
  runOn(w, [&] { EXPECT_EQ(w.deferredReads().size(), 1u); });
  std::string sent;
  for (int i = 0; i < 50; ++i) {
    std::string m = "message " + std::to_string(i) + ";";
    ASSERT_EQ(::write(p.peer, m.data(), m.size()), static_cast<ssize_t>(m.size()));
    sent += m;
  }
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(waitFor([&] { return p.handler.reads > 0; }));
  // The loop is idle: only the timer reads, DeferredReads::kMaxDelayMs after the last poll.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  std::string got;
  ASSERT_TRUE(waitFor([&] {
    runOn(w, [&] { got = p.handler.got; });
    return got.size() == sent.size();
  }));
  EXPECT_EQ(got, sent);
  runOn(w, [&] { EXPECT_GT(w.deferredReads().polls(), 0u); });
}

TEST_F(DeferredReadsTest, PeerWritesDoNotWakeTheLoop) {
  // 200 writes 1 ms apart: each wakes a loop that polls the socket, while deferred reads are
  // polled by a 50 ms timer (about 5 iterations in those 200+ ms).
  Pair& deferred = open(true);
  uint64_t quiet = iterationsWhileWriting(deferred, 200);
  Pair& polled = open(false);
  uint64_t woken = iterationsWhileWriting(polled, 200);
  EXPECT_LT(quiet, 40u) << "deferred input woke the loop";
  EXPECT_GT(woken, quiet * 2) << "the comparison did not show the wake-ups it avoids";
}

TEST_F(DeferredReadsTest, ClosedPeerIsNoticedAndTheSetEmpties) {
  Pair& p = open(true);
  ::shutdown(p.peer, SHUT_WR);
  ASSERT_TRUE(waitFor([&] { return p.handler.closed.load(); }, 2s));
  runOn(w, [&] { EXPECT_EQ(w.deferredReads().size(), 0u); });
}

TEST_F(DeferredReadsTest, DeferringOffPollsTheSocketAgain) {
  Pair& p = open(true);
  runOn(w, [&] {
    p.conn->deferReads(false);
    EXPECT_EQ(w.deferredReads().size(), 0u);
  });
  ASSERT_EQ(::write(p.peer, "x", 1), 1);
  ASSERT_TRUE(waitFor([&] { return p.handler.reads > 0; }));
  uint64_t polls = 0;
  runOn(w, [&] { polls = w.deferredReads().polls(); });
  EXPECT_EQ(polls, 0u) << "read through the deferred set after deferring was turned off";
}

TEST_F(DeferredReadsTest, ConnectionDestroyedDuringABatchIsSkipped) {
  Pair& a = open(true);
  Pair& b = open(true);
  // Whichever is read first destroys the other, whose event is in the same batch.
  a.handler.onRead = [&] { b.conn.reset(); };
  b.handler.onRead = [&] { a.conn.reset(); };
  runOn(w, [&] {  // both become readable before the loop can poll either
    ASSERT_EQ(::write(a.peer, "a", 1), 1);
    ASSERT_EQ(::write(b.peer, "b", 1), 1);
  });
  ASSERT_TRUE(waitFor([&] { return a.handler.reads + b.handler.reads > 0; }));
  std::this_thread::sleep_for(150ms);  // further polls
  EXPECT_EQ(a.handler.reads + b.handler.reads, 1);
  runOn(w, [&] { EXPECT_EQ(w.deferredReads().size(), 1u); });
}

}  // namespace
}  // namespace xl
