// Times in API queries: epoch seconds ("1796011506", "1796011506.5") or ISO-8601 in UTC
// ("2026-11-30T04:05:06Z", fractional seconds allowed; "Z" may be omitted, "+00:00" accepted).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xl::recorder {

// Epoch milliseconds, or nullopt for anything else (other offsets included).
std::optional<int64_t> parseTime(std::string_view s);
// "2026-11-30T04:05:06.250Z"
std::string formatTime(int64_t epochMs);

}  // namespace xl::recorder
