#include "access_list.h"

#include "xueliang/config.h"
#include "xueliang/protocol.h"
#include "xueliang/stream_pattern.h"

namespace xl::access {
namespace {

std::vector<Network> readNetworks(ConfigSection& s, const std::string& key) {
  std::vector<Network> out;
  for (const std::string& cidr : s.strings(key)) {
    auto n = Network::parse(cidr);
    if (!n) {
      s.error(key, n.message());
      continue;
    }
    out.push_back(*n);
  }
  return out;
}

}  // namespace

std::string evaluate(const Rules& rules, const AccessRequest& req) {
  for (const Network& n : rules.denyNetworks) {
    if (n.contains(req.clientIp)) return "client " + req.clientIp + " is in a denied network";
  }
  if (!rules.allowNetworks.empty()) {
    bool allowed = false;
    for (const Network& n : rules.allowNetworks) allowed = allowed || n.contains(req.clientIp);
    if (!allowed) return "client " + req.clientIp + " is not in an allowed network";
  }
  for (const std::string& p : rules.denyStreams) {
    if (streamPatternMatches(p, req.stream)) return "stream " + req.stream + " is denied";
  }
  return {};
}

void AccessListPlugin::configure(ConfigSection& s) {
  auto next = std::make_shared<AccessListConfig>();
  next->publish.allowNetworks = readNetworks(s, "publish_allow_networks");
  next->publish.denyNetworks = readNetworks(s, "publish_deny_networks");
  next->publish.denyStreams = s.strings("publish_deny_streams");
  next->play.allowNetworks = readNetworks(s, "play_allow_networks");
  next->play.denyNetworks = readNetworks(s, "play_deny_networks");
  next->play.denyStreams = s.strings("play_deny_streams");
  std::atomic_store(&config_, std::shared_ptr<const AccessListConfig>(std::move(next)));
}

Decision AccessListPlugin::onPublish(const AccessRequest& req, Resume) {
  std::string why = evaluate(config()->publish, req);
  return why.empty() ? Decision::allow() : Decision::deny(why);
}

Decision AccessListPlugin::onPlay(const AccessRequest& req, Resume) {
  std::string why = evaluate(config()->play, req);
  return why.empty() ? Decision::allow() : Decision::deny(why);
}

}  // namespace xl::access

namespace xl {
void registerAccessListPlugin(ModuleRegistry& registry) {
  registry.addPluginType("access_list",
                         [] { return std::make_shared<access::AccessListPlugin>(); });
}
}  // namespace xl
