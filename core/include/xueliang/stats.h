// Per-worker counters. Each is written only by its worker (plain load+store, no contended
// read-modify-write) and read by the admin thread, which sums the workers.
#pragma once

#include <atomic>
#include <cstdint>

namespace xl {

class Counter {
 public:
  void add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

struct WorkerStats {
  Counter bytesIn;
  Counter bytesOut;
  Counter connectionsAccepted;
  Counter viewerDrops;      // media batches a slow viewer skipped
  Counter slowDisconnects;  // viewers closed for making no progress
  Counter protocolErrors;   // connections closed for malformed input
};

}  // namespace xl
