#include "auth.h"

#include "xueliang/stream_pattern.h"

namespace xl::auth {

namespace {

bool anyMatches(const std::vector<std::string>& patterns, const std::string& stream) {
  for (const std::string& p : patterns)
    if (streamPatternMatches(p, stream)) return true;
  return false;
}

}  // namespace

Decision decide(const AuthConfig& c, const AccessRequest& req) {
  const bool publish = req.action == AccessRequest::Action::kPublish;
  if (!anyMatches(publish ? c.protectPublish : c.protectPlay, req.stream)) return Decision::allow();
  if (req.user.empty() || !req.checkPassword)
    return Decision::unauthorized(c.realm, "credentials required for " + req.stream);
  for (const User& u : c.users) {
    if (u.name != req.user) continue;
    // Wrong password: challenge again (the client may prompt), never say which part was wrong.
    if (!req.checkPassword(u.password))
      return Decision::unauthorized(c.realm, "bad credentials for " + req.stream);
    if (!anyMatches(publish ? u.publish : u.play, req.stream))
      return Decision::deny("user " + u.name + " may not " + (publish ? "publish " : "play ") +
                            req.stream);
    return Decision::allow();
  }
  return Decision::unauthorized(c.realm, "bad credentials for " + req.stream);
}

}  // namespace xl::auth
