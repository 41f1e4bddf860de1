// HLS VOD of recordings over HTTP (port 8080):
//   GET /{app}/{stream}/playback.m3u8?from=T&to=T   the playlist of the recorded range
//   GET /{app}/{stream}/playback/{file-id}.mp4      a recorded file, with byte ranges (Range)
// T as in the listing (ISO-8601 UTC or epoch seconds). Paths that end in playback.m3u8 or sit
// under playback/ are never HLS live paths (those are index.m3u8, init.mp4, seg*), so the routes
// do not depend on the order in which modules add theirs. Both go through the plugins' play
// hooks (protocol "playback"), like a live viewer.
#pragma once

#include <memory>

#include "http/http_server.h"

namespace xl::recorder {

class RecorderService;
class PlaybackService;

void addPlaybackRoutes(http::HttpModule& m, std::shared_ptr<RecorderService> svc,
                       std::shared_ptr<PlaybackService> playback);

}  // namespace xl::recorder
