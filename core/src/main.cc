// xueliang: media relay server. Usage: xueliang -c conf/xueliang.toml [--check]
#include <signal.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "server/server.h"

int main(int argc, char** argv) {
  CLI::App app{"Xueliang media streaming server"};
  std::string config = "conf/xueliang.toml";
  bool check = false;
  app.add_option("-c,--config", config, "configuration file (TOML)");
  app.add_flag("--check", check, "validate the configuration and exit");
  app.set_version_flag("--version", std::string("xueliang ") + XUELIANG_VERSION);
  CLI11_PARSE(app, argc, argv);

  signal(SIGPIPE, SIG_IGN);
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ [%t] %v");
  xl::Server server(config);
  return check ? server.check() : server.run();
}
