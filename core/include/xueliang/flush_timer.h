// FlushTimer: one uv timer per worker that wakes entries at their due time (merge-mode viewers
// whose window elapsed while no new frame arrived). Entries form an intrusive list sorted by due
// time; viewers share one window length, so a new entry belongs at the tail and scheduling is
// O(1), with no allocation and no timer per viewer.
#pragma once

#include <uv.h>

#include <cstdint>

#include "xueliang/handle.h"

namespace xl {

class FlushTimer {
 public:
  class Entry {
   public:
    Entry() = default;
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    virtual ~Entry() { cancel(); }
    bool scheduled() const { return owner_ != nullptr; }
    // Leaves the list; no-op if not scheduled.
    void cancel();

   protected:
    // Called on the worker once due, after the entry left the list (it may schedule again).
    virtual void onDue() = 0;

   private:
    friend class FlushTimer;
    FlushTimer* owner_ = nullptr;
    Entry* prev_ = nullptr;
    Entry* next_ = nullptr;
    uint64_t dueMs_ = 0;
  };

  explicit FlushTimer(uv_loop_t* loop);
  ~FlushTimer();
  FlushTimer(const FlushTimer&) = delete;
  FlushTimer& operator=(const FlushTimer&) = delete;

  // (Re)schedules `e` for loop time `dueMs`.
  void schedule(Entry& e, uint64_t dueMs);
  // Lets the loop end while entries remain (worker shutdown).
  void unref();
  size_t size() const { return size_; }

 private:
  void unlink(Entry& e);
  void arm();
  void fire();

  uv_loop_t* loop_;
  UvHandle<uv_timer_t> timer_;
  Entry* head_ = nullptr;
  Entry* tail_ = nullptr;
  size_t size_ = 0;
  uint64_t armedMs_ = UINT64_MAX;  // due time the timer is set for
};

}  // namespace xl
