// Server: the composition root. Owns the workers, registries, modules and plugins; loads and
// reloads the config; runs the main thread's signal loop.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "../plugin/plugin_loader.h"
#include "../source/file_source.h"
#include "server_config.h"
#include "xueliang/protocol.h"
#include "xueliang/source_manager.h"

namespace xl {

class Server {
 public:
  explicit Server(std::string configPath);
  ~Server();
  // Validates the config without starting anything; prints errors to stderr.
  int check();
  // Starts and blocks until SIGINT/SIGTERM. Returns the process exit code.
  int run();

 private:
  // Parses the file and configures modules and plugins. On `reload` only what can change live
  // is applied.
  bool configure(bool reload);
  void reload();
  void shutdown();

  std::string configPath_;
  // Shared-object plugins: declared first so that it is destroyed last, after every factory,
  // instance and stream filter whose code lives in a loaded file.
  PluginLoader loader_;
  ModuleRegistry modules_;
  ServerConfig config_;
  PluginChain plugins_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<SessionSet> sessions_;
  std::unique_ptr<StreamRegistry> streams_;
  ServerContext ctx_;
  std::vector<std::unique_ptr<FileSource>> sources_;
  std::unique_ptr<SourceManager> sourceManager_;  // pulled sources (cameras)
  uv_loop_t mainLoop_{};
};

}  // namespace xl
