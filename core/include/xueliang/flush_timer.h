// FlushTimer: one uv timer per worker that wakes entries at their due time (merge-mode viewers
// whose window elapsed while no new frame arrived). Entries form an intrusive list sorted by due
// time; viewers share one window length, so a new entry belongs at the tail and scheduling is
// O(1), with no allocation and no timer per viewer. Entries can also ask to run at the end of
// the current loop iteration (a uv_check, with a uv_idle keeping the poll from blocking): frames
// that reach a viewer in one iteration (one read of the publisher, one drain of the inbox) then
// leave in one writev.
// That end-of-iteration pass is sliced: it runs entries for at most kSliceBudgetNs (checked every
// kSliceCheckEvery entries) and leaves the rest at the head of the list for the next iteration.
// One frame written to 1,000 viewers costs ~15 ms; unsliced, every step of a joining viewer
// (accept, handshake, each request) could wait behind a whole pass. Sliced, the poll between two
// slices runs accepts, reads and joins. The next slice continues where this one stopped, so no
// viewer is always last, and frames reaching a viewer still in the list join its pending writev.
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
    bool soon_ = false;       // in the end-of-iteration list rather than the timed one
    uint32_t soonSlice_ = 0;  // slice that was running when it joined the end-of-iteration list
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
  // (Re)schedules `e` for the end of the current loop iteration.
  void scheduleSoon(Entry& e);
  // Lets the loop end while entries remain (worker shutdown).
  void unref();
  size_t size() const { return size_; }
  // Entries waiting for the end of an iteration (this one or a later slice).
  size_t soonSize() const { return soonSize_; }

  // A slice of the end-of-iteration pass ends once it has run this long: a joining viewer's step
  // waits behind at most about one slice, while the extra loop iterations (one epoll_wait each)
  // stay negligible next to the writes.
  static constexpr uint64_t kSliceBudgetNs = 1'000'000;
  // The clock is read every this many entries (one writev each, ~15 µs).
  static constexpr size_t kSliceCheckEvery = 8;
  // Tests: 0 ends every slice after kSliceCheckEvery entries.
  void setSliceBudgetNs(uint64_t ns) { sliceBudgetNs_ = ns; }

 private:
  void unlink(Entry& e);
  void arm();
  void fire();
  void fireSoon();

  uv_loop_t* loop_;
  UvHandle<uv_timer_t> timer_;
  UvHandle<uv_check_t> check_;  // runs the end-of-iteration list
  UvHandle<uv_idle_t> idle_;    // active while that list is not empty: the poll must not block
  Entry* soonHead_ = nullptr;
  Entry* soonTail_ = nullptr;
  size_t soonSize_ = 0;
  uint32_t slice_ = 0;  // bumped as each slice starts: entries stamped with it wait for the next
  uint64_t sliceBudgetNs_ = kSliceBudgetNs;
  Entry* head_ = nullptr;
  Entry* tail_ = nullptr;
  size_t size_ = 0;
  uint64_t armedMs_ = UINT64_MAX;  // due time the timer is set for
};

}  // namespace xl
