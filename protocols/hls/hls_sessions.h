// HLS viewers as sessions. HTTP requests are short, so a viewer is recognised by the session id
// that its playlist puts in every media URI (?hls_session=ID); a playlist request without one
// gets the id last given to the same client address and User-Agent, or a new one. A session
// is listed by the admin API on the worker that first saw it, counts as an "hls" viewer of its
// stream, and expires after a while without requests. Requests from any worker update it
// through one mutex-guarded table: once per HTTP request, never per packet.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>

#include "xueliang/protocol.h"
#include "xueliang/session.h"
#include "xueliang/stream.h"

namespace xl::hls {

class HlsSessionTable;

class HlsViewer : public Session {
 public:
  SessionInfo info() const override;
  void tick(uint64_t nowMs) override;  // expires itself when idle
  void shutdown() override {}          // nothing open: the table forgets it at stopWorker

 private:
  friend class HlsSessionTable;
  HlsSessionTable* table_ = nullptr;
  std::string key_;  // the session id
  uint64_t id_ = 0;
  int worker_ = 0;
  std::string stream_, peer_, client_;
  std::atomic<uint64_t> lastSeenMs_{0};
  std::atomic<uint64_t> bytesOut_{0};
  uint64_t startMs_ = 0;
  std::weak_ptr<Stream> counted_;  // guarded by the table's mutex
};

class HlsSessionTable {
 public:
  HlsSessionTable(ServerContext& ctx, int format, uint64_t idleMs)
      : ctx_(ctx), format_(format), idleMs_(idleMs), rng_(std::random_device{}()) {}
  ~HlsSessionTable();
  // A request on worker `w` for `stream` (live `source`, may be null). `id` is the one the
  // request carries, or empty; returns the id to put in the URIs it answers with.
  std::string touch(Worker& w, std::string_view id, const std::string& stream,
                    const StreamPtr& source, const std::string& peer, std::string_view userAgent,
                    uint64_t bytes);
  // On worker `w` at shutdown: its sessions leave the SessionSet.
  void dropWorker(Worker& w);
  void setIdleMs(uint64_t ms) { idleMs_.store(ms); }
  size_t size() const;
  static uint64_t nowMs();

 private:
  friend class HlsViewer;
  void expire(HlsViewer* v);  // on its worker
  void count(HlsViewer& v, const StreamPtr& source);

  ServerContext& ctx_;
  int format_;
  std::atomic<uint64_t> idleMs_;
  mutable std::mutex mu_;
  std::mt19937_64 rng_;
  std::unordered_map<std::string, std::unique_ptr<HlsViewer>> byId_;
  std::unordered_map<std::string, std::string> byClient_;  // address|UA|stream -> id
};

}  // namespace xl::hls
