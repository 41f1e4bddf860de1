// The server's own settings: the top-level keys, [limits], [[sources]] and [plugins].order.
#pragma once

#include <string>
#include <vector>

#include "../source/file_source.h"
#include "xueliang/config.h"
#include "xueliang/source.h"
#include "xueliang/stream.h"
#include "xueliang/viewer_output.h"

namespace xl {

// [limits] io_engine: how TCP viewers' output reaches the kernel.
enum class IoEngine {
  kAuto,     // io_uring where the build and the kernel allow it, else writev
  kWritev,   // one writev per connection per flush
  kIoUring,  // io_uring; the kernel refusing it is logged as a warning (writev then)
};

struct ServerConfig {
  int workers = 0;  // 0: one per CPU
  std::string logLevel = "info";
  IoEngine ioEngine = IoEngine::kAuto;
  ViewerLimits viewer;
  StreamLimits stream;
  std::vector<FileSourceConfig> sources;
  std::vector<SourceSettings> pulled;  // [[sources]] with a url the modules pull
  std::vector<std::string> pluginOrder;
};

// Reads the server's keys from the root section. `baseDir` resolves relative source paths;
// `sourceSchemes` are the URL schemes that registered source drivers pull.
ServerConfig readServerConfig(ConfigSection& root, const std::string& baseDir,
                              const std::vector<std::string>& sourceSchemes = {});

}  // namespace xl
