// A minimal epoll loop for the load generator: one thread, level-triggered events and a
// monotonic clock in milliseconds. Thousands of sockets cost one epoll_wait per wake-up.
#pragma once

#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>

namespace xlload {

class EventHandler {
 public:
  virtual ~EventHandler() = default;
  virtual void onEvent(uint32_t events) = 0;
};

inline double monoMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

class Loop {
 public:
  Loop() : ep_(epoll_create1(EPOLL_CLOEXEC)) {}
  ~Loop() { ::close(ep_); }
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  bool add(int fd, EventHandler* h, uint32_t events) { return ctl(EPOLL_CTL_ADD, fd, h, events); }
  bool modify(int fd, EventHandler* h, uint32_t events) {
    return ctl(EPOLL_CTL_MOD, fd, h, events);
  }
  void remove(int fd) { epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr); }

  // Dispatches events for up to `timeoutMs`; returns the number handled.
  int poll(int timeoutMs) {
    int n = epoll_wait(ep_, events_, kBatch, timeoutMs);
    for (int i = 0; i < n; ++i) {
      if (auto* h = static_cast<EventHandler*>(events_[i].data.ptr)) h->onEvent(events_[i].events);
    }
    return n < 0 ? 0 : n;
  }

 private:
  static constexpr int kBatch = 1024;
  bool ctl(int op, int fd, EventHandler* h, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = h;
    return epoll_ctl(ep_, op, fd, &ev) == 0;
  }
  int ep_;
  epoll_event events_[kBatch];
};

}  // namespace xlload
