#include "recorder_config.h"

#include "xueliang/config.h"
#include "xueliang/stream_pattern.h"

namespace xl::recorder {

bool safeStreamName(const std::string& s) {
  size_t slash = s.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == s.size()) return false;
  if (s.find('/', slash + 1) != std::string::npos) return false;
  std::string a = s.substr(0, slash), b = s.substr(slash + 1);
  if (a == "." || a == ".." || b == "." || b == "..") return false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '\\' || c == '"') return false;
  }
  return true;
}

const Rule* findRule(const RecorderConfig& c, const std::string& stream) {
  for (const Rule& r : c.rules) {
    for (const std::string& p : r.streams) {
      if (streamPatternMatches(p, stream)) return &r;
    }
  }
  return nullptr;
}

RecorderConfig readConfig(ConfigSection& s) {
  RecorderConfig c;
  c.root = s.string("root", "recordings");
  if (c.root.empty()) s.error("root", "must not be empty");
  c.queueFrames = static_cast<size_t>(s.integer("queue_frames", 2048, 16, 1 << 20));
  c.preEventSeconds = static_cast<int>(s.integer("pre_event_seconds", 10, 0, 120));
  c.retrySeconds = static_cast<int>(s.integer("retry_seconds", 5, 1, 3600));
  c.maxAgeSeconds = s.integer("max_age_hours", 0, 0, 24 * 365 * 10) * 3600;
  c.maxBytes = s.integer("max_bytes", 0, 0, int64_t(1) << 50);
  // Seconds win over minutes when both are given (short segments for tests and event clips).
  int64_t minutes = s.integer("segment_minutes", 10, 1, 24 * 60);
  c.defaultSegmentSeconds = static_cast<int>(
      s.has("segment_seconds") ? s.integer("segment_seconds", 600, 1, 86400) : minutes * 60);
  for (ConfigSection& r : s.tables("rules")) {
    Rule rule;
    rule.streams = r.strings("streams");
    if (rule.streams.empty()) r.error("streams", "a rule needs at least one stream pattern");
    rule.always = r.choice("mode", "always", {"always", "on_demand"}) == "always";
    int64_t rm = r.integer("segment_minutes", 0, 0, 24 * 60);
    rule.segmentSeconds = r.has("segment_seconds")
                              ? static_cast<int>(r.integer("segment_seconds", 600, 1, 86400))
                          : rm > 0 ? static_cast<int>(rm * 60)
                                   : c.defaultSegmentSeconds;
    rule.maxAgeSeconds = r.integer("max_age_hours", 0, 0, 24 * 365 * 10) * 3600;
    rule.maxBytes = r.integer("max_bytes", 0, 0, int64_t(1) << 50);
    r.finish();
    c.rules.push_back(std::move(rule));
  }
  return c;
}

}  // namespace xl::recorder
