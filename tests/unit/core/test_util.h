// Helpers for tests that drive real workers: run a function on a worker and wait for it.
#pragma once

#include <future>
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

// Waits until every worker has drained what was posted to it so far, repeated `rounds` times so
// that tasks which post further tasks (attach -> owner -> viewer worker) are finished too.
template <typename... W>
void settle(int rounds, W&... workers) {
  for (int i = 0; i < rounds; ++i) (runOn(workers, [] {}), ...);
}

}  // namespace xl::test
