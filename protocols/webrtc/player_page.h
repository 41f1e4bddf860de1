// The built-in WHEP player at http://HOST:8080/{app}/{stream}/: one inline HTML page, no
// external assets, so a person can check a stream in any browser.
#pragma once

#include <string_view>

namespace xl::webrtc {

std::string_view playerPage();

}  // namespace xl::webrtc
