// Session: one client connection of any protocol, as the server sees it: listed by the admin
// API, ticked once a second (stall checks), shut down on exit.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace xl {

struct SessionInfo {
  uint64_t id = 0;
  std::string protocol;
  std::string role;  // "publisher", "viewer", "http"
  std::string stream;
  std::string peer;
  uint64_t bytesIn = 0;
  uint64_t bytesOut = 0;
  uint64_t drops = 0;
  double ageSec = 0;
  // Protocol-specific figures (e.g. a WebRTC viewer's loss, jitter, round trip), added to the
  // session's JSON as they are.
  std::vector<std::pair<std::string, double>> extra;
};

class Session {
 public:
  virtual ~Session() = default;
  virtual SessionInfo info() const = 0;
  virtual void tick(uint64_t nowMs) {}
  // Close now; the session frees itself once its connection is closed.
  virtual void shutdown() = 0;
};

// The sessions of one worker. Touched only on that worker.
class SessionSet {
 public:
  void add(Session* s) { set_.insert(s); }
  void remove(Session* s) { set_.erase(s); }
  const std::unordered_set<Session*>& all() const { return set_; }
  uint64_t nextId() { return ++lastId_; }

 private:
  std::unordered_set<Session*> set_;
  uint64_t lastId_ = 0;
};

}  // namespace xl
