// A fixture for tests of output over a real TcpConnection: a worker, and a Unix socketpair whose
// one end is a TcpConnection on that worker and whose other end (`peer`) the test reads.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "test_util.h"
#include "xueliang/connection.h"
#include "xueliang/viewer_output.h"

namespace xl::test {

class NullHandler : public ConnectionHandler {
 public:
  void onData(const uint8_t*, size_t) override {}
  void onClosed() override { closed = true; }
  std::atomic<bool> closed{false};
};

class ConnectionFixture : public ::testing::Test {
 protected:
  // Socket buffer sizes of the pair: small ones make the writer block early.
  explicit ConnectionFixture(int bufferBytes) : bufferBytes_(bufferBytes) {}

  void SetUp() override {
    w.start();
    int sv[2];
    ASSERT_EQ(0, ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    ASSERT_EQ(0, ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &bufferBytes_, sizeof(int)));
    ASSERT_EQ(0, ::setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &bufferBytes_, sizeof(int)));
    peer = sv[1];
    runOn(w, [&] {
      conn = std::make_unique<TcpConnection>(w, sv[0], "unix");
      conn->start(&handler);
    });
  }
  void TearDown() override {
    runOn(w, [&] {
      out.reset();
      conn->close();
    });
    // The close callback runs once the loop leaves its inbox drain: give it time, do not flood it.
    for (int i = 0; i < 2000 && !handler.closed; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_TRUE(handler.closed);
    runOn(w, [&] { conn.reset(); });
    ::close(peer);
    w.stop();
  }
  void makeOutput(ViewerLimits l) {
    limits = l;
    runOn(w, [&] { out = std::make_unique<ViewerOutput>(*conn, limits); });
  }

  Worker w{0};
  int peer = -1;
  NullHandler handler;
  std::unique_ptr<TcpConnection> conn;
  ViewerLimits limits;
  std::unique_ptr<ViewerOutput> out;

 private:
  int bufferBytes_;
};

}  // namespace xl::test
