// A bounded single-producer single-consumer ring: the stream's worker pushes, the writer thread
// pops. Lock-free and allocation-free after construction, so a frame costs the worker a few
// refcount increments and two atomic stores.
#pragma once

#include <atomic>
#include <cstddef>
#include <vector>

namespace xl::recorder {

template <typename T>
class SpscRing {
 public:
  explicit SpscRing(size_t capacity) : slots_(capacity + 1) {}
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Producer. False when full (the item is left untouched).
  bool push(T& item) {
    size_t h = head_.load(std::memory_order_relaxed);
    size_t next = h + 1 == slots_.size() ? 0 : h + 1;
    if (next == tail_.load(std::memory_order_acquire)) return false;
    slots_[h] = std::move(item);
    head_.store(next, std::memory_order_release);
    return true;
  }
  // Consumer. The slot is reset so the item's references are released here, not on reuse.
  bool pop(T& out) {
    size_t t = tail_.load(std::memory_order_relaxed);
    if (t == head_.load(std::memory_order_acquire)) return false;
    out = std::move(slots_[t]);
    slots_[t] = T{};
    tail_.store(t + 1 == slots_.size() ? 0 : t + 1, std::memory_order_release);
    return true;
  }
  size_t capacity() const { return slots_.size() - 1; }

 private:
  std::vector<T> slots_;
  alignas(64) std::atomic<size_t> head_{0};
  alignas(64) std::atomic<size_t> tail_{0};
};

}  // namespace xl::recorder
