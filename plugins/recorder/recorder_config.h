// The recorder's typed settings, read from [plugins.recorder] and its [[plugins.recorder.rules]].
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace xl {
class ConfigSection;
}

namespace xl::recorder {

struct Rule {
  std::vector<std::string> streams;  // "town1/*", "live/gate", "*"
  bool always = true;                // false: only between POST .../start and .../stop
  int segmentSeconds = 600;          // a new file at the first keyframe after this long
  int64_t maxAgeSeconds = 0;         // 0: no limit
  int64_t maxBytes = 0;              // 0: no limit
};

struct RecorderConfig {
  std::string root;
  std::vector<Rule> rules;
  size_t queueFrames = 2048;  // per stream, between its worker and the writer thread
  int retrySeconds = 5;       // after a disk error, the next attempt to open a file
  int64_t maxAgeSeconds = 0;  // global, over every stream
  int64_t maxBytes = 0;       // global
  int defaultSegmentSeconds = 600;
  int preEventSeconds = 10;  // kept per stream for event clips; 0: clips start at the event  //
                             // streams recorded on demand without a matching rule
};
using ConfigPtr = std::shared_ptr<const RecorderConfig>;

// "app/name" that is safe as a path under the root: two non-empty segments, neither "." nor
// "..", no control characters, backslashes or quotes.
bool safeStreamName(const std::string& s);
// The first rule one of whose patterns matches, or nullptr.
const Rule* findRule(const RecorderConfig& c, const std::string& stream);
// Reads and validates a section; problems go to its error list.
RecorderConfig readConfig(ConfigSection& s);

}  // namespace xl::recorder
