// access_list: static allow/deny rules by client network and stream name, for publish and play
// on every protocol. The rules are an immutable snapshot swapped atomically on reload.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "network.h"
#include "xueliang/plugin.h"

namespace xl::access {

struct Rules {
  std::vector<Network> allowNetworks;  // empty: any network
  std::vector<Network> denyNetworks;
  std::vector<std::string> denyStreams;  // "live/demo", "live/*", "*"
};

struct AccessListConfig {
  Rules publish;
  Rules play;
};

// Evaluates one action's rules; empty when allowed, else the reason.
std::string evaluate(const Rules& rules, const AccessRequest& req);

class AccessListPlugin : public Plugin {
 public:
  std::string_view name() const override { return "access_list"; }
  void configure(ConfigSection& section) override;
  Decision onPublish(const AccessRequest& req, Resume) override;
  Decision onPlay(const AccessRequest& req, Resume) override;

 private:
  std::shared_ptr<const AccessListConfig> config() const { return std::atomic_load(&config_); }
  std::shared_ptr<const AccessListConfig> config_ = std::make_shared<const AccessListConfig>();
};

}  // namespace xl::access
