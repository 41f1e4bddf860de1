// What an HLS request asks for, from its path and query: the playlist, a segment or the init
// segment of /{app}/{stream}/..., the container, and the LL-HLS delivery directives
// (draft-pantos-hls-rfc8216bis 6.2.5). Parses untrusted input: returns Result, never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hls/playlist.h"
#include "xueliang/status.h"

namespace xl::hls {

struct HlsRequest {
  enum class Kind : uint8_t { kPlaylist, kSegment, kPart, kInit };
  Kind kind = Kind::kPlaylist;
  std::string stream;                  // "{app}/{stream}"
  std::optional<Container> container;  // from ?container= or the segment extension
  uint64_t msn = 0;                    // kSegment, kPart
  uint32_t part = 0;                   // kPart: "seg{msn}.{part}.{ext}"
  // The viewer's session id (?hls_session=, 1..32 of [A-Za-z0-9_-]), empty if absent.
  std::string session;
  // Playlist delivery directives (rfc8216bis 6.2.5.1, 6.2.5.2).
  std::optional<uint64_t> hlsMsn;
  std::optional<uint64_t> hlsPart;
  bool skip = false;
};

inline constexpr std::string_view kPlaylistName = "index.m3u8";
inline constexpr size_t kMaxSessionIdLength = 32;

// True for paths this module answers: /{app}/{stream}/index.m3u8, seg{N}.ts|m4s,
// seg{N}.{P}.ts|m4s (parts), init.mp4.
bool isHlsPath(std::string_view rawPath);
// Parses the encoded path and query. Errors carry a message for a 400 body.
Result<HlsRequest> parseHlsRequest(std::string_view rawPath, std::string_view rawQuery);

}  // namespace xl::hls
