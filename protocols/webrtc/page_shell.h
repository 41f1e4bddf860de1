// The HTML both WebRTC pages (player_page.h, publish_page.h) are built in: the head, the dark
// style, a status line helper `show(text)` and the error report of the page's entry function
// into window.xl.errors (what the browser tests read).
#pragma once

#include <string>
#include <string_view>

namespace xl::webrtc {

// `style` follows the shared body rule, `body` precedes the script, `script` follows `show`;
// `entry` names the async function the page runs.
std::string webrtcPage(std::string_view title, std::string_view style, std::string_view body,
                       std::string_view script, std::string_view entry);

}  // namespace xl::webrtc
