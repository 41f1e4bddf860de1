#include "xueliang/flush_timer.h"

namespace xl {

void FlushTimer::Entry::cancel() {
  if (owner_) owner_->unlink(*this);
}

FlushTimer::FlushTimer(uv_loop_t* loop) : loop_(loop) {
  uv_timer_init(loop_, timer_.make());
  timer_.get()->data = this;
  uv_check_init(loop_, check_.make());
  check_.get()->data = this;
  uv_idle_init(loop_, idle_.make());
}

FlushTimer::~FlushTimer() {
  while (head_) unlink(*head_);
  while (soonHead_) unlink(*soonHead_);
}

void FlushTimer::unref() {
  uv_unref(reinterpret_cast<uv_handle_t*>(timer_.get()));
  uv_unref(reinterpret_cast<uv_handle_t*>(check_.get()));
  uv_unref(reinterpret_cast<uv_handle_t*>(idle_.get()));
}

void FlushTimer::unlink(Entry& e) {
  Entry*& head = e.soon_ ? soonHead_ : head_;
  Entry*& tail = e.soon_ ? soonTail_ : tail_;
  (e.prev_ ? e.prev_->next_ : head) = e.next_;
  (e.next_ ? e.next_->prev_ : tail) = e.prev_;
  if (e.soon_) --soonSize_;
  e.prev_ = e.next_ = nullptr;
  e.owner_ = nullptr;
  e.soon_ = false;
  --size_;
  // The timer is not stopped when the list empties: one spurious wake-up is cheaper than a
  // uv_timer_stop per flush on the hot path.
}

void FlushTimer::schedule(Entry& e, uint64_t dueMs) {
  if (e.owner_) unlink(e);
  e.owner_ = this;
  e.dueMs_ = dueMs;
  // Walk back from the tail: with one window length for all, the new entry is the latest.
  Entry* after = tail_;
  while (after && after->dueMs_ > dueMs) after = after->prev_;
  e.prev_ = after;
  e.next_ = after ? after->next_ : head_;
  (e.next_ ? e.next_->prev_ : tail_) = &e;
  (after ? after->next_ : head_) = &e;
  ++size_;
  if (head_ == &e) arm();
}

void FlushTimer::scheduleSoon(Entry& e) {
  if (e.owner_) {
    if (e.soon_) return;
    unlink(e);
  }
  e.owner_ = this;
  e.soon_ = true;
  e.soonSlice_ = slice_;
  e.prev_ = soonTail_;
  e.next_ = nullptr;
  (soonTail_ ? soonTail_->next_ : soonHead_) = &e;
  soonTail_ = &e;
  ++size_;
  if (soonSize_++ == 0) {
    // Both are list operations on the loop, no system call.
    uv_check_start(check_.get(),
                   [](uv_check_t* c) { static_cast<FlushTimer*>(c->data)->fireSoon(); });
    uv_idle_start(idle_.get(), [](uv_idle_t*) {});
  }
}

void FlushTimer::fireSoon() {
  // Only entries that were waiting when this slice started: one scheduled again from a callback
  // (stamped with this slice, hence at the tail) waits for the next iteration.
  uint32_t slice = ++slice_;
  uint64_t start = uv_hrtime();
  size_t ran = 0;
  while (soonHead_ && soonHead_->soonSlice_ != slice) {
    Entry* e = soonHead_;
    unlink(*e);
    e->onDue();
    if (++ran % kSliceCheckEvery == 0 && uv_hrtime() - start >= sliceBudgetNs_) break;
  }
  if (!soonHead_) {
    uv_check_stop(check_.get());
    uv_idle_stop(idle_.get());
  }
}

void FlushTimer::arm() {
  if (!head_) return;
  uint64_t now = uv_now(loop_);
  // Already armed early enough (for this head or an earlier one that has since left).
  if (armedMs_ <= head_->dueMs_ && uv_is_active(reinterpret_cast<uv_handle_t*>(timer_.get())))
    return;
  armedMs_ = head_->dueMs_;
  uv_timer_start(
      timer_.get(), [](uv_timer_t* t) { static_cast<FlushTimer*>(t->data)->fire(); },
      armedMs_ > now ? armedMs_ - now : 0, 0);
}

void FlushTimer::fire() {
  armedMs_ = UINT64_MAX;
  uint64_t now = uv_now(loop_);
  // Each due entry leaves the list before its callback, which may destroy or reschedule it.
  while (head_ && head_->dueMs_ <= now) {
    Entry* e = head_;
    unlink(*e);
    e->onDue();
  }
  arm();
}

}  // namespace xl
