// hello: an example plugin built outside the server and loaded at run time. It denies play of
// one configured stream and logs every play decision.
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <string>

#include "xueliang/config.h"
#include "xueliang/plugin_abi.h"

namespace hello {

class HelloPlugin : public xl::Plugin {
 public:
  std::string_view name() const override { return "hello"; }

  void configure(xl::ConfigSection& section) override {
    auto deny = std::make_shared<const std::string>(section.string("deny", ""));
    // Hooks run on worker threads while a reload configures: swap the setting atomically.
    std::atomic_store(&deny_, deny);
  }

  xl::Decision onPlay(const xl::AccessRequest& req, xl::Resume) override {
    std::shared_ptr<const std::string> deny = std::atomic_load(&deny_);
    if (!deny->empty() && req.stream == *deny) {
      spdlog::info("hello: deny play of {} over {} from {}", req.stream, req.protocol, req.peer);
      return xl::Decision::deny("stream " + req.stream + " is denied by hello");
    }
    spdlog::info("hello: allow play of {} over {} from {}", req.stream, req.protocol, req.peer);
    return xl::Decision::allow();
  }

 private:
  std::shared_ptr<const std::string> deny_ = std::make_shared<const std::string>();
};

}  // namespace hello

XUELIANG_PLUGIN("hello", hello::HelloPlugin)
