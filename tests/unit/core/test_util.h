// Helpers for tests that drive real workers: run a function on a worker and wait for it.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <thread>
#include <utility>

#include "xueliang/worker.h"

namespace xl::test {

// Posts `fn` to `w` and waits until it has run there. Tasks posted to `w` earlier (from any
// thread) have run by then, since the inbox is FIFO.
template <typename F>
void runOn(Worker& w, F&& fn) {
  std::promise<void> done;
  auto fut = done.get_future();
  w.post([&] {
    fn();
    done.set_value();
  });
  fut.wait();
}

// Polls `cond` every millisecond until it holds (true) or `limit` passes (false).
inline bool waitFor(const std::function<bool()>& cond,
                    std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Waits until every worker has drained what was posted to it so far, repeated `rounds` times so
// that tasks which post further tasks (attach -> owner -> viewer worker) are finished too.
template <typename... W>
void settle(int rounds, W&... workers) {
  for (int i = 0; i < rounds; ++i) (runOn(workers, [] {}), ...);
}

}  // namespace xl::test
