// Stream patterns in plugin rules: "*" matches every stream, "app/*" every stream of one app
// (a stream name is required: "app/" alone does not match), anything else exactly one name.
#pragma once

#include <string_view>

namespace xl {

inline bool streamPatternMatches(std::string_view pattern, std::string_view stream) {
  if (pattern == "*") return true;
  if (pattern.size() >= 2 && pattern.ends_with("/*")) {
    const std::string_view prefix = pattern.substr(0, pattern.size() - 1);  // "app/"
    return stream.size() > prefix.size() && stream.starts_with(prefix);
  }
  return pattern == stream;
}

}  // namespace xl
