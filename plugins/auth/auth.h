// auth: user names and passwords per stream pattern, for publish and play. Streams that match a
// protected pattern need credentials: without them (or with wrong ones) the plugin answers
// Unauthorized, which RTSP turns into a 401 challenge (Basic and Digest) and the other protocols
// into a refusal. The password check goes through AccessRequest::checkPassword, so Digest works
// without the password ever crossing the network. The settings are an immutable snapshot swapped
// atomically on reload.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "xueliang/plugin.h"

namespace xl::auth {

struct User {
  std::string name;
  std::string password;
  std::vector<std::string> publish;  // stream patterns this user may publish
  std::vector<std::string> play;     // ... and play
};

struct AuthConfig {
  std::string realm = "Xueliang";
  std::vector<std::string> protectPublish;  // patterns that need credentials to publish
  std::vector<std::string> protectPlay;
  std::vector<User> users;
};

// The answer for one request under `config`.
Decision decide(const AuthConfig& config, const AccessRequest& req);

class AuthPlugin : public Plugin {
 public:
  std::string_view name() const override { return "auth"; }
  void configure(ConfigSection& section) override;
  Decision onPublish(const AccessRequest& req, Resume) override;
  Decision onPlay(const AccessRequest& req, Resume) override;

 private:
  std::shared_ptr<const AuthConfig> config() const { return std::atomic_load(&config_); }
  std::shared_ptr<const AuthConfig> config_ = std::make_shared<const AuthConfig>();
};

}  // namespace xl::auth
