// TcpConnection with the io_uring write engine ([limits] io_engine = "io_uring") over real sockets:
// writes prepared in one loop iteration leave with one submission (one per 64 writes in a fan-out
// pass), order holds across flushes and partial writes (tiny SO_SNDBUF), close with a write
// prepared or in the kernel frees nothing early, and a peer reset closes the connection like a
// failed writev does.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "net/uring_writer.h"
#include "test_util.h"
#include "xueliang/connection.h"

namespace xl {
namespace {

using namespace std::chrono_literals;
using test::runOn;
using test::waitFor;

class CountingHandler : public ConnectionHandler {
 public:
  void onData(const uint8_t*, size_t) override {}
  void onDrained() override { ++drained; }
  void onClosed() override { closed = true; }
  std::atomic<int> drained{0};
  std::atomic<bool> closed{false};
};

// Bytes that tell their position: a reordered, lost or repeated range shows in the comparison.
std::string pattern(size_t from, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((from + i) * 131 % 251);
  return s;
}

class UringConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    if (Status s = UringWriter::probe(); !s) GTEST_SKIP() << s.message();
    w.setIoUring(true);
    w.start();
  }
  void TearDown() override {
    if (conn) {
      runOn(w, [&] { conn->close(); });
      EXPECT_TRUE(waitFor([&] { return handler.closed.load(); }));
      runOn(w, [&] { conn.reset(); });
    }
    if (peer >= 0) ::close(peer);
    w.stop();
  }
  // A Unix socketpair with `sndbuf` bytes of send buffer; the peer end stays with the test.
  void openPair(int sndbuf) {
    int sv[2];
    ASSERT_EQ(0, ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    ASSERT_EQ(0, ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf));
    ASSERT_EQ(0, ::setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof sndbuf));
    peer = sv[1];
    adopt(sv[0]);
  }
  void adopt(int fd) {
    connFd = fd;
    runOn(w, [&] {
      conn = std::make_unique<TcpConnection>(w, fd, "test");
      conn->start(&handler);
    });
  }
  // Reads from the peer until `n` bytes arrived, EOF (sets `eof`) or 5 s passed.
  std::string readPeer(size_t n) {
    std::string got;
    char buf[65536];
    auto end = std::chrono::steady_clock::now() + 5s;
    while (got.size() < n && std::chrono::steady_clock::now() < end) {
      ssize_t r = ::read(peer, buf, sizeof buf);
      if (r > 0)
        got.append(buf, static_cast<size_t>(r));
      else if (r == 0) {
        eof = true;
        break;
      } else
        std::this_thread::sleep_for(200us);
    }
    return got;
  }
  // Queues `pieces` buffers of `size` bytes of the pattern from `from`, flushing after `every`.
  void queuePattern(size_t from, int pieces, size_t size, int every) {
    for (int i = 0; i < pieces; ++i) {
      conn->queue(BufferRef::copyOf(pattern(from + i * size, size)));
      if ((i + 1) % every == 0) conn->flush();
    }
  }

  Worker w{0};
  CountingHandler handler;
  std::unique_ptr<TcpConnection> conn;
  int peer = -1;
  int connFd = -1;
  bool eof = false;
};

TEST_F(UringConnectionTest, FlushesOfOneIterationLeaveInOneSubmission) {
  openPair(1 << 20);
  uint64_t submits0 = 0;
  runOn(w, [&] {
    ASSERT_NE(w.uringWriter(), nullptr);
    EXPECT_TRUE(w.uringWriter()->registered(connFd))
        << "the socket is not in the ring's file table";
    submits0 = w.uringWriter()->submitCalls();
    // Ten flushes in one task: the prepared write grows instead of a new one per flush.
    queuePattern(0, 10, 1000, 1);
    EXPECT_EQ(conn->writeCalls(), 0u) << "nothing is written before the submission";
    EXPECT_EQ(conn->queuedBytes(), 10000u);
  });
  EXPECT_EQ(readPeer(10000), pattern(0, 10000));
  runOn(w, [&] {
    EXPECT_EQ(conn->writeCalls(), 1u);
    EXPECT_EQ(conn->iovecsWritten(), 10u);
    EXPECT_EQ(conn->bytesOut(), 10000u);
    EXPECT_EQ(conn->queuedBytes(), 0u);
    EXPECT_EQ(w.uringWriter()->submitCalls(), submits0 + 1);
  });
}

TEST_F(UringConnectionTest, AFanOutPassHandsItsWritesOverInBatches) {
  // One flush each for 200 connections in one task, as the fan-out pass does: writes leave in
  // batches of 64 while the pass runs (one system call each), the rest right before the poll.
  constexpr int kConns = 200;
  std::vector<int> peers, fds;
  for (int i = 0; i < kConns; ++i) {
    int sv[2];
    ASSERT_EQ(0, ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    fds.push_back(sv[0]);
    peers.push_back(sv[1]);
  }
  std::vector<std::unique_ptr<CountingHandler>> handlers;
  std::vector<std::unique_ptr<TcpConnection>> conns;
  uint64_t submits0 = 0, duringPass = 0, writtenInPass = 0;
  runOn(w, [&] {
    for (int fd : fds) {
      handlers.push_back(std::make_unique<CountingHandler>());
      conns.push_back(std::make_unique<TcpConnection>(w, fd, "fan-out"));
      conns.back()->start(handlers.back().get());
    }
    submits0 = w.uringWriter()->submitCalls();
    for (int i = 0; i < kConns; ++i) {
      conns[i]->queue(BufferRef::copyOf(pattern(i * 100, 100)));
      conns[i]->flush();
    }
    duringPass = w.uringWriter()->submitCalls() - submits0;
    for (auto& c : conns) writtenInPass += c->writeCalls();
  });
  EXPECT_EQ(duringPass, 3u);
  EXPECT_EQ(writtenInPass, 192u) << "three batches of 64 are written while the pass runs";
  for (int i = 0; i < kConns; ++i) {
    std::string got(100, '\0');
    auto end = std::chrono::steady_clock::now() + 5s;
    ssize_t r = -1;
    while ((r = ::read(peers[i], got.data(), got.size())) < 0 &&
           std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(200us);
    ASSERT_EQ(r, 100) << "connection " << i;
    EXPECT_EQ(got, pattern(i * 100, 100)) << "connection " << i;
  }
  runOn(w, [&] {
    EXPECT_EQ(w.uringWriter()->submitCalls() - submits0, 4u) << "the last 8 before the poll";
    for (auto& c : conns) c->close();
  });
  EXPECT_TRUE(waitFor([&] {
    for (auto& h : handlers)
      if (!h->closed) return false;
    return true;
  }));
  runOn(w, [&] { conns.clear(); });
  for (int p : peers) ::close(p);
}

TEST_F(UringConnectionTest, OrderHoldsAcrossFlushesBeyondOneWrite) {
  openPair(1 << 20);
  // 300 items: more than one write's 64 iovecs, so completions chain further writes.
  runOn(w, [&] { queuePattern(0, 300, 100, 7); });
  runOn(w, [&] { queuePattern(30000, 10, 100, 10); });
  EXPECT_EQ(readPeer(31000), pattern(0, 31000));
  runOn(w, [&] {
    EXPECT_GE(conn->writeCalls(), 5u);  // at least ceil(300 / 64) + 1
    EXPECT_EQ(conn->iovecsWritten(), 310u);
  });
}

TEST_F(UringConnectionTest, PartialWritesResumeInOrderAndReportDrained) {
  openPair(4096);
  constexpr size_t kTotal = 2 << 20;
  runOn(w, [&] { queuePattern(0, 256, kTotal / 256, 256); });
  std::string got = readPeer(kTotal);
  ASSERT_EQ(got.size(), kTotal);
  EXPECT_TRUE(got == pattern(0, kTotal)) << "bytes reordered or lost";
  EXPECT_TRUE(waitFor([&] { return handler.drained.load() == 1; }));
  runOn(w, [&] {
    EXPECT_EQ(conn->queuedBytes(), 0u);
    EXPECT_GT(conn->writeCalls(), 10u) << "a 4 KiB socket buffer takes 2 MiB in many writes";
  });
}

TEST_F(UringConnectionTest, CloseWithPreparedWriteSendsItFirst) {
  openPair(1 << 20);
  runOn(w, [&] {
    queuePattern(0, 4, 500, 4);
    conn->close();  // in the same iteration as the flush: the write is not submitted yet
  });
  EXPECT_EQ(readPeer(2001), pattern(0, 2000));
  EXPECT_TRUE(eof) << "the socket stayed open after close (still held by the ring?)";
  EXPECT_TRUE(waitFor([&] { return handler.closed.load(); }));
}

TEST_F(UringConnectionTest, DestroyWithPreparedWriteCancelsIt) {
  openPair(1 << 20);
  runOn(w, [&] {
    queuePattern(0, 4, 500, 4);
    conn.reset();  // the prepared write becomes a no-op: nothing refers to the freed buffers
    conn = nullptr;
  });
  // The next submission completes the no-op; the ring stays usable for a new connection.
  EXPECT_EQ(readPeer(1), "");
  EXPECT_TRUE(eof) << "the socket stayed open after its connection went";
  ::close(peer);
  peer = -1;
  openPair(1 << 20);
  runOn(w, [&] { queuePattern(0, 3, 100, 1); });
  EXPECT_EQ(readPeer(300), pattern(0, 300));
}

TEST_F(UringConnectionTest, CloseWhileBlockedDropsTheRestAndCloses) {
  openPair(4096);
  runOn(w, [&] { queuePattern(0, 64, 16384, 64); });
  EXPECT_TRUE(waitFor([&] {
    size_t q = 0;
    runOn(w, [&] { q = conn->queuedBytes(); });
    return q > 0 && q < 64 * 16384u;
  }));
  runOn(w, [&] { conn->close(); });
  EXPECT_TRUE(waitFor([&] { return handler.closed.load(); }));
  std::string got = readPeer(64 * 16384);
  EXPECT_LT(got.size(), 64 * 16384u);
  EXPECT_EQ(got, pattern(0, got.size()));
}

TEST_F(UringConnectionTest, WriteErrorClosesTheConnection) {
  openPair(1 << 20);
  // The peer stops reading: the next write fails with EPIPE, through the ring, with no read event.
  ASSERT_EQ(0, ::shutdown(peer, SHUT_RD));
  runOn(w, [&] { queuePattern(0, 2, 1000, 2); });
  EXPECT_TRUE(waitFor([&] { return handler.closed.load(); }));
  runOn(w, [&] {
    EXPECT_EQ(conn->writeCalls(), 1u);
    EXPECT_EQ(conn->bytesOut(), 0u);
  });
}

TEST_F(UringConnectionTest, PeerResetClosesTheConnection) {
  // TCP loopback, so that the peer can reset (SO_LINGER 0).
  int ls = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(0, ::bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a));
  ASSERT_EQ(0, ::listen(ls, 1));
  socklen_t al = sizeof a;
  ::getsockname(ls, reinterpret_cast<sockaddr*>(&a), &al);
  peer = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(0, ::connect(peer, reinterpret_cast<sockaddr*>(&a), sizeof a));
  int fd = ::accept4(ls, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  ::close(ls);
  ASSERT_GE(fd, 0);
  adopt(fd);
  runOn(w, [&] { queuePattern(0, 1, 1000, 1); });
  EXPECT_EQ(readPeer(1000), pattern(0, 1000));
  linger lg{1, 0};
  ASSERT_EQ(0, ::setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
  ::close(peer);
  peer = -1;
  std::this_thread::sleep_for(20ms);
  // The reset arrives as a read error or a failed write (EPIPE/ECONNRESET): either closes.
  for (int i = 0; i < 50 && !handler.closed; ++i) {
    runOn(w, [&] {
      if (!conn->closing()) queuePattern(1000, 1, 1000, 1);
    });
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(handler.closed.load());
}

}  // namespace
}  // namespace xl
