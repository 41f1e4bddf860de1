// SourceManager: owns the pulled sources (see source.h). Thread-safe entry points for the
// server (start-up) and the admin API (add, remove, list); each source lives on one worker.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "xueliang/source.h"

namespace xl {

class ManagedSource;

// Who declared a source: a reload of the config file only touches the config's own.
enum class SourceOrigin { kConfig, kApi };

// A source's state for the API, readable from any thread.
struct SourceStatus {
  SourceSettings settings;  // url still holds the password; redact before showing
  std::string state;        // "idle", "connecting", "live", "retrying"
  std::string lastError;
  int64_t nextAttemptUnixMs = 0;     // retrying: when the next attempt starts
  int64_t connectedSinceUnixMs = 0;  // live: since when
  uint64_t bytesIn = 0;
  uint64_t framesIn = 0;
  int attempts = 0;            // failed attempts since the last time it was live
  uint64_t connects = 0;       // connection attempts started since the source was (re)started
  std::string mediaTransport;  // of the current attempt once playing ("tcp", "udp"); else empty
  SourceOrigin origin = SourceOrigin::kApi;
};

class SourceManager {
 public:
  explicit SourceManager(ServerContext& ctx);
  ~SourceManager();
  SourceManager(const SourceManager&) = delete;
  SourceManager& operator=(const SourceManager&) = delete;

  void addType(std::string scheme, SourceFactory factory);
  bool hasType(const std::string& scheme) const;

  // Publishes the source's stream and starts it on a worker (round robin). The status code is
  // 201 on success, 400 for an unknown scheme, 409 when the name is taken.
  std::pair<int, std::string> add(const SourceSettings& settings,
                                  SourceOrigin origin = SourceOrigin::kApi);
  // Stops the source and ends its stream. False when there is no such source.
  bool remove(const std::string& name);
  std::vector<SourceStatus> list() const;
  // Config reload: makes the config-declared sources match `declared`. New ones are added,
  // missing ones removed (their viewers see the stream end), changed ones restart their
  // connection in place (viewers stay); unchanged ones and API-added ones are left alone.
  void reconcile(const std::vector<SourceSettings>& declared);
  // Stops every source; call before the workers stop.
  void stopAll();

 private:
  SourceFactory factoryFor(const std::string& scheme) const;

  ServerContext& ctx_;
  std::vector<std::pair<std::string, SourceFactory>> types_;
  mutable std::mutex mu_;
  struct Entry {
    std::shared_ptr<ManagedSource> source;
    SourceSettings settings;  // as last applied (compared on reload)
    SourceOrigin origin;
  };
  std::unordered_map<std::string, Entry> sources_;
  size_t next_ = 0;
};

}  // namespace xl
