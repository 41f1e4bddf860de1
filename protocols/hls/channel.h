// Channel: the HLS output of one stream in one container, shared by every worker. Its
// segmenter runs as a FrameSink on the stream's worker and publishes immutable snapshots
// (atomic shared_ptr swap); HTTP requests on any worker read the latest snapshot without
// locks. Requests that must wait (first playlist of a stream) park a Waiter on their own
// worker; a publish posts one wake-up to each worker that has waiters.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "hls/playlist.h"
#include "hls/segmenter.h"
#include "xueliang/handle.h"
#include "xueliang/sink.h"
#include "xueliang/stream.h"
#include "xueliang/worker.h"

namespace xl::hls {

struct HlsSettings {
  bool enabled = true;
  int64_t segmentDurationMs = 2000;
  size_t window = 6;
  int64_t partDurationMs = 333;
  uint64_t idleTimeoutMs = 30000;
  uint64_t sessionTimeoutMs = 20000;  // an HLS viewer without requests for this long has left
  Container container = Container::kTs;
};

class Channel;

// A request parked until the channel has what it needs, or until its deadline. Lives on one
// worker; owns itself (deleted after answering, timing out or cancellation).
class Waiter {
 public:
  using Ready = std::function<bool(const SnapshotPtr&)>;  // true: answered, done
  using Timeout = std::function<void()>;
  static void park(std::shared_ptr<Channel> ch, Worker& w, uint64_t timeoutMs, Ready ready,
                   Timeout timeout);
  void cancel();  // shutdown: drop without answering

 private:
  friend class Channel;
  Waiter(std::shared_ptr<Channel> ch, Worker& w, Ready r, Timeout t)
      : channel_(std::move(ch)), worker_(w), ready_(std::move(r)), timeout_(std::move(t)) {}
  void done();
  std::shared_ptr<Channel> channel_;
  Worker& worker_;
  Ready ready_;
  Timeout timeout_;
  UvHandle<uv_timer_t> timer_;
};

class Channel : public std::enable_shared_from_this<Channel> {
 public:
  Channel(std::string name, Container c, std::vector<Worker*> workers);
  const std::string& name() const { return name_; }
  Container container() const { return container_; }

  SnapshotPtr snapshot() const { return snap_.load(); }
  // From the segmenter's worker. Snapshots of a replaced segmenter (older generation) are
  // ignored.
  void publish(uint64_t generation, SnapshotPtr s);
  uint64_t generation() const { return generation_.load(); }

  void touch(uint64_t nowMs) { lastAccessMs_.store(nowMs, std::memory_order_relaxed); }
  uint64_t lastAccessMs() const { return lastAccessMs_.load(std::memory_order_relaxed); }
  bool released() const { return released_.load(); }
  // Loop-clock ms when the bound source ended (0 while live).
  uint64_t endedAtMs() const { return endedAtMs_.load(); }
  void setEnded(uint64_t ms) { endedAtMs_.store(ms); }

  // Waiters of worker `w` (that worker only).
  void addWaiter(Waiter* w, int workerIndex);
  void removeWaiter(Waiter* w, int workerIndex);
  std::vector<Waiter*> waitersOf(int workerIndex) { return waits_[workerIndex]->list; }
  bool hasWaiters() const;  // any worker

 private:
  friend class ChannelMap;
  void wake(int workerIndex);
  struct WaitList {
    std::atomic<int> count{0};
    std::vector<Waiter*> list;
  };
  std::string name_;
  Container container_;
  std::vector<Worker*> workers_;
  std::atomic<SnapshotPtr> snap_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> lastAccessMs_{0};
  std::atomic<uint64_t> endedAtMs_{0};
  std::atomic<bool> released_{false};
  std::vector<std::unique_ptr<WaitList>> waits_;
  StreamPtr stream_;  // the source the segmenter is attached to; guarded by ChannelMap's mutex
};

using ChannelPtr = std::shared_ptr<Channel>;

// Channels by stream name and container. Looked up per HLS request (as StreamRegistry is per
// FLV play), never per frame.
class ChannelMap {
 public:
  ChannelMap(std::vector<Worker*> workers, const HlsSettings* settings)
      : workers_(std::move(workers)), settings_(settings) {}
  ChannelPtr find(const std::string& name, Container c) const;
  // The channel for a live stream, created on first use; attaches a segmenter to `stream` (on
  // its owner worker) unless one is attached already.
  ChannelPtr attach(const StreamPtr& stream, Container c, uint64_t nowMs);
  // Releases channels nobody asked for within the idle timeout (and their segmenters).
  void sweep(uint64_t nowMs);
  // On worker `w` at shutdown: drops its parked requests (their timers would hold the loop).
  void cancelWaiters(Worker& w);
  // On worker `w` at shutdown: releases the channels of the streams `w` owns. A channel holds its
  // stream, whose segmenter holds the channel: this breaks the cycle while the worker runs.
  void releaseStreamsOf(Worker& w);

 private:
  std::vector<Worker*> workers_;
  const HlsSettings* settings_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, ChannelPtr> map_;
};

}  // namespace xl::hls
