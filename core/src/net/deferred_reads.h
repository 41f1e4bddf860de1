// DeferredReads: the sockets of one worker whose input is read late, in batches, instead of
// waking the loop for every segment. An RTSP viewer playing over TCP sends a receiver report per
// track about once a second: with a thousand viewers that is two thousand wake-ups a second of an
// otherwise idle loop, each for ~60 bytes that need no quick answer. These sockets sit in a
// second epoll set the loop never sleeps on; it is polled (one epoll_wait, timeout 0) at the end
// of a loop iteration at most every kMinGapMs, and by a timer when kMaxDelayMs pass without one,
// so input still waits at most kMaxDelayMs and a closed peer is noticed as soon.
#pragma once

#include <sys/epoll.h>
#include <uv.h>

#include <cstdint>

#include "xueliang/handle.h"

namespace xl {

class TcpConnection;

class DeferredReads {
 public:
  static constexpr uint64_t kMinGapMs = 10;
  static constexpr uint64_t kMaxDelayMs = 50;

  explicit DeferredReads(uv_loop_t* loop);
  ~DeferredReads();
  DeferredReads(const DeferredReads&) = delete;
  DeferredReads& operator=(const DeferredReads&) = delete;

  // False (logged) when the socket cannot be added: the caller keeps polling it as before.
  bool add(TcpConnection* conn, int fd);
  // Before the socket closes; safe from inside a read this set delivered.
  void remove(TcpConnection* conn, int fd);
  size_t size() const { return count_; }
  // The worker is stopping: its loop may end while sockets remain (their owners close them).
  void unref();
  // Completed polls (tests).
  uint64_t polls() const { return polls_; }

 private:
  static constexpr int kBatch = 256;
  static constexpr int kRounds = 8;
  void poll();

  uv_loop_t* loop_;
  int epfd_ = -1;
  UvHandle<uv_check_t> check_;
  UvHandle<uv_timer_t> timer_;
  size_t count_ = 0;
  uint64_t lastPollMs_ = 0;
  uint64_t polls_ = 0;
  epoll_event ready_[kBatch];
  int readyCount_ = 0;  // entries of ready_ being delivered (remove() clears its own)
};

}  // namespace xl
