// ManagedSource: one pulled source on its worker. It owns the source's Stream for its whole life
// (viewers stay attached while the remote end is away and see the stream resume), runs one
// driver per connection attempt, retries with backoff, and for on-demand sources connects with
// the first consumer and lets go after the idle timeout.
#pragma once

#include <uv.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <random>

#include "xueliang/handle.h"
#include "xueliang/protocol.h"
#include "xueliang/source_manager.h"

namespace xl {

class ManagedSource : public SourceLink, public std::enable_shared_from_this<ManagedSource> {
 public:
  ManagedSource(SourceSettings settings, SourceFactory factory, ServerContext& ctx, Worker& owner,
                StreamPtr stream);
  ~ManagedSource() override;

  // Owner worker only.
  void begin();
  // Stops the driver, ends and unregisters the stream. No callback follows.
  void finish();
  // New settings (a config reload): drops the current connection and starts again with them
  // (or goes idle, on demand without viewers). The stream and its viewers stay.
  void restart(SourceSettings settings, SourceFactory factory);

  // Any thread.
  SourceStatus status() const;
  Worker& owner() { return owner_; }

  // SourceLink.
  Stream& stream() override { return *stream_; }
  void sourceLive() override;
  void sourceTransport(const std::string& transport) override;
  void sourceFailed(const std::string& reason) override;
  void sourceBytesIn(uint64_t n) override { bytesIn_.fetch_add(n, std::memory_order_relaxed); }
  void sourceFrameIn() override { framesIn_.fetch_add(1, std::memory_order_relaxed); }
  int64_t resumeTimeMs() const override { return resumeMs_; }
  void setResumeTimeMs(int64_t ms) override { resumeMs_ = ms; }

 private:
  enum class State { kIdle, kConnecting, kLive, kRetrying };
  void connect();
  // Destroys the current driver outside of its own callbacks.
  void dropDriver();
  void check();
  size_t demand() const;
  void setState(State s, const std::string& error = {});

  SourceSettings settings_;
  SourceFactory factory_;
  ServerContext& ctx_;
  Worker& owner_;
  StreamPtr stream_;
  std::unique_ptr<SourceDriver> driver_;
  UvHandle<uv_timer_t> timer_;
  State state_ = State::kIdle;
  bool finished_ = false;
  int attempts_ = 0;
  uint64_t connects_ = 0;
  uint64_t retryAtMs_ = 0;    // loop time of the next attempt
  uint64_t idleSinceMs_ = 0;  // loop time the last consumer left (0: someone is there)
  uint64_t waitSinceMs_ = 0;  // loop time viewers started waiting for media (0: none wait)
  size_t baseSinks_ = 0;      // plugin filters, which do not count as demand
  std::mt19937 rng_;
  int64_t resumeMs_ = 0;

  mutable std::mutex mu_;  // guards status_ (read by the admin API)
  SourceStatus status_;
  std::atomic<uint64_t> bytesIn_{0};
  std::atomic<uint64_t> framesIn_{0};
};

}  // namespace xl
