#include "auth.h"

#include "xueliang/config.h"
#include "xueliang/protocol.h"

namespace xl::auth {

void AuthPlugin::configure(ConfigSection& s) {
  auto next = std::make_shared<AuthConfig>();
  next->realm = s.string("realm", next->realm);
  if (next->realm.empty() || next->realm.find('"') != std::string::npos)
    s.error("realm", "must be non-empty and without '\"'");
  next->protectPublish = s.strings("protect_publish");
  next->protectPlay = s.strings("protect_play");
  for (ConfigSection& u : s.tables("users")) {
    User user;
    user.name = u.string("user", "");
    user.password = u.string("password", "");
    if (user.name.empty() || user.name.find(':') != std::string::npos)
      u.error("user", "must be non-empty and without ':'");
    if (user.password.empty()) u.error("password", "must be non-empty");
    user.publish = u.strings("publish");
    user.play = u.strings("play");
    u.finish();
    next->users.push_back(std::move(user));
  }
  std::atomic_store(&config_, std::shared_ptr<const AuthConfig>(std::move(next)));
}

Decision AuthPlugin::onPublish(const AccessRequest& req, Resume) {
  return decide(*config(), req);
}

Decision AuthPlugin::onPlay(const AccessRequest& req, Resume) {
  return decide(*config(), req);
}

}  // namespace xl::auth

namespace xl {
void registerAuthPlugin(ModuleRegistry& registry) {
  registry.addPluginType("auth", [] { return std::make_shared<auth::AuthPlugin>(); });
}
}  // namespace xl
