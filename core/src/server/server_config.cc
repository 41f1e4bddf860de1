#include "server_config.h"

#include <algorithm>
#include <filesystem>

#include "../net/uring_writer.h"

namespace xl {

ServerConfig readServerConfig(ConfigSection& root, const std::string& baseDir,
                              const std::vector<std::string>& sourceSchemes) {
  ServerConfig c;
  c.workers = static_cast<int>(root.integer("workers", 0, 0, 256));
  c.logLevel = root.choice("log_level", "info", {"trace", "debug", "info", "warn", "error"});

  ConfigSection limits = root.section("limits");
  c.viewer.highWatermarkMs = limits.integer("high_watermark_ms", 2000, 100, 60000);
  c.viewer.highWatermarkBytes =
      static_cast<size_t>(limits.integer("high_watermark_bytes", 4 << 20, 64 << 10, 1LL << 30));
  c.viewer.stallTimeoutMs =
      static_cast<uint64_t>(limits.integer("stall_timeout_ms", 10000, 1000, 600000));
  // Write batching: "realtime" writes each frame at once; "merge" sends a viewer's frames in one
  // writev per merge window. The window must stay under the low watermark (half the high one),
  // or merged output alone would trip the drop policy.
  std::string writeMode = limits.choice("write_mode", "realtime", {"realtime", "merge"});
  auto mergeWindowMs = limits.integer("merge_window_ms", 300, 10, 5000);
  if (writeMode == "merge") {
    if (mergeWindowMs * 2 >= c.viewer.highWatermarkMs)
      limits.error("merge_window_ms", "must be below half of high_watermark_ms");
    c.viewer.mergeWindowMs = static_cast<uint32_t>(mergeWindowMs);
  }
  c.stream.gopCacheMaxBytes =
      static_cast<size_t>(limits.integer("gop_cache_max_bytes", 16 << 20, 0, 1LL << 30));
  std::string engine = limits.choice("io_engine", "auto", {"auto", "writev", "io_uring"});
  c.ioEngine = engine == "io_uring" ? IoEngine::kIoUring
               : engine == "writev" ? IoEngine::kWritev
                                    : IoEngine::kAuto;
  if (c.ioEngine == IoEngine::kIoUring && !UringWriter::compiledIn())
    limits.error("io_engine", "\"io_uring\" needs a build with liburing (liburing-dev)");
  limits.finish();

  for (ConfigSection& s : root.tables("sources")) {
    FileSourceConfig src;
    src.name = s.string("name", "");
    std::string url = s.string("url", "");
    if (!url.empty() && urlScheme(url) != "file") {
      if (s.has("file")) s.error("file", "a source has either 'file' or 'url'");
      SourceSettings p;
      p.name = src.name;
      p.url = url;
      p.transport = s.choice("transport", "auto", {"tcp", "udp", "auto"});
      p.onDemand = s.boolean("on_demand", false);
      p.retryMinMs = static_cast<uint32_t>(s.integer("retry_min_ms", 1000, 100, 600000));
      p.retryMaxMs = static_cast<uint32_t>(s.integer("retry_max_ms", 30000, 100, 3600000));
      p.noMediaTimeoutMs =
          static_cast<uint32_t>(s.integer("no_media_timeout_ms", 10000, 1000, 600000));
      p.idleTimeoutMs = static_cast<uint32_t>(s.integer("idle_timeout_ms", 30000, 1000, 86400000));
      if (Status v = validateSourceSettings(p); !v) {
        // "key: reason" (or "key_a/key_b: reason"): report it at the key.
        const std::string& m = v.message();
        auto colon = m.find(": ");
        std::string key = m.substr(0, std::min(colon, m.find('/')));
        s.error(key, colon == std::string::npos ? m : m.substr(colon + 2));
      }
      std::string scheme = urlScheme(url);
      if (std::find(sourceSchemes.begin(), sourceSchemes.end(), scheme) == sourceSchemes.end())
        s.error("url", "no source driver for URL scheme '" + scheme + "'");
      s.finish();
      c.pulled.push_back(std::move(p));
      continue;
    }
    src.file = url.empty() ? s.string("file", "") : url.substr(7);  // "file://" + path
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
