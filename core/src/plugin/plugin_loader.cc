#include "plugin_loader.h"

#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <filesystem>

#include "xueliang/config.h"
#include "xueliang/plugin_abi.h"
#include "xueliang/protocol.h"

namespace xl {
namespace {

// Owns a dlopen handle until released into the loader's list.
struct Handle {
  void* h = nullptr;
  ~Handle() {
    if (h) dlclose(h);
  }
};

}  // namespace

PluginLoader::~PluginLoader() {
  for (auto it = libraries_.rbegin(); it != libraries_.rend(); ++it) dlclose(it->handle);
}

Status PluginLoader::load(const std::string& file, ModuleRegistry& registry) {
  namespace fs = std::filesystem;
  std::string shown = fs::path(file).filename().string();
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    return Status::error("plugin " + shown + ": no such file " + file);
  std::string path = fs::canonical(file, ec).string();
  if (ec) return Status::error("plugin " + shown + ": " + ec.message());
  for (const Library& l : libraries_) {
    if (l.path == path) return Status::ok();
  }

  // RTLD_NOW: a symbol the server does not export fails here, not at the first call.
  // RTLD_LOCAL: two plugins may use the same internal names.
  Handle handle{dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)};
  if (!handle.h) {
    const char* why = dlerror();
    return Status::error("plugin " + shown + " cannot be loaded: " + (why ? why : "dlopen failed"));
  }
  // The version first: nothing else of a plugin built for another API may be trusted.
  auto version = reinterpret_cast<PluginApiVersionFn>(dlsym(handle.h, XUELIANG_PLUGIN_SYM_VERSION));
  if (!version)
    return Status::error("plugin " + shown + " is not a xueliang plugin (no " +
                         XUELIANG_PLUGIN_SYM_VERSION + " symbol; use XUELIANG_PLUGIN())");
  int built = version();
  if (built != XUELIANG_PLUGIN_API_VERSION)
    return Status::error("plugin " + shown + " was built for plugin API " + std::to_string(built) +
                         ", this server has " + std::to_string(XUELIANG_PLUGIN_API_VERSION) +
                         "; rebuild it against the installed headers");
  auto abi = reinterpret_cast<PluginAbiTagFn>(dlsym(handle.h, XUELIANG_PLUGIN_SYM_ABI));
  const char* tag = abi ? abi() : nullptr;
  if (!tag || std::strcmp(tag, XUELIANG_PLUGIN_ABI_TAG) != 0)
    return Status::error("plugin " + shown + " was built with the C++ library ABI '" +
                         (tag ? tag : "unknown") + "', this server uses '" +
                         XUELIANG_PLUGIN_ABI_TAG + "'; rebuild it with the server's compiler");
  auto reg = reinterpret_cast<PluginRegisterFn>(dlsym(handle.h, XUELIANG_PLUGIN_SYM_REGISTER));
  if (!reg)
    return Status::error("plugin " + shown + " has no " + XUELIANG_PLUGIN_SYM_REGISTER + " symbol");

  // Registered into a scratch registry first: a shared object adds plugin types only, and a
  // name already taken must not shadow a built-in plugin.
  ModuleRegistry scratch;
  reg(&scratch);
  if (!scratch.protocols().empty() || !scratch.formats().empty() || !scratch.sourceTypes().empty())
    return Status::error("plugin " + shown +
                         " registers protocols, formats or sources; only plugin types can be "
                         "loaded from a shared object");
  if (scratch.pluginTypes().empty())
    return Status::error("plugin " + shown + " registers no plugin type");
  for (auto& [name, factory] : scratch.pluginTypes()) {
    for (auto& [taken, _] : registry.pluginTypes()) {
      if (taken == name)
        return Status::error("plugin " + shown + " registers '" + name +
                             "', a plugin type the server already has");
    }
  }
  for (auto& [name, factory] : scratch.pluginTypes()) {
    spdlog::info("plugin {}: loaded type '{}' from {}", shown, name, path);
    registry.addPluginType(name, factory);
  }
  // The factories now in `registry` run code of this file: keep it loaded.
  libraries_.push_back({path, handle.h});
  handle.h = nullptr;
  return Status::ok();
}

void PluginLoader::configure(ConfigSection& plugins, const std::string& baseDir,
                             ModuleRegistry& registry) {
  for (const std::string& entry : plugins.strings("load")) {
    std::filesystem::path p(entry);
    if (p.is_relative()) p = std::filesystem::path(baseDir) / p;
    if (Status s = load(p.string(), registry); !s) plugins.error("load", s.message());
  }
}

}  // namespace xl
