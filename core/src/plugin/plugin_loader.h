// PluginLoader: plugins from shared objects listed in `[plugins] load`. Each file is opened once
// with dlopen, checked for the plugin API version and C++ ABI it was built for, and its plugin
// types are added to the module registry so `[plugins] order` can name them. Files stay loaded
// until the loader is destroyed: code of every instance, factory and stream filter they made
// lives in them, so the owner must destroy the loader after all of those.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "xueliang/status.h"

namespace xl {

class ConfigSection;
class ModuleRegistry;

class PluginLoader {
 public:
  PluginLoader() = default;
  PluginLoader(const PluginLoader&) = delete;
  PluginLoader& operator=(const PluginLoader&) = delete;
  ~PluginLoader();

  // Reads `load` from the [plugins] section (paths relative to `baseDir`); loads the files not
  // loaded yet and registers their types. Problems are reported at the `load` key.
  void configure(ConfigSection& plugins, const std::string& baseDir, ModuleRegistry& registry);
  // Loads one file (an absolute path, or relative to the working directory). Already loaded:
  // nothing to do.
  Status load(const std::string& path, ModuleRegistry& registry);
  size_t size() const { return libraries_.size(); }

 private:
  struct Library {
    std::string path;  // canonical
    void* handle = nullptr;
  };
  std::vector<Library> libraries_;
};

}  // namespace xl
