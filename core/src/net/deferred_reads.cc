#include "deferred_reads.h"

#include <errno.h>
#include <spdlog/spdlog.h>
#include <string.h>
#include <unistd.h>

#include "xueliang/connection.h"

namespace xl {

DeferredReads::DeferredReads(uv_loop_t* loop) : loop_(loop) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) spdlog::warn("deferred reads: epoll_create1: {}", strerror(errno));
  uv_check_init(loop_, check_.make());
  check_.get()->data = this;
  uv_timer_init(loop_, timer_.make());
  timer_.get()->data = this;
}

DeferredReads::~DeferredReads() {
  if (epfd_ >= 0) ::close(epfd_);
}

bool DeferredReads::add(TcpConnection* conn, int fd) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;  // level-triggered: what one poll leaves is read by the next
  ev.data.ptr = conn;
  if (epfd_ < 0 || ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    if (epfd_ >= 0) spdlog::warn("deferred reads: epoll_ctl(ADD): {}", strerror(errno));
    return false;
  }
  if (count_++ == 0) {
    lastPollMs_ = uv_now(loop_);
    uv_check_start(check_.get(), [](uv_check_t* c) {
      auto* self = static_cast<DeferredReads*>(c->data);
      if (uv_now(self->loop_) - self->lastPollMs_ >= kMinGapMs) self->poll();
    });
    uv_timer_start(
        timer_.get(), [](uv_timer_t* t) { static_cast<DeferredReads*>(t->data)->poll(); },
        kMaxDelayMs, kMaxDelayMs);
  }
  return true;
}

void DeferredReads::remove(TcpConnection* conn, int fd) {
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  for (int i = 0; i < readyCount_; ++i) {
    if (ready_[i].data.ptr == conn) ready_[i].data.ptr = nullptr;
  }
  if (--count_ == 0) {
    uv_check_stop(check_.get());
    uv_timer_stop(timer_.get());
  }
}

void DeferredReads::unref() {
  uv_unref(reinterpret_cast<uv_handle_t*>(check_.get()));
  uv_unref(reinterpret_cast<uv_handle_t*>(timer_.get()));
}

void DeferredReads::poll() {
  lastPollMs_ = uv_now(loop_);
  ++polls_;
  // Whenever a loop iteration polls, the timer need not wake the loop.
  uv_timer_again(timer_.get());
  // A bounded number of batches, so that sockets that never run dry cannot hold the loop.
  for (int round = 0; round < kRounds; ++round) {
    int n = ::epoll_wait(epfd_, ready_, kBatch, 0);
    if (n <= 0) return;
    readyCount_ = n;
    for (int i = 0; i < n; ++i) {
      if (auto* conn = static_cast<TcpConnection*>(ready_[i].data.ptr)) conn->readDeferred();
    }
    readyCount_ = 0;
    if (n < kBatch) return;
  }
}

}  // namespace xl
