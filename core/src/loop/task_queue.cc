#include "xueliang/worker.h"

namespace xl {

TaskQueue::TaskQueue() : head_(&stub_), tail_(&stub_) {}

TaskQueue::~TaskQueue() {
  while (Task* t = pop()) delete t;
}

void TaskQueue::push(Task* t) {
  t->next.store(nullptr, std::memory_order_relaxed);
  Task* prev = head_.exchange(t, std::memory_order_acq_rel);
  prev->next.store(t, std::memory_order_release);
}

Task* TaskQueue::pop() {
  Task* tail = tail_;
  Task* next = tail->next.load(std::memory_order_acquire);
  if (tail == &stub_) {
    if (!next) return nullptr;
    tail_ = next;
    tail = next;
    next = next->next.load(std::memory_order_acquire);
  }
  if (next) {
    tail_ = next;
    return tail;
  }
  // `tail` is the last node we can see; a producer may be mid-push.
  if (tail != head_.load(std::memory_order_acquire)) return nullptr;
  push(&stub_);
  next = tail->next.load(std::memory_order_acquire);
  if (next) {
    tail_ = next;
    return tail;
  }
  return nullptr;
}

}  // namespace xl
