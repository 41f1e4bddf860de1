#include "server_config.h"

#include <filesystem>

namespace xl {

ServerConfig readServerConfig(ConfigSection& root, const std::string& baseDir) {
  ServerConfig c;
  c.workers = static_cast<int>(root.integer("workers", 0, 0, 256));
  c.logLevel = root.choice("log_level", "info", {"trace", "debug", "info", "warn", "error"});

  ConfigSection limits = root.section("limits");
  c.viewer.highWatermarkMs = limits.integer("high_watermark_ms", 2000, 100, 60000);
  c.viewer.highWatermarkBytes =
      static_cast<size_t>(limits.integer("high_watermark_bytes", 4 << 20, 64 << 10, 1LL << 30));
  c.viewer.stallTimeoutMs =
      static_cast<uint64_t>(limits.integer("stall_timeout_ms", 10000, 1000, 600000));
  c.stream.gopCacheMaxBytes =
      static_cast<size_t>(limits.integer("gop_cache_max_bytes", 16 << 20, 0, 1LL << 30));
  limits.finish();

  for (ConfigSection& s : root.tables("sources")) {
    FileSourceConfig src;
    src.name = s.string("name", "");
    src.file = s.string("file", "");
    src.loop = s.boolean("loop", true);
    if (src.name.empty() || src.name.find('/') == std::string::npos || src.name.front() == '/')
      s.error("name", "expected \"{app}/{stream}\", e.g. \"live/demo\"");
    if (src.file.empty()) {
      s.error("file", "a source needs a file");
    } else {
      std::filesystem::path p(src.file);
      if (p.is_relative()) p = std::filesystem::path(baseDir) / p;
      if (!std::filesystem::exists(p)) s.error("file", "no such file: " + p.string());
      src.file = p.lexically_normal().string();
    }
    s.finish();
    c.sources.push_back(std::move(src));
  }
  return c;
}

}  // namespace xl
