// Plugins: configured once on the main thread from their config section, then called through
// typed hooks. Access hooks return Continue, Deny(reason), Unauthorized(realm) or Pending; a
// pending plugin calls `resume` later (from any thread) with its final answer. Hook order is the
// config's order.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "xueliang/sink.h"
#include "xueliang/status.h"

namespace xl {

class ConfigSection;
class Stream;
class Worker;

// kUnauthorized: "credentials required (or wrong)": a protocol that can challenge (RTSP 401,
// AccessRequest::canChallenge) asks the client for credentials; for the others the chain turns it
// into kDeny.
enum class Verdict { kContinue, kDeny, kPending, kUnauthorized };

struct Decision {
  Verdict verdict = Verdict::kContinue;
  std::string reason;
  std::string realm;  // kUnauthorized: the protection space the challenge names
  static Decision allow() { return {}; }
  static Decision deny(std::string why) { return {Verdict::kDeny, std::move(why), {}}; }
  static Decision pending() { return {Verdict::kPending, {}, {}}; }
  static Decision unauthorized(std::string realm, std::string why = "credentials required") {
    return {Verdict::kUnauthorized, std::move(why), std::move(realm)};
  }
};

// What an access hook knows of a request, the same on every protocol.
struct AccessRequest {
  enum class Action { kPublish, kPlay };
  Action action = Action::kPlay;
  std::string stream;                        // "{app}/{stream}"
  std::string protocol;                      // "rtmp", "flv", ...
  std::string clientIp;                      // without port
  std::string peer;                          // ip:port
  std::map<std::string, std::string> query;  // URL query parameters (tokens)
  std::string user;                          // credentials the protocol carried, if any
  std::string password;                      // in clear only when the scheme sends it (Basic)
  // Set when credentials came: true if they prove knowledge of `secret` (the plugin's password
  // for `user`). Digest (RTSP) checks its response without the password ever being sent; Basic
  // compares. A plugin must use it rather than compare `password` itself.
  std::function<bool(std::string_view secret)> checkPassword;
  bool canChallenge = false;  // the protocol can answer kUnauthorized with a challenge
};

using Resume = std::function<void(Decision)>;

class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual std::string_view name() const = 0;
  // Reads and validates the plugin's section; problems go to the section's error list. Called
  // again on reload (SIGHUP): a plugin swaps in the new settings atomically.
  virtual void configure(ConfigSection& section) = 0;
  virtual Decision onPublish(const AccessRequest& req, Resume resume) { return Decision::allow(); }
  virtual Decision onPlay(const AccessRequest& req, Resume resume) { return Decision::allow(); }
  // Observes a new stream's frames read-only on the stream's worker; nullptr for none.
  virtual std::unique_ptr<FrameSink> createStreamFilter(Stream& stream) { return nullptr; }
};

// The configured plugins in hook order.
class PluginChain {
 public:
  void add(std::shared_ptr<Plugin> p) { plugins_.push_back(std::move(p)); }
  const std::vector<std::shared_ptr<Plugin>>& plugins() const { return plugins_; }
  // Runs the access hooks in order; `done` runs exactly once, on `worker`, with the final
  // decision (synchronously when no plugin is pending). `alive` lets a caller that may go away
  // meanwhile cancel the callback: it is skipped once *alive is false.
  void check(const AccessRequest& req, Worker& worker, std::shared_ptr<bool> alive,
             std::function<void(const Decision&)> done) const;
  void attachFilters(Stream& stream) const;

 private:
  std::vector<std::shared_ptr<Plugin>> plugins_;
};

}  // namespace xl
