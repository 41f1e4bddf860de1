#include "xueliang/source.h"

namespace xl {

Status validateSourceSettings(const SourceSettings& s) {
  auto slash = s.name.find('/');
  if (s.name.empty() || slash == std::string::npos || slash == 0 || slash + 1 == s.name.size() ||
      s.name.find_first_of(" ?#\\") != std::string::npos)
    return Status::error("name: expected \"{app}/{stream}\", e.g. \"town1/gate\"");
  if (urlScheme(s.url).empty())
    return Status::error("url: expected \"scheme://[user:password@]host[:port]/path\"");
  if (s.transport != "tcp" && s.transport != "udp" && s.transport != "auto")
    return Status::error("transport: expected \"tcp\", \"udp\" or \"auto\"");
  if (s.retryMinMs < 100 || s.retryMaxMs < s.retryMinMs)
    return Status::error("retry_min_ms/retry_max_ms: need 100 <= retry_min_ms <= retry_max_ms");
  if (s.noMediaTimeoutMs < 1000) return Status::error("no_media_timeout_ms: at least 1000");
  if (s.idleTimeoutMs < 1000) return Status::error("idle_timeout_ms: at least 1000");
  return Status::ok();
}

}  // namespace xl
