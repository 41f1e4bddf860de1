// The built-in WHIP publisher at http://HOST:8080/{app}/{stream}/publish: one inline HTML page,
// no external assets, that sends the camera and microphone to the server, so a phone can
// become a camera. Browsers allow getUserMedia on https:// or http://localhost only.
#pragma once

#include <string_view>

namespace xl::webrtc {

std::string_view publishPage();

}  // namespace xl::webrtc
